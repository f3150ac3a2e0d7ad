"""The cities the network runs in: a shared contract, like the event envelope.

A city's time zone decides how outing times are read and shown; its languages are the
ones its members mostly write in. Adding a city is adding a line here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    country: str  # ISO 3166-1 alpha-2
    time_zone: str  # IANA
    languages: tuple[str, ...]  # BCP 47, most spoken first
    lat: float
    lon: float

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "name": self.name,
            "country": self.country,
            "time_zone": self.time_zone,
            "languages": list(self.languages),
            "lat": self.lat,
            "lon": self.lon,
        }


CITIES: dict[str, City] = {
    city.slug: city
    for city in (
        City("paris", "Paris", "FR", "Europe/Paris", ("fr", "en", "ar", "zh", "vi", "bn"), 48.8566, 2.3522),
        City("saint-denis", "Saint-Denis", "FR", "Europe/Paris", ("fr", "ar", "bn", "ur"), 48.9362, 2.3574),
        City("issy-les-moulineaux", "Issy-les-Moulineaux", "FR", "Europe/Paris", ("fr", "en"), 48.8245, 2.2700),
        City("annecy", "Annecy", "FR", "Europe/Paris", ("fr", "en"), 45.8992, 6.1294),
        City("montreal", "Montréal", "CA", "America/Toronto", ("fr", "en", "ar", "es", "zh"), 45.5019, -73.5674),
        City("shenzhen", "Shenzhen", "CN", "Asia/Shanghai", ("zh", "en"), 22.5431, 114.0579),
        City("chongqing", "Chongqing", "CN", "Asia/Shanghai", ("zh",), 29.5630, 106.5516),
        City("can-tho", "Cần Thơ", "VN", "Asia/Ho_Chi_Minh", ("vi", "en"), 10.0452, 105.7469),
    )
}


def get(slug: str) -> City | None:
    return CITIES.get(slug)
