"""Wanted <-> offer matching, both ways: the oracle of issue 16.

(1) An attacker posts WANTED requests at a point and radius of their choosing and reads the
inbox: a ``listing_matched`` about the victim's offer says it lies within the radius.
(2) The other way: the attacker's open WANTED requests are matched against each new offer the
victim posts (a parent giving things away, one at a time), and the inbox says which reached it.

No match is concluded from silence: each probe also reaches one of the attacker's own decoys
(an offer at the probe's anchor, or a wanted request covering the city), and its notice, made
in the same matching pass, says the pass is over before the inbox is read.
"""

from __future__ import annotations

import uuid

from attack import decided, decision, distances_by_bisection, interval, probes_for
from conftest import CREATE, WITHDRAW, World, judge
from network import Account, Attackers, RateLimited, Refused
from support.subscriptions import Subscriber, ws_url

from parentnet_kit.testing import wait_for

INBOX = "{ inbox(first: 60) { nodes { kind message subject { id } } } }"
PUSHED = "subscription { notificationReceived { kind message subject { id } } }"
BARRIER_S = 15


def matches_of(account: Account, title: str) -> set[str]:
    """The listings this account was told matched its listing titled ``title``."""
    nodes = account.gql(INBOX)["inbox"]["nodes"]
    told = [n for n in nodes if n["kind"] == "listing_matched" and title in n["message"]]
    return {n["subject"]["id"] for n in told if n["subject"]}


def post_wanted(account: Account, category: str, where: dict, radius_m: float) -> tuple[str, str]:
    title = f"Wanted probe {uuid.uuid4().hex[:12]}"
    wanted = {
        "kind": "WANTED",
        "category": category,
        "title": title,
        "city": "paris",
        "pickupLocation": where,
        "matchRadiusKm": radius_m / 1000.0,
    }
    made = account.gql(CREATE, {"input": wanted})["listingCreate"]
    if made["userErrors"]:
        raise Refused(str(made["userErrors"]))
    return made["listing"]["id"], title


def pushed(listener: Subscriber, title: str, subject_id: str) -> bool:
    for message in list(listener.messages):
        notice = ((message.get("payload") or {}).get("data") or {}).get("notificationReceived") or {}
        if title in notice.get("message", "") and (notice.get("subject") or {}).get("id") == subject_id:
            return True
    return False


def test_offers_reveal_which_standing_wanted_requests_reach_them(world: World):
    """Direction (2): each round, one open wanted request per anchor at the middle of what is
    still possible; the victim posts one more offer from home; the inbox halves each interval,
    and every match it shows is pushed on notificationReceived too (the same oracle, live)."""
    listeners: dict[str, Subscriber] = {}

    def listening(account: Account) -> None:
        listener = Subscriber(ws_url(world.stack), PUSHED, token=account.token, local_address=account.address)
        listeners[account.id] = listener.__enter__()

    pools = {v.key: Attackers(world.network, f"Standing wanted {v.key}", prepare=listening) for v in world.victims}
    try:
        _rounds(world, pools, listeners)
    finally:
        for listener in listeners.values():
            listener.__exit__(None, None, None)
            world.recorder.add("subscriber", PUSHED, str(listener.messages), False)


def _one_round(
    world: World,
    pools: dict[str, Attackers],
    listeners: dict[str, Subscriber],
    asked: dict[str, tuple[dict, float]],
    silent: set[str],
) -> dict[str, bool | None]:
    """One round: a standing wanted request per victim (``asked``: key -> (anchor, radius)), then
    one more offer from each victim's home; which requests did it reach? None: not asked."""
    posted, answers = {}, dict.fromkeys(asked)
    asked = {k: v for k, v in asked.items() if k not in silent}
    for key, (anchor, radius) in asked.items():
        victim = world.victim(key)
        posted[key] = pools[key].ask(lambda a, v=victim, p=anchor, r=radius: (a, *post_wanted(a, v.category, p, r)))
    for key, answer in posted.items():
        if answer is None:
            continue
        victim = world.victim(key)
        owner: Account = victim.extra["account"]
        offer = {
            "kind": "GIVE",
            "category": victim.category,
            "title": f"Lot {uuid.uuid4().hex[:8]}",
            "city": "paris",
            "pickupAddress": victim.address,
            "pickupLocation": victim.point,
        }
        try:
            made = owner.gql(CREATE, {"input": offer})["listingCreate"]
        except RateLimited:
            continue
        assert made["userErrors"] == [], made
        offer_id = made["listing"]["id"]
        decoys = world.decoys[key]
        account, wanted_id, title = answer
        try:
            wait_for(
                lambda o=offer_id, d=decoys: o in matches_of(d.wanted_owner, "Looking for anything like it"),
                timeout=BARRIER_S,
                what="the victim's new offer matched with the attacker's city-wide request",
            )
        except AssertionError:
            # Not even a request covering the whole city hears of this victim's offers: the
            # attacker cannot tell a "no" from "not yet", and learns nothing from them.
            silent.add(key)
            account.gql(WITHDRAW, {"id": wanted_id})
            owner.gql(WITHDRAW, {"id": offer_id})
            continue
        reached = offer_id in matches_of(account, title)
        if reached:
            wait_for(
                lambda lis=listeners[account.id], t=title, o=offer_id: pushed(lis, t, o),
                timeout=BARRIER_S,
                what="the match pushed on notificationReceived",
            )
        answers[key] = reached
        account.gql(WITHDRAW, {"id": wanted_id})
        owner.gql(WITHDRAW, {"id": offer_id})
    return answers


def _rounds(world: World, pools: dict[str, Attackers], listeners: dict[str, Subscriber]) -> None:
    """The first two anchors in turn, bisected one offer at a time; then one question at the third."""
    probes = dict.fromkeys(pools, 0)
    silent: set[str] = set()
    circles: dict[str, list] = {v.key: [] for v in world.victims}
    for i in range(2):
        intervals = {
            v.key: interval(world.decoys[v.key].anchors[i], world.seen_revealed[v.key], world.span(v.key))
            for v in world.victims
        }
        for _round in range(max(probes_for(world.span(v.key)) for v in world.victims)):
            asked = {k: (world.decoys[k].anchors[i], sum(lh) / 2) for k, lh in intervals.items()}
            for key, reached in _one_round(world, pools, listeners, asked, silent).items():
                if reached is not None:
                    probes[key] += 1
                    low, high = intervals[key]
                    intervals[key] = [low, (low + high) / 2] if reached else [(low + high) / 2, high]
        for key, (low, high) in intervals.items():
            circles[key].append((world.decoys[key].anchors[i], (low + high) / 2))
    decisions = {
        v.key: decision(circles[v.key], world.decoys[v.key].anchors[2], world.seen_revealed[v.key])
        for v in world.victims
    }
    asked = {k: (world.decoys[k].anchors[2], r) for k, (_, r) in decisions.items() if r is not None}
    answers = _one_round(world, pools, listeners, asked, silent) if asked else {}
    estimates = {}
    for victim in world.victims:
        found, radius = decisions[victim.key]
        answer = answers.get(victim.key)
        probes[victim.key] += answer is not None
        third, revealed = world.decoys[victim.key].anchors[2], world.seen_revealed[victim.key]
        estimate = decided(found, circles[victim.key], third, radius, answer, revealed)
        estimates[victim.key] = (estimate, probes[victim.key], len(pools[victim.key].accounts))
    failures = judge("matching: an offer vs standing wanted requests (inbox + push)", world, estimates)
    assert not failures, "\n".join(failures)


def test_wanted_requests_bisect_an_offer(world: World):
    """Direction (1): the issue's attack, 13 wanted posts per anchor, three anchors."""
    estimates = {}
    for victim in world.victims:
        decoys = world.decoys[victim.key]
        attackers = Attackers(world.network, f"Wanted prober {victim.key}")

        def inside(anchor, radius_m, v=victim, d=decoys, pool=attackers):
            barrier = d.offers[d.anchors.index(anchor)]

            def probe(account: Account) -> bool:
                _, title = post_wanted(account, v.category, anchor, radius_m)
                told = wait_for(
                    lambda: (found := matches_of(account, title)) and barrier in found and found,
                    timeout=BARRIER_S,
                    what="the match with the attacker's own decoy",
                )
                # Left open: nothing is offered after this test, so it matches nothing more.
                return v.listing_id in told

            return pool.ask(probe)

        revealed, span = world.seen_revealed[victim.key], world.span(victim.key)
        estimate, probes = distances_by_bisection(decoys.anchors, revealed, span, inside)
        estimates[victim.key] = (estimate, probes, len(attackers.accounts))
    failures = judge("matching: wanted posts vs an offer (inbox)", world, estimates)
    assert not failures, "\n".join(failures)
