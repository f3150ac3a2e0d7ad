# ruff: noqa
"""Review 17: does myListings (first: 2, totalCount) cost grow with the owner's listings?"""

import sys

sys.argv = [sys.argv[0], sys.argv[1]]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
from test_listings_end_to_end import CREATE as LCREATE, stroller

me = register("Lister")
q = "{ myListings(first: 2) { totalCount nodes { title } } }"
probe = lambda: api(q, None, me["token"])
cost("listings 0: myListings(first 2)", probe, 20)
made = 0
for n in (50, 150):
    while made < n:
        b = api(
            LCREATE, {"input": {**stroller("GIVE", {"lat": 48.853, "lon": 2.369}), "title": f"L{made}"}}, me["token"]
        )
        if "errors" in b or b["data"]["listingCreate"]["userErrors"]:
            print("stop at", made, str(b)[:300])
            break
        made += 1
    out = cost(f"listings {made}: myListings(first 2)", probe, 20)
    print("  totalCount", out[-1]["data"]["myListings"]["totalCount"])
    if made < n:
        break
