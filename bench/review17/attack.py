# ruff: noqa
"""Review 17: does a client's own history make one request's store cost grow? Per request:
FerretDB finds and store CPU (idle background subtracted), through the API of a held stack."""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

import httpx  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from support.graphql import post  # noqa: E402
from support.phones import PhoneTransport, next_address  # noqa: E402

from parentnet_kit import testing  # noqa: E402

info = json.load(open(sys.argv[1]))
which = sys.argv[2:]
client = httpx.Client(base_url=info["gateway"], timeout=60, transport=PhoneTransport())
COUNTER = re.compile(r'^ferretdb_client_requests_total\{command="([^"]+)"[^}]*\} (\d+)', re.M)
IDLE_FINDS, IDLE_CPU = 19.7, 0.0255  # measured over 60 s idle (idle.py)


def cpu() -> float:
    f = open(f"/proc/{info['store_pid']}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100


def finds() -> int:
    text = urllib.request.urlopen(info["debug"] + "/debug/metrics", timeout=10).read().decode()
    return sum(int(n) for name, n in COUNTER.findall(text) if name in ("find", "aggregate", "count"))


def api(q, v=None, token=None, phone=None):
    return post(client, q, v, token, local_address=phone or next_address()).json()


def cost(label, fn, k=10):
    c0, f0, t0 = cpu(), finds(), time.monotonic()
    out = [fn() for _ in range(k)]
    dt = time.monotonic() - t0
    c, f = cpu() - c0 - IDLE_CPU * dt, finds() - f0 - IDLE_FINDS * dt
    print(
        f"{label}: per request {f / k:.1f} finds, {1000 * c / k:.1f} ms store CPU, {1000 * dt / k:.0f} ms wall",
        flush=True,
    )
    return out


REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken member { id } userErrors { code } } }"""


def register(name):
    email = f"{testing.unique_name(name.lower())}@example.org"
    phone = next_address()
    r = api(
        REGISTER,
        {"input": {"email": email, "password": "a long test password", "displayName": name, "city": "paris"}},
        phone=phone,
    )["data"]["memberRegister"]
    return {"token": r["accessToken"], "id": r["member"]["id"], "email": email, "phone": phone}


def gid(kind, raw):
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


db = MongoClient(info["uri"])


def blocks():
    vol = [m["_id"] for m in db[info["env"]["MEMBERS_DB"]].members.find({"_id": {"$regex": "^vol"}}, {"_id": 1})]
    me = register("Blocker")
    other = register("Other")
    probe = lambda: api("query($id: ID!) { viewer { id } node(id: $id) { id } }", {"id": other["id"]}, me["token"])
    cost("blocks 0: viewer+node", probe)
    done = 0
    for n in (100, 500, 1500):
        batch = vol[done:n]
        for i in range(0, len(batch), 20):
            aliases = " ".join(
                f'b{j}: memberBlock(input: {{memberId: "{gid("Member", m)}"}}) {{ userErrors {{ code }} }}'
                for j, m in enumerate(batch[i : i + 20])
            )
            body = api(f"mutation {{ {aliases} }}", token=me["token"])
            if "errors" in body:
                print("  block batch error:", body["errors"][:1])
                return
        done = n
        out = cost(f"blocks {n}: viewer+node", probe)
        assert "errors" not in out[-1], out[-1]
    # the victim side: many block one member (each blocker an account; here volume members, through the store
    # is not allowed -> use the attacker's own list: who the attacker blocked reads as blocked_by for them)
    victim = vol[0]
    print("  (victim", victim, "is blocked by 1)")


def logins():
    victim = register("Victim")
    q = """mutation($e: String!, $p: String!) { memberLogin(input: {email: $e, password: $p}) {
      accessToken userErrors { code } } }"""
    ok = lambda: api(q, {"e": victim["email"], "p": "a long test password"})
    cost("login ok, fresh account", ok, 5)
    bad = lambda: api(q, {"e": victim["email"], "p": "wrong"})
    for round_ in range(4):
        out = cost(f"failed login round {round_} (100 from 100 addresses)", bad, 100)
        print(
            "   codes:",
            {
                c: sum(1 for b in out for e in (b["data"]["memberLogin"] or {}).get("userErrors", []) if e["code"] == c)
                for c in ("INVALID_CREDENTIALS", "THROTTLED")
            },
            [b.get("errors") for b in out if b.get("errors")][:1],
        )
    cost("login ok after 400 failures", ok, 5)
    unknown = lambda: api(q, {"e": f"nobody-{time.monotonic_ns()}@example.org", "p": "x"})
    cost("login unknown emails", unknown, 20)


def pages():
    me = register("Pager")
    q = """query($after: String) { nearbyOutings(near: {lat: 45.5019, lon: -73.5674}, radiusKm: 50, first: 100,
      after: $after) { totalCount pageInfo { endCursor hasNextPage } nodes { id title attendance { placesLeft } } } }"""
    after = None
    for page in range(12):
        out = cost(f"nearbyOutings montreal page {page + 1}", lambda: api(q, {"after": after}, me["token"]), 30)
        conn = out[-1]["data"]["nearbyOutings"] if out[-1].get("data") else None
        if conn is None:
            print("  ", out[-1].get("errors"))
            return
        print("   totalCount", conn["totalCount"], "n", len(conn["nodes"]))
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    q2 = """query($after: String) { nearbyListings(near: {lat: 45.5019, lon: -73.5674}, radiusKm: 50, first: 100,
      after: $after) { pageInfo { endCursor hasNextPage } nodes { id } } }"""
    after = None
    for page in range(8):
        out = cost(f"nearbyListings montreal page {page + 1}", lambda: api(q2, {"after": after}, me["token"]), 30)
        conn = (out[-1].get("data") or {}).get("nearbyListings")
        if conn is None:
            print("  ", out[-1].get("errors"))
            return
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]


for name in which:
    globals()[name]()
