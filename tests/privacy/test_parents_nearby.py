"""Parents near me: bands between homes. The attacker moves their own home along a line away
from what the victim's listing reveals, within the daily limit of home moves (then another
account), and watches the victim's band turn from UNDER_1_KM: there the victim is 1 km away."""

from __future__ import annotations

from attack import probes_for
from conftest import PROFILE, World, judge
from geometry import around, bisect, moved, offset_of, trilaterate
from network import Account, Attackers, Refused

PARENTS = """{ parentsNearby(first: 100) { edges { distanceBand node { id } } userErrors { code } } }"""
BAND_EDGE_M, REACH_M = 1000.0, 2500.0
NOT_LISTED = "NOT_LISTED"


def band_seen(account: Account, home: dict, member_id: str) -> str:
    moved_home = account.gql(PROFILE, {"input": {"homeLocation": home}})["memberUpdateProfile"]
    if moved_home["userErrors"]:
        raise Refused(str(moved_home["userErrors"]))
    page = account.gql(PARENTS)["parentsNearby"]
    if page["userErrors"]:
        raise Refused(str(page["userErrors"]))
    return next((e["distanceBand"] for e in page["edges"] if e["node"]["id"] == member_id), NOT_LISTED)


def test_parents_nearby_bands(world: World):
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Home mover {victim.key}")
        revealed = world.seen_revealed[victim.key]
        # First, from what the listing reveals: a victim not listed there (protected mode) is
        # listed nowhere, and the surface tells nothing about them.
        first_look = attackers.ask(lambda a, v=victim, p=revealed: band_seen(a, p, v.member_id))
        appeared = first_look not in (None, NOT_LISTED)
        circles, used = [], 1
        for far in around(revealed, REACH_M) if appeared else []:
            north, east = offset_of(far, revealed)

            def beyond(s, v=victim, n=north, e=east, origin=revealed, pool=attackers):
                home = moved(origin, n * s / REACH_M, e * s / REACH_M)
                band = pool.ask(lambda a: band_seen(a, home, v.member_id))
                return None if band is None else band != "UNDER_1_KM"

            s, probes = bisect(beyond, 0.0, REACH_M, probes_for(REACH_M / 2))
            used += probes
            circles.append((moved(revealed, north * s / REACH_M, east * s / REACH_M), BAND_EDGE_M))
        # Never listed (protected mode): the surface told nothing.
        estimate = trilaterate(circles, revealed) if appeared else None
        estimates[victim.key] = (estimate, used, len(attackers.accounts))
    failures = judge("parentsNearby: distance bands", world, estimates)
    assert not failures, "\n".join(failures)
