# ruff: noqa
"""Review 17: the reservation race at volume: 10 listings, 5 members reserving each at once."""

import sys

sys.argv = [sys.argv[0], sys.argv[1]]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
from concurrent.futures import ThreadPoolExecutor
from test_listings_end_to_end import CREATE as LCREATE, stroller

owner = register("Owner")
with ThreadPoolExecutor(4) as pool:
    people = list(pool.map(lambda i: register(f"R{i}"), range(50)))
R = "mutation($id: ID!) { listingReserve(input: {listingId: $id}) { userErrors { code } } }"
bad, secs, errs = 0, [], []
for i in range(10):
    made = api(LCREATE, {"input": stroller("GIVE", {"lat": 48.85, "lon": 2.36})}, owner["token"], owner["phone"])
    lid = made["data"]["listingCreate"]["listing"]["id"]

    def one(p):
        t = time.monotonic()
        b = api(R, {"id": lid}, p["token"], p["phone"])
        return b, time.monotonic() - t

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(one, people[5 * i : 5 * i + 5]))
    secs += [s for _, s in answers]
    errs += [e for b, _ in answers for e in b.get("errors") or []]
    codes = sorted(
        (b["data"]["listingReserve"]["userErrors"] or [{"code": "OK"}])[0]["code"] for b, _ in answers if b.get("data")
    )
    if codes != ["ALREADY_RESERVED"] * 4 + ["OK"]:
        bad += 1
        print("  listing", i, codes)
print(f"reservation race x10 (5 at once): wrong={bad} top-level errors={errs[:2]} max={max(secs):.2f}s")
