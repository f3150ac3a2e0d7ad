# ruff: noqa
"""Review 17: does posting an offer cost more as wanted requests pile up in its area?"""

import sys

sys.argv = [sys.argv[0], sys.argv[1]]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
from test_listings_end_to_end import CREATE as LCREATE, stroller

wanter, giver = register("Wanter"), register("Giver")
spot = {"lat": 48.8301, "lon": 2.3011}
give = lambda: api(LCREATE, {"input": {**stroller("GIVE", spot), "title": "Offre"}}, giver["token"])
cost("wanted 0: listingCreate GIVE", give, 5)
made = 0
for n in (100, 200):
    while made < n:
        b = api(LCREATE, {"input": {**stroller("WANTED", spot), "title": f"W{made}"}}, wanter["token"])
        if "errors" in b or b["data"]["listingCreate"]["userErrors"]:
            print("stop at", made, str(b)[:300])
            break
        made += 1
    cost(f"wanted {made}: listingCreate GIVE", give, 5)
    if made < n:
        break
