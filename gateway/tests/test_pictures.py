"""Picture URLs: signed for one viewer, stable for a window, refused when altered or expired."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from gateway.pictures import URL_WINDOW, UrlSigner

PATH = "/pictures/outing/o1/p1/" + "a" * 64 + ".jpg"


def parts(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path, {k: v[0] for k, v in parse_qs(split.query).items()}


def test_a_url_is_checked_for_its_path_viewer_and_expiry():
    signer = UrlSigner(b"k" * 32)
    path, query = parts(signer.url(PATH, "m1", "http://gw.example/"))
    assert path == PATH and "m1" not in query["v"]  # sealed: a URL passed on does not say whose it was
    left, viewer = signer.check(path, query["v"], query["e"], query["s"])
    assert viewer == "m1" and URL_WINDOW <= left <= 2 * URL_WINDOW
    assert signer.check(path.replace("p1", "p2"), query["v"], query["e"], query["s"]) is None
    other = parts(signer.url(PATH, "m2", "http://gw.example/"))[1]["v"]
    assert signer.check(path, other, query["e"], query["s"]) is None
    assert signer.check(path, query["v"], str(int(query["e"]) + URL_WINDOW), query["s"]) is None
    assert UrlSigner(b"x" * 32).check(path, query["v"], query["e"], query["s"]) is None


def test_a_url_stays_the_same_within_a_window_so_browsers_cache_it():
    signer = UrlSigner(b"k" * 32, "https://api.example")
    start = (int(time.time()) // URL_WINDOW) * URL_WINDOW
    first = signer.url(PATH, None, "ignored", now=start + 1)
    assert first.startswith("https://api.example/pictures/") and "v=-" in first
    assert signer.check(*parts(first)[:1], "-", *[parts(first)[1][k] for k in ("e", "s")])[1] is None
    assert signer.url(PATH, "m1", "", now=start + 1) == signer.url(PATH, "m1", "", now=start + 2)  # deterministic
    assert signer.url(PATH, None, "ignored", now=start + URL_WINDOW - 1) == first
    assert signer.url(PATH, None, "ignored", now=start + URL_WINDOW) != first
    path, query = parts(signer.url(PATH, None, "", now=start - 3 * URL_WINDOW))
    assert signer.check(path, query["v"], query["e"], query["s"]) is None  # expired


def test_a_forged_url_is_a_plain_404_without_any_call(make_client):
    client, fake = make_client({})
    answer = client.get(PATH + "?v=-&e=9999999999&s=forged")
    assert answer.status_code == 404 and answer.headers["cache-control"] == "no-store"
    assert fake.calls == []
