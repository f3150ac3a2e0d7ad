"""Co-op childcare: a shift offered at the host's home, found by the group's members with
nearbyGroupActivities (a radius around a point they choose, and a distance). The attackers
joined the open group, as any parent may."""

from __future__ import annotations

from attack import distances_by_bisection
from conftest import ACTIVITIES, JOIN, World, judge
from geometry import metres, trilaterate
from network import Account, Attackers
from victims import CITY_CENTRE

from parentnet_kit.testing import wait_for


def joined(world: World):
    def prepare(account: Account) -> None:
        assert account.gql(JOIN, {"g": world.group_id})["groupJoin"]["userErrors"] == []
        # Search learns of a membership from members' events: until it has, a new member sees
        # none of the group's activities, and an attack probing meanwhile measures that lag,
        # not what the answers reveal (a bisection fed "not inside" for its first probes ran off
        # to a random estimate: P2 within 1.2-1.4 km of home in some runs, 10.6 km in others).
        # The attacker waits, as a patient one would.
        wait_for(
            lambda: bool(activities(account, CITY_CENTRE, 100_000)),
            timeout=20,
            what="the group's activities shown to its new member",
        )

    return prepare


def activities(account: Account, near: dict, radius_m: float) -> list[dict]:
    return account.gql(ACTIVITIES, {"near": near, "radius": min(100.0, radius_m / 1000.0)})["nearbyGroupActivities"]


def test_coop_shift_radius(world: World):
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Co-op prober {victim.key}", prepare=joined(world))

        def inside(anchor, radius_m, v=victim, pool=attackers):
            found = pool.ask(lambda a: activities(a, anchor, radius_m))
            return None if found is None else any((x["shift"] or {}).get("id") == v.shift_id for x in found)

        anchors, revealed = world.decoys[victim.key].anchors, world.seen_revealed[victim.key]
        estimate, probes = distances_by_bisection(anchors, revealed, world.span(victim.key), inside)
        estimates[victim.key] = (estimate, probes, len(attackers.accounts))
    failures = judge("nearbyGroupActivities: co-op shift radius", world, estimates)
    assert not failures, "\n".join(failures)


def test_coop_shift_distance(world: World):
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Co-op reader {victim.key}", prepare=joined(world))
        revealed = world.seen_revealed[victim.key]
        circles = []
        for anchor in world.decoys[victim.key].anchors:
            reach = metres(anchor, revealed) + world.span(victim.key)
            found = attackers.ask(lambda a, p=anchor, r=reach: activities(a, p, r)) or []
            shown = next((x["distanceKm"] for x in found if (x["shift"] or {}).get("id") == victim.shift_id), None)
            if shown is not None:
                circles.append((anchor, shown * 1000.0))
        estimate = trilaterate(circles, revealed) if len(circles) == 3 else None
        estimates[victim.key] = (estimate, attackers.probes, len(attackers.accounts))
    failures = judge("nearbyGroupActivities: co-op shift distanceKm", world, estimates)
    assert not failures, "\n".join(failures)
