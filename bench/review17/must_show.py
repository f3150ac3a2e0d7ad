# ruff: noqa
"""Review 17: the issue's Must-show cases through the GraphQL API of a held stack (hold.py),
each phone on its own loopback address. Prints numbers; asserts nothing (a review)."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

import httpx  # noqa: E402
from support.graphql import post  # noqa: E402
from support.phones import PhoneTransport  # noqa: E402
from test_attendance_end_to_end import ATTENDEES, INBOX, JOIN, LEAVE  # noqa: E402
from test_outing_end_to_end import proposal  # noqa: E402

import test_at_volume  # noqa: E402
from test_at_volume import CANCEL, CREATE, UPDATE  # noqa: E402


info = json.load(open(sys.argv[1]))
which = sys.argv[2:] or ["fifty", "series", "five"]
client = httpx.Client(base_url=info["gateway"], timeout=60, transport=PhoneTransport())
TICK = 100


def cpu() -> float:
    f = open(f"/proc/{info['store_pid']}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def api(q, v=None, token=None, phone=None):
    t = time.monotonic()
    body = post(client, q, v, token, local_address=phone).json()
    return body, time.monotonic() - t


PUBLIC = """query($id: ID!) { node(id: $id) { ... on Outing { title attendance { families placesLeft } } } }"""


def register(name):
    """A new member on a phone of their own: ``{token, id, email, phone}`` (test_at_volume's)."""
    return test_at_volume.register(lambda q, v=None, token=None, phone=None: api(q, v, token, phone)[0], name)


def err_codes(body):
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def fifty():
    org = register("Organizer")
    made, _ = api(CREATE, {"input": {**proposal("Guignol", 48.8462, 2.3371), "capacity": 10}}, org["token"])
    oid = made["data"]["outingCreate"]["outing"]["id"]
    with ThreadPoolExecutor(4) as pool:
        parents = list(pool.map(lambda i: register(f"P{i}"), range(50)))
    c0 = cpu()
    with ThreadPoolExecutor(50) as pool:
        answers = list(
            pool.map(lambda p: api(JOIN, {"id": oid, "adults": 1, "children": 1}, p["token"], p["phone"]), parents)
        )
    c1 = cpu()
    secs = [s for _, s in answers]
    codes = [c for b, _ in answers for c in err_codes(b)]
    statuses = [((b.get("data") or {}).get("outingJoin") or {}).get("place", {}) or {} for b, _ in answers]
    statuses = [s.get("status") for s in statuses]
    print(
        f"50-way join: errors={codes} CONFIRMED={statuses.count('CONFIRMED')} "
        f"WAITLISTED={statuses.count('WAITLISTED')} max={max(secs):.2f}s p50={pct(secs, 50):.2f}s store CPU {c1 - c0:.2f}s"
    )
    seen, _ = api(ATTENDEES, {"id": oid}, org["token"])
    node = seen["data"]["node"]
    print("  attendance:", node["attendance"])
    order = [e["node"]["id"] for e in node["attendees"]["edges"]]
    by_id = {p["id"]: p for p in parents}
    leavers, nxt = order[:3], order[10:13]
    for m in leavers:
        b, s = api(LEAVE, {"id": oid}, by_id[m]["token"], by_id[m]["phone"])
        print(f"  leave {s:.2f}s {b['data']['outingLeave']['userErrors'] if b.get('data') else b}")
    after, _ = api(ATTENDEES, {"id": oid}, org["token"])
    conf = [e["node"]["id"] for e in after["data"]["node"]["attendees"]["edges"] if e["status"] == "CONFIRMED"]
    print("  promoted right:", conf == order[3:10] + nxt)
    deadline = time.monotonic() + 30
    while True:
        inboxes = [api(INBOX, token=by_id[m]["token"])[0]["data"]["inbox"]["nodes"] for m in nxt]
        if all(inboxes) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for m, nodes in zip(nxt, inboxes):
        print("  inbox of promoted:", [(n["kind"], n["subject"]["id"] == oid) for n in nodes])
    print("  inbox of 14th:", api(INBOX, token=by_id[order[13]]["token"])[0]["data"]["inbox"]["nodes"])


def series():
    org = register("Series")
    weekly = proposal("Éveil musical", 48.84, 2.35, recurrence={"frequency": "WEEKLY", "count": 52})
    for q, v, f in ((CREATE, {"input": weekly}, "outingCreate"),):
        b, s = api(q, v, org["token"])
        print(f"series create {s:.2f}s errors={err_codes(b)} {b['data'][f]['userErrors'] if b.get('data') else ''}")
    first = b["data"]["outingCreate"]["outing"]
    c0 = cpu()
    b, s = api(UPDATE, {"id": first["id"]}, org["token"])
    print(f"series update {s:.2f}s errors={err_codes(b)} store CPU {cpu() - c0:.2f}s {b.get('data')}")
    c0 = cpu()
    b, s = api(CANCEL, {"id": first["id"]}, org["token"])
    print(f"series cancel {s:.2f}s errors={err_codes(b)} store CPU {cpu() - c0:.2f}s {b.get('data')}")


def five():
    org = register("Org5")
    outings = []
    for i in range(20):
        b, _ = api(CREATE, {"input": {**proposal(f"Five {i}", 48.85, 2.35), "capacity": 3}}, org["token"])
        outings.append(b["data"]["outingCreate"]["outing"]["id"])
    with ThreadPoolExecutor(4) as pool:
        parents = list(pool.map(lambda i: register(f"F{i}"), range(100)))
    reader = register("Reader")
    # a reader of unrelated outings (the first 3 of the filled ones are unknown here: use a fresh one)
    other, _ = api(CREATE, {"input": proposal("Unrelated", 48.86, 2.36)}, org["token"])
    other_id = other["data"]["outingCreate"]["outing"]["id"]
    reads: list[float] = []
    read_errors: list[str] = []
    stop = False

    def read_loop():
        while not stop:
            b, s = api(PUBLIC, {"id": other_id}, reader["token"], reader["phone"])
            reads.append(s)
            read_errors.extend(err_codes(b))

    all_secs, all_codes, wrong = [], [], 0
    c0 = cpu()
    with ThreadPoolExecutor(1) as bg:
        fut = bg.submit(read_loop)
        for i, oid in enumerate(outings):
            group = parents[5 * i : 5 * i + 5]
            with ThreadPoolExecutor(5) as pool:
                answers = list(pool.map(lambda p: api(JOIN, {"id": oid, "adults": 1}, p["token"], p["phone"]), group))
            all_secs += [s for _, s in answers]
            all_codes += [c for b, _ in answers for c in err_codes(b)]
            st = [
                (((b.get("data") or {}).get("outingJoin") or {}).get("place") or {}).get("status") for b, _ in answers
            ]
            if st.count("CONFIRMED") != 3 or st.count("WAITLISTED") != 2:
                wrong += 1
        stop = True
        fut.result()
    print(
        f"5-way x20: joins={len(all_secs)} errors={all_codes} wrong-splits={wrong} p50={pct(all_secs, 50):.2f}s "
        f"p99={pct(all_secs, 99):.2f}s max={max(all_secs):.2f}s store CPU {cpu() - c0:.2f}s"
    )
    print(f"  unrelated reads: n={len(reads)} errors={read_errors} p50={pct(reads, 50):.3f}s max={max(reads):.3f}s")


for name in which:
    globals()[name]()
