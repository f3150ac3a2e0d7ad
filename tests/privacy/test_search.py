"""Search: every answer about listings that depends on where a listing is, asked from points,
radii and filters the attacker chooses: nearbyListings' radius filter, its totalCount, its
distanceKm and its order by distance; suggest's ranking near a point; mapClusters' centroids;
and the pickup area everyone sees."""

from __future__ import annotations

from attack import distances_by_bisection, probes_for
from conftest import NEARBY, World, judge
from geometry import Point, bisect, metres, toward, trilaterate
from network import Account, Attackers, Refused

SUGGEST = """query($text: String!, $near: GeoPointInput) {
  suggest(text: $text, near: $near, first: 20) { suggestions { kind id } userErrors { code } } }"""


def nearby(account: Account, near: Point, radius_m: float, category: str, text: str | None = None) -> dict:
    variables = {"near": near, "radius": min(100.0, radius_m / 1000.0), "category": category}
    if text:
        variables["filter"] = {"text": text}
    page = account.gql(NEARBY, variables)["nearbyListings"]
    if page["userErrors"]:
        raise Refused(str(page["userErrors"]))
    return page


def test_nearby_listings_radius_filter(world: World):
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Radius prober {victim.key}")

        def inside(anchor, radius_m, v=victim, pool=attackers):
            nodes = pool.ask(lambda a: nearby(a, anchor, radius_m, v.category)["nodes"])
            return None if nodes is None else any(n["id"] == v.listing_id for n in nodes)

        anchors, revealed = world.decoys[victim.key].anchors, world.seen_revealed[victim.key]
        estimate, probes = distances_by_bisection(anchors, revealed, world.span(victim.key), inside)
        estimates[victim.key] = (estimate, probes, len(attackers.accounts))
    failures = judge("nearbyListings: radius filter", world, estimates)
    assert not failures, "\n".join(failures)


def test_nearby_listings_total_count(world: World):
    """Only the count is read: the victim's title as a text filter leaves the victim's listing
    and the attacker's own decoys (whose places the attacker knows), so count - decoys inside."""
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Count prober {victim.key}")
        anchors = world.decoys[victim.key].anchors

        def inside(anchor, radius_m, v=victim, pool=attackers, anchors=anchors):
            mine = sum(1 for other in anchors if metres(anchor, other) <= radius_m)
            count = pool.ask(lambda a: nearby(a, anchor, radius_m, v.category, v.title)["totalCount"])
            return None if count is None else count - mine >= 1

        revealed = world.seen_revealed[victim.key]
        estimate, probes = distances_by_bisection(anchors, revealed, world.span(victim.key), inside)
        estimates[victim.key] = (estimate, probes, len(attackers.accounts))
    failures = judge("nearbyListings: totalCount", world, estimates)
    assert not failures, "\n".join(failures)


def test_nearby_listings_facets(world: World):
    """Only the count per category is read (no text filter): the victim's listing and the
    attacker's own decoys are the offers of that category around."""
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Facet prober {victim.key}")
        anchors = world.decoys[victim.key].anchors

        def inside(anchor, radius_m, v=victim, pool=attackers, anchors=anchors):
            mine = sum(1 for other in anchors if metres(anchor, other) <= radius_m)
            facets = pool.ask(lambda a: nearby(a, anchor, radius_m, v.category)["facets"])
            if facets is None:
                return None
            count = sum(f["count"] for f in facets if f["category"] == v.category.lower())
            return count - mine >= 1

        revealed = world.seen_revealed[victim.key]
        estimate, probes = distances_by_bisection(anchors, revealed, world.span(victim.key), inside)
        estimates[victim.key] = (estimate, probes, len(attackers.accounts))
    failures = judge("nearbyListings: facets (count per category)", world, estimates)
    assert not failures, "\n".join(failures)


def test_nearby_listings_distance_km(world: World):
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"Distance reader {victim.key}")
        revealed = world.seen_revealed[victim.key]
        circles = []
        for anchor in world.decoys[victim.key].anchors:
            radius = metres(anchor, revealed) + world.span(victim.key)
            nodes = attackers.ask(lambda a, p=anchor, r=radius, v=victim: nearby(a, p, r, v.category)["nodes"]) or []
            shown = next((n["distanceKm"] for n in nodes if n["id"] == victim.listing_id), None)
            if shown is not None:
                circles.append((anchor, shown * 1000.0))
        estimate = trilaterate(circles, revealed) if len(circles) == 3 else None
        estimates[victim.key] = (estimate, attackers.probes, len(attackers.accounts))
    failures = judge("nearbyListings: distanceKm", world, estimates)
    assert not failures, "\n".join(failures)


def equidistance_attack(world: World, label: str, before: callable) -> dict:
    """Order against a decoy: from a point p on the ray from a decoy towards the revealed area,
    ``before(account, victim, decoy_id, p, t)`` says whether the victim ranks before the decoy,
    i.e. is nearer p than the decoy's t metres. Where it turns, the victim is exactly t from p:
    a circle; three decoys, three circles."""
    estimates = {}
    for victim in world.victims:
        attackers = Attackers(world.network, f"{label} {victim.key}")
        revealed = world.seen_revealed[victim.key]
        decoys = world.decoys[victim.key]
        circles, used = [], 0
        for decoy_id, anchor in zip(decoys.offers, decoys.anchors, strict=True):
            reach = metres(anchor, revealed) + world.span(victim.key)

            def ranks_first(t, v=victim, d=decoy_id, anchor=anchor, pool=attackers, origin=revealed):
                p = toward(anchor, origin, t)
                return pool.ask(lambda a: before(a, v, d, p, t))

            t, probes = bisect(ranks_first, 0.0, reach, probes_for(reach / 2))
            used += probes
            circles.append((toward(anchor, revealed, t), t))
        estimates[victim.key] = (trilaterate(circles, revealed), used, len(attackers.accounts))
    return estimates


def order(ids: list[str], victim_id: str, decoy_id: str) -> bool | None:
    if victim_id not in ids or decoy_id not in ids:
        return None
    return ids.index(victim_id) < ids.index(decoy_id)


def test_nearby_listings_order_by_distance(world: World):
    def before(account, victim, decoy_id, p, t):
        radius = max(t, metres(p, world.seen_revealed[victim.key])) + world.span(victim.key)
        ids = [n["id"] for n in nearby(account, p, radius, victim.category)["nodes"]]
        answer = order(ids, victim.listing_id, decoy_id)
        if answer is None:
            raise Refused("the victim or the decoy is not in the page")
        return answer

    failures = judge("nearbyListings: order by distance", world, equidistance_attack(world, "Sort prober", before))
    assert not failures, "\n".join(failures)


def test_suggest_ranks_what_is_near(world: World):
    def before(account, victim, decoy_id, p, t):
        found = account.gql(SUGGEST, {"text": victim.title, "near": p})["suggest"]
        answer = order([s["id"] for s in found["suggestions"]], victim.listing_id, decoy_id)
        if answer is None:
            raise Refused("the victim or the decoy is not suggested")
        return answer

    failures = judge("suggest: ranking near a point", world, equidistance_attack(world, "Suggest prober", before))
    assert not failures, "\n".join(failures)


def test_map_clusters_centroids(world: World):
    """The watcher looked at the map (zoom 20) just before and after each victim posted: the
    tile whose count rose by one moved its centroid by exactly what the new listing adds."""
    estimates = {v.key: (world.map_estimates[v.key], world.map_probes // len(world.victims), 1) for v in world.victims}
    failures = judge("mapClusters: tile centroids", world, estimates)
    assert not failures, "\n".join(failures)


def test_the_pickup_area_everyone_sees(world: World):
    """Not an attack: what the listing shows anyone. For a member in protected mode it must be
    the city, not the ~1 km cell."""
    estimates = {v.key: (world.seen_revealed[v.key], 1, 1) for v in world.victims}
    failures = judge("Listing.pickupArea", world, estimates)
    assert not failures, "\n".join(failures)
