# ruff: noqa
"""Review 17: finds and store CPU of one join (sequential), and of an outing page, at the held stack's volume."""

import sys

sys.argv = [sys.argv[0], sys.argv[1]]
__file__ = "/work/wt-rev17/bench/review17/attack.py"
exec(open(__file__).read().replace("for name in which:\n    globals()[name]()", ""))
from test_attendance_end_to_end import JOIN
from test_outing_end_to_end import proposal

CREATE = (
    """mutation($input: OutingCreateInput!) { outingCreate(input: $input) { outing { id } userErrors { code } } }"""
)
org = register("JoinOrg")
ids = [
    api(CREATE, {"input": {**proposal(f"J{i}", 48.85, 2.35), "capacity": 5}}, org["token"])["data"]["outingCreate"][
        "outing"
    ]["id"]
    for i in range(20)
]
people = [register(f"J{i}") for i in range(20)]
it = iter(zip(ids, people))


def join():
    oid, p = next(it)
    return api(JOIN, {"id": oid, "adults": 1}, p["token"], p["phone"])


out = cost("one join (sequential, 20 outings)", join, 20)
print("  errors:", [o.get("errors") for o in out if o.get("errors")][:1])
cost("outingCreate", lambda: api(CREATE, {"input": proposal("C", 48.85, 2.35)}, org["token"]), 10)
