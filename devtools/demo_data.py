"""Load demo cities and outings through the GraphQL API.

``python -m devtools.demo_data`` (``make up`` runs it). The demo's network admin
(``demo-admin@parentnet.example``, made one as ops do, ``members.admins.grant``) opens
the 72 cities of ``bench/cities.csv`` (every continent but Antarctica) with ``cityOpen``; the
founding eight get hand-written outings, every other city one morning in a park near its
centre at 10:00 local time. Idempotent: an open city is not opened again, and an outing whose
title already shows near its place is left alone.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from datetime import date, timedelta

import httpx
from pymongo import MongoClient

from devtools.world_cities import world
from parentnet_kit import config

GATEWAY = os.environ.get("GATEWAY_URL") or f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}"

# (city, language, category, title, description, venue, lat, lon, start hour, hours)
DEMO = [
    (
        "paris",
        "fr",
        "PARK",
        "Pique-nique des familles au Champ-de-Mars",
        "Chacun apporte un goûter à partager, rendez-vous côté École militaire.",
        "Champ-de-Mars",
        48.8556,
        2.2986,
        11,
        3,
    ),
    (
        "paris",
        "fr",
        "MUSEUM",
        "Contes au musée du quai Branly",
        "Atelier contes pour les 4-8 ans, poussettes bienvenues.",
        "Musée du quai Branly – Jacques Chirac",
        48.8609,
        2.2975,
        14,
        2,
    ),
    (
        "paris",
        "fr",
        "ZOO",
        "Matinée à la Ménagerie",
        "Visite des pandas roux puis goûter au Jardin des Plantes.",
        "Ménagerie du Jardin des Plantes",
        48.8443,
        2.3597,
        10,
        2,
    ),
    (
        "paris",
        "en",
        "SWIMMING_POOL",
        "Baby swim at Joséphine Baker pool",
        "English-speaking parents, babies 6 months and up.",
        "Piscine Joséphine Baker",
        48.8366,
        2.3768,
        10,
        1,
    ),
    (
        "paris",
        "zh",
        "MUSEUM",
        "带孩子逛科学城",
        "儿童城互动展览，适合3至12岁。",
        "Cité des sciences et de l'industrie",
        48.8958,
        2.3877,
        14,
        3,
    ),
    (
        "saint-denis",
        "fr",
        "CLOTHING_SALE",
        "Bourse aux vêtements d'enfants",
        "Vêtements 0-10 ans, petits prix, tables gratuites pour les parents.",
        "Parc de la Légion d'Honneur",
        48.9335,
        2.3580,
        10,
        4,
    ),
    (
        "saint-denis",
        "ar",
        "SUPPORT_GROUP",
        "لقاء أمهات سان دوني",
        "لقاء ودي للأمهات الجدد مع الأطفال.",
        "Médiathèque Gulliver",
        48.9365,
        2.3535,
        15,
        2,
    ),
    (
        "issy-les-moulineaux",
        "fr",
        "PLAYGROUP",
        "Jeux libres au parc Henri-Barbusse",
        "Pour les 1-3 ans, on apporte ballons et craies.",
        "Parc Henri Barbusse",
        48.8240,
        2.2690,
        10,
        2,
    ),
    (
        "annecy",
        "fr",
        "PARK",
        "Balade au bord du lac",
        "Poussettes tout-terrain conseillées, goûter au Pâquier.",
        "Jardins de l'Europe",
        45.8993,
        6.1310,
        14,
        2,
    ),
    (
        "annecy",
        "fr",
        "MUSEUM",
        "Le château pour les petits",
        "Visite adaptée aux 5-10 ans.",
        "Musée-Château d'Annecy",
        45.8980,
        6.1257,
        10,
        2,
    ),
    (
        "montreal",
        "fr",
        "ZOO",
        "Matinée au Biodôme",
        "Les manchots ! Rendez-vous à l'entrée principale.",
        "Biodôme de Montréal",
        45.5596,
        -73.5497,
        10,
        3,
    ),
    (
        "montreal",
        "en",
        "PARK",
        "Skating and hot chocolate",
        "Toddler-friendly rink, skates for rent.",
        "Parc La Fontaine",
        45.5270,
        -73.5693,
        13,
        2,
    ),
    (
        "montreal",
        "es",
        "MUSEUM",
        "Ciencia en familia",
        "Exposiciones interactivas para niños de 4 a 10 años.",
        "Centre des sciences de Montréal",
        45.5053,
        -73.5516,
        14,
        3,
    ),
    (
        "shenzhen",
        "zh",
        "ZOO",
        "野生动物园亲子一日游",
        "早上九点半在正门集合，适合所有年龄。",
        "深圳野生动物园",
        22.5990,
        113.9500,
        9,
        6,
    ),
    ("shenzhen", "zh", "PARK", "莲花山公园放风筝", "自带风筝，适合3岁以上。", "莲花山公园", 22.5533, 114.0570, 15, 2),
    ("chongqing", "zh", "ZOO", "重庆动物园看熊猫", "带上水和零食，推车可进。", "重庆动物园", 29.5090, 106.5120, 9, 4),
    (
        "chongqing",
        "zh",
        "MUSEUM",
        "科技馆亲子探索",
        "儿童科学乐园，适合4至10岁。",
        "重庆科技馆",
        29.5660,
        106.5780,
        14,
        3,
    ),
    (
        "can-tho",
        "vi",
        "OTHER",
        "Đi chợ nổi Cái Răng cùng bé",
        "Đi thuyền buổi sáng sớm, mang áo phao cho trẻ.",
        "Chợ nổi Cái Răng",
        10.0010,
        105.7460,
        6,
        3,
    ),
    (
        "can-tho",
        "vi",
        "PARK",
        "Dạo bến Ninh Kiều buổi chiều",
        "Cho bé chạy nhảy và ăn kem.",
        "Bến Ninh Kiều",
        10.0340,
        105.7880,
        16,
        2,
    ),
]


def _world_outings() -> list[tuple]:
    """One outing for each city of the world list that has none above, near its centre."""
    written = {entry[0] for entry in DEMO}
    return [
        (
            city.slug,
            "en",  # the title below is English
            "PARK",
            f"Family morning in {city.name}",
            "Bring a snack to share; children of every age welcome.",
            f"Park near the centre of {city.name}",
            round(city.lat + 0.004, 4),
            round(city.lon + 0.004, 4),
            10,
            2,
        )
        for city in world().values()
        if city.slug not in written
    ]


OPEN = """mutation($input: CityOpenInput!) {
  cityOpen(input: $input) { city { slug } userErrors { field message code } }
}"""
OPEN_CITIES = "{ cities { slug } }"
ADMIN_EMAIL = "demo-admin@parentnet.example"

CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id } userErrors { field message code } }
}"""
AT = """query($near: GeoPointInput!) { nearbyOutings(near: $near, radiusKm: 0.05, first: 100) { nodes { title } } }"""


REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken userErrors { field message code } }
}"""
LOGIN = """mutation($input: MemberLoginInput!) {
  memberLogin(input: $input) { accessToken userErrors { field message code } }
}"""
# Demo accounts only, one organizer per city; never use this password anywhere real.
DEMO_PASSWORD = "demo-parent-not-a-secret"


def post(client: httpx.Client, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


def titles_near(client: httpx.Client, lat: float, lon: float) -> set[str]:
    page = post(client, AT, {"near": {"lat": lat, "lon": lon}})["nearbyOutings"]
    return {node["title"] for node in page["nodes"]}


def account_address(email: str) -> str:
    """The loopback address a demo account signs up and in from, the same on every run
    (127.3.x.y from a hash of the email): the members service limits sign-ups per address, as
    deployed, and one address for every demo account of every city went past it (`make up`
    failed with THROTTLED, reported as a wrong password)."""
    digest = hashlib.sha256(email.encode()).digest()
    return f"127.3.{digest[0]}.{1 + digest[1] % 254}"


def account_post(client: httpx.Client, query: str, variables: dict, email: str) -> dict:
    """``post`` for a sign-up or sign-in of ``email``, from that account's own address."""
    transport = httpx.HTTPTransport(local_address=account_address(email))
    with httpx.Client(base_url=client.base_url, timeout=client.timeout, transport=transport) as own:
        return post(own, query, variables)


def organizer_token(client: httpx.Client, city: str, tokens: dict[str, str]) -> str:
    """Sign in as the city's demo organizer, registering it the first time."""
    if city not in tokens:
        email = f"demo+{city}@parentnet.example"
        fields = {"email": email, "password": DEMO_PASSWORD, "displayName": f"Demo parent ({city})", "city": city}
        result = account_post(client, REGISTER, {"input": fields}, email)["memberRegister"]
        if result["userErrors"]:
            refused = result["userErrors"]
            result = account_post(client, LOGIN, {"input": {"email": email, "password": DEMO_PASSWORD}}, email)[
                "memberLogin"
            ]
        if result["userErrors"]:
            print(
                f"demo organizer for {city} cannot sign up ({refused}) nor sign in: {result['userErrors']}",
                file=sys.stderr,
            )
            sys.exit(1)
        tokens[city] = result["accessToken"]
    return tokens[city]


def sign_in(client: httpx.Client, email: str, name: str) -> str:
    fields = {"email": email, "password": DEMO_PASSWORD, "displayName": name, "city": "paris"}
    result = account_post(client, REGISTER, {"input": fields}, email)["memberRegister"]
    if result["userErrors"]:
        refused = result["userErrors"]
        result = account_post(client, LOGIN, {"input": {"email": email, "password": DEMO_PASSWORD}}, email)[
            "memberLogin"
        ]
    if result["userErrors"]:
        print(f"{email} cannot sign up ({refused}) nor sign in: {result['userErrors']}", file=sys.stderr)
        sys.exit(1)
    return result["accessToken"]


def make_network_admin(email: str) -> None:
    """As ops name the first network admin (``python -m members.admins grant``), in the local
    stack's members database."""
    from members import admins

    client = MongoClient(config.mongo_uri(), tz_aware=True)
    try:
        if admins.grant(client[os.environ.get("MEMBERS_DB", "parentnet_members")], email, "demo") is None:
            print(f"{email} has no account to make a network admin", file=sys.stderr)
            sys.exit(1)
    finally:
        client.close()


def open_world(client: httpx.Client) -> int:
    """Open every city of the world list that is not open yet; returns how many were opened."""
    already = {c["slug"] for c in post(client, OPEN_CITIES, {})["cities"]}
    missing = [city for city in world().values() if city.slug not in already]
    if not missing:
        return 0
    admin = sign_in(client, ADMIN_EMAIL, "Demo network admin")
    make_network_admin(ADMIN_EMAIL)
    for city in missing:
        names = [{"language": tag, "name": name} for tag, name in city.names.items()]
        fields = {"geonamesId": city.geonames_id, "languages": list(city.languages), "names": names, "slug": city.slug}
        result = post(client, OPEN, {"input": fields}, admin)["cityOpen"]
        if result["userErrors"]:
            print(f"demo city {city.slug} refused: {result['userErrors']}", file=sys.stderr)
            sys.exit(1)
    return len(missing)


def main() -> None:
    client = httpx.Client(base_url=GATEWAY, timeout=10)
    opened = open_world(client)
    outings = DEMO + _world_outings()
    created = 0
    tokens: dict[str, str] = {}
    for index, (city, language, category, title, description, venue, lat, lon, hour, hours) in enumerate(outings):
        if title in titles_near(client, lat, lon):
            continue
        day = date.today() + timedelta(days=2 + index % 12)
        fields = {
            "title": title,
            "description": description,
            "language": language,
            "category": category,
            "startsAt": f"{day.isoformat()}T{hour:02d}:00",
            "endsAt": f"{day.isoformat()}T{hour + hours:02d}:00",
            "venueName": venue,
            "location": {"lat": lat, "lon": lon},
            "city": city,
        }
        token = organizer_token(client, city, tokens)
        # A city just opened reaches the events service from its queue within about a second.
        deadline = time.monotonic() + 15
        while True:
            result = post(client, CREATE, {"input": fields}, token)["outingCreate"]
            unknown = [e for e in result["userErrors"] if e["code"] == "UNKNOWN_CITY"]
            if not unknown or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        if result["userErrors"]:
            print(f"demo outing {title!r} refused: {result['userErrors']}", file=sys.stderr)
            sys.exit(1)
        created += 1
    # Return once everything is searchable, so the README's example query shows it at once.
    deadline = time.monotonic() + 30
    while not all(entry[3] in titles_near(client, entry[6], entry[7]) for entry in outings):
        if time.monotonic() > deadline:
            print("demo data: not all outings became searchable within 30 s", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.3)
    print(f"demo data: {opened} cities opened, {created} outings created, {len(outings)} searchable")


if __name__ == "__main__":
    main()
