"""Picture URLs: signed for one viewer, stable for a window, refused when altered or expired."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

from gateway.picture_urls import URL_WINDOW, UrlSigner
from gateway.schema import pictures
from gateway.schema.pictures import _variant

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


SHA = "b" * 64  # what the service stores: the plain digest of the bytes


def member_answers(blocked_by: tuple[str, ...] = ()) -> dict:
    return {
        "members.get_members": lambda member_ids, viewer_id=None: [{"id": k, "name": "A"} for k in member_ids],
        "members.viewer_context": lambda member_id: {
            "blocked_by": list(blocked_by),
            "blocked": [],
            "groups": {},
            "protected": False,
        },
        "members.picture_file": lambda kind, subject_id, picture_id, variant: (
            {"content_type": "image/jpeg", "sha256": SHA, "data": base64.b64encode(b"\xff\xd8jpeg").decode()}
            if (kind, subject_id, picture_id, variant) == ("member", "a1", "p1", "thumbnail")
            else None
        ),
    }


def member_picture_url(viewer: str | None) -> str:
    picture = {"id": "p1", "subject": "member:a1"}
    path = _variant(picture, {"size": "thumbnail", "content_type": "image/jpeg", "sha256": SHA})["path"]
    return pictures.SIGNER.url(path, viewer, "http://testserver/")


def test_a_members_picture_is_served_to_signed_in_viewers_only_and_never_across_a_block(make_client):
    client, _ = make_client(member_answers())
    seen = client.get(member_picture_url("b1"))
    assert seen.status_code == 200 and seen.content == b"\xff\xd8jpeg"
    signed_out = client.get(member_picture_url(None))
    assert signed_out.status_code == 404 and signed_out.text == "Not found.\n"
    blocked, _ = make_client(member_answers(blocked_by=("a1",)))
    assert blocked.get(member_picture_url("b1")).status_code == 404


def test_urls_and_etags_name_the_bytes_with_a_key_of_each_picture_never_their_digest(make_client):
    client, _ = make_client(member_answers())
    url = member_picture_url("b1")
    name = urlsplit(url).path.rsplit("/", 1)[1].removeprefix("thumbnail-").removesuffix(".jpg")
    assert len(name) == 64 and name != SHA
    assert client.get(url).headers["etag"] == f'"{name}"'
    # The same bytes on another picture, or under another server key: unrelated names.
    assert pictures.SIGNER.content_name("p2", SHA) != name
    assert UrlSigner(b"k" * 32).content_name("p1", SHA) != name
    assert pictures.SIGNER.content_name("p1", SHA) == name  # fixed for the stored bytes: URLs stay immutable
    # The plain digest in the path is no longer a name: the same 404 as a forged URL.
    plain = pictures.SIGNER.url(f"/pictures/member/a1/p1/thumbnail-{SHA}.jpg", "b1", "http://testserver/")
    assert client.get(plain).status_code == 404
