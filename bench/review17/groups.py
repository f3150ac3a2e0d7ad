# ruff: noqa
import sys

sys.argv = [sys.argv[0], "/tmp/rev17/run1/stack.json"]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
me = register("Grouper")
q = """query { nearbyOutings(near: {lat: 48.85, lon: 2.35}, radiusKm: 5, first: 1) { totalCount } }"""
probe = lambda: api(q, None, me["token"])
cost("groups 0: nearbyOutings signed in", probe, 20)
done = 0
for n in (100, 200):
    for i in range(done, n, 10):
        al = " ".join(
            f'g{j}: groupCreate(input: {{name: "G {i + j} {time.monotonic_ns()}", city: "paris"}}) {{ userErrors {{ code }} }}'
            for j in range(10)
        )
        body = api(f"mutation {{ {al} }}", token=me["token"])
        if "errors" in body or any(body["data"][f"g{j}"]["userErrors"] for j in range(10)):
            print("stop at", i, str(body)[:300])
            break
    done = n
    cost(f"groups {n}: nearbyOutings signed in", probe, 20)
