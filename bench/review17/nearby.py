# ruff: noqa
import sys

sys.argv = [sys.argv[0], "/tmp/rev17/run1/stack.json"]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
me = register("Near")
q = """query { nearbyOutings(near: {lat: 45.5019, lon: -73.5674}, radiusKm: 50, first: 100) { totalCount } }"""
cost("viewer", lambda: api("{ viewer { id } }", None, me["token"]), 40)
cost("nearbyOutings first 100 signed in", lambda: api(q, None, me["token"]), 40)
cost("nearbyOutings first 100 anonymous", lambda: api(q), 40)
q20 = q.replace("first: 100", "first: 1")
cost("nearbyOutings first 1 anonymous", lambda: api(q20), 40)
q3 = """query { nearbyOutings(near: {lat: 48.85, lon: 2.35}, radiusKm: 50, first: 100) { totalCount nodes { id attendance { placesLeft } } } }"""
r = cost("nearbyOutings paris (test outings) anonymous", lambda: api(q3), 20)
print(r[-1]["data"]["nearbyOutings"]["totalCount"])
