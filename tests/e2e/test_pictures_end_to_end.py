"""Pictures through the GraphQL API, as an app sends them (a multipart request per the GraphQL
multipart request spec) and as a browser fetches them (the variant URLs), on the real stack."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import uuid
import zlib

import pytest
from conftest import ROOT
from PIL import ExifTags, Image
from support.graphql import post
from test_community_end_to_end import GROUP, JOIN_GROUP
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_listings_end_to_end import PROTECT, stroller
from test_outing_end_to_end import CREATE, proposal

PICTURE = "id width height variants { size url width height contentType byteSize }"
ADD = f"""
mutation Add($input: PictureAddInput!) {{
  pictureAdd(input: $input) {{ picture {{ {PICTURE} }} userErrors {{ field message code }} }}
}}"""
REMOVE = """
mutation Remove($input: PictureRemoveInput!) {
  pictureRemove(input: $input) { removedPictureId userErrors { field message code } }
}"""
OUTING_PICTURES = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Outing {{ pictures {{ {PICTURE} }} }} }} }}"""
SUBJECT_PICTURES = f"""
query($id: ID!) {{
  node(id: $id) {{
    ... on Listing {{ pictures {{ {PICTURE} }} }}
    ... on Group {{ pictures {{ {PICTURE} }} }}
    ... on Member {{ pictures {{ {PICTURE} }} }}
  }}
}}"""
PREFLIGHT = {"Apollo-Require-Preflight": "true"}
HOME = ((48.0, 51.0, 29.5), (2.0, 17.0, 40.2))  # a home's position, as a phone writes it


def photo_from_home(width: int = 1600, height: int = 1200) -> bytes:
    """A JPEG as a phone makes it at home: EXIF with GPS, the make, and orientation 6 (turned)."""
    image = Image.new("RGB", (width, height), (180, 120, 60))
    image.paste((20, 40, 200), (0, 0, width // 4, height // 4))  # a mark to find the top left by
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", HOME[0]
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", HOME[1]
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it does carry GPS
    return data


def png_bomb(side: int = 60_000) -> bytes:
    """A valid PNG header claiming side x side pixels (3.6 gigapixels), with a tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def upload(http, token: str | None, subject_id: str, data: bytes, filename: str = "photo.jpg", headers=None):
    """``pictureAdd`` as Apollo Client's upload link sends it: operations, map, then the file."""
    operations = {"query": ADD, "variables": {"input": {"subjectId": subject_id, "file": None}}}
    files = {
        "operations": (None, json.dumps(operations), "application/json"),
        "map": (None, json.dumps({"0": ["variables.input.file"]}), "application/json"),
        "0": (filename, data, "image/jpeg"),
    }
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **PREFLIGHT, **(headers or {})}
    return http.post("/graphql", files=files, headers=sent)


def app_segments(jpeg: bytes) -> list[int]:
    """The APPn markers of a JPEG before its scan (0xE1 is APP1: EXIF or XMP)."""
    markers, at = [], 2
    while jpeg[at + 1] != 0xDA:
        if 0xE0 <= jpeg[at + 1] <= 0xEF:
            markers.append(jpeg[at + 1])
        at += 2 + struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
    return markers


@pytest.fixture(scope="module")
def outing(gql) -> str:
    created = gql(CREATE, {"input": proposal(f"Photos {uuid.uuid4().hex[:6]}", 48.8556, 2.2986)})["outingCreate"]
    assert created["userErrors"] == []
    return created["outing"]["id"]


def pictures_of(gql, outing: str) -> list[dict]:
    return gql(OUTING_PICTURES, {"id": outing})["node"]["pictures"]


def test_a_photo_taken_at_home_comes_back_without_its_metadata_in_every_size(http, organizer, gql, outing):
    answer = upload(http, organizer["token"], outing, photo_from_home())
    assert answer.status_code == 200, answer.text
    added = answer.json()["data"]["pictureAdd"]
    assert added["userErrors"] == []
    picture = added["picture"]
    assert [v["size"] for v in picture["variants"]] == ["LARGE", "MEDIUM", "THUMBNAIL"]
    # Upright: the phone said "turned 90°", so 1600 x 1200 is shown 1200 x 1600.
    assert (picture["width"], picture["height"]) == (1200, 1600)
    assert [(v["width"], v["height"]) for v in picture["variants"]] == [(1200, 1600), (768, 1024), (240, 320)]
    assert pictures_of(gql, outing)[-1]["id"] == picture["id"]

    for variant in picture["variants"]:
        served = http.get(variant["url"])
        assert served.status_code == 200, variant
        assert served.headers["content-type"] == "image/jpeg" == variant["contentType"]
        assert len(served.content) == variant["byteSize"]
        image = Image.open(io.BytesIO(served.content))
        assert image.format == "JPEG" and image.size == (variant["width"], variant["height"])
        assert dict(image.getexif()) == {}, variant["size"]
        assert 0xE1 not in app_segments(served.content), variant["size"]  # no APP1: no EXIF, no XMP
        assert not {"exif", "xmp", "icc_profile", "photoshop"} & set(image.info)
        assert b"PhoneMaker" not in served.content
        # Turned upright before the orientation was dropped: the mark is now at the top right.
        assert image.convert("RGB").getpixel((image.width - 3, 3))[2] > 150
        # Cacheable for good at this URL (its path names the bytes), revalidated by ETag.
        assert "immutable" in served.headers["cache-control"] and "private" in served.headers["cache-control"]
        etag = served.headers["etag"]
        assert http.get(variant["url"], headers={"If-None-Match": etag}).status_code == 304


def test_too_large_a_file_and_a_file_that_is_no_picture_are_refused_naming_the_field(http, organizer, gql, outing):
    before = pictures_of(gql, outing)
    big = upload(http, organizer["token"], outing, b"\xff\xd8" + b"\0" * (50 * 1024 * 1024))
    assert big.status_code == 413
    [error] = big.json()["errors"]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert error["extensions"]["field"] == ["input", "file"] and "10 MB" in error["message"]

    text = upload(http, organizer["token"], outing, b"#!/bin/sh\necho not a picture\n" * 40, "cat.jpg")
    assert text.status_code == 200
    added = text.json()["data"]["pictureAdd"]
    assert added["picture"] is None
    assert [(e["field"], e["code"]) for e in added["userErrors"]] == [(["input", "file"], "NOT_AN_IMAGE")]
    assert pictures_of(gql, outing) == before  # nothing stored


def test_a_decompression_bomb_is_refused_before_it_is_decoded(http, organizer, gql, outing):
    before = pictures_of(gql, outing)
    answer = upload(http, organizer["token"], outing, png_bomb(), "bomb.png")
    added = answer.json()["data"]["pictureAdd"]
    assert [(e["field"], e["code"]) for e in added["userErrors"]] == [(["input", "file"], "TOO_LARGE")]
    assert "megapixels" in added["userErrors"][0]["message"]
    assert pictures_of(gql, outing) == before


def test_a_stranger_can_neither_add_nor_remove_and_removal_ends_the_urls(http, organizer, sign_up, gql, outing):
    added = upload(http, organizer["token"], outing, photo_from_home(800, 600)).json()["data"]["pictureAdd"]
    picture = added["picture"]
    stranger = sign_up("Stranger")

    theirs = upload(http, stranger["token"], outing, photo_from_home(400, 300)).json()["data"]["pictureAdd"]
    assert [(e["field"], e["code"]) for e in theirs["userErrors"]] == [(["input", "subjectId"], "NOT_YOURS")]

    refused = post(http, REMOVE, {"input": {"pictureId": picture["id"]}}, stranger["token"]).json()
    assert refused["data"]["pictureRemove"]["removedPictureId"] is None
    [error] = refused["data"]["pictureRemove"]["userErrors"]
    assert (error["field"], error["code"]) == (["input", "pictureId"], "NOT_YOURS")
    assert picture["id"] in [p["id"] for p in pictures_of(gql, outing)]
    assert http.get(picture["variants"][0]["url"]).status_code == 200

    removed = gql(REMOVE, {"input": {"pictureId": picture["id"]}})["pictureRemove"]
    assert removed == {"removedPictureId": picture["id"], "userErrors": []}
    assert picture["id"] not in [p["id"] for p in pictures_of(gql, outing)]
    # Gone is the same 404 as a URL that never was: no way to tell removed from forged.
    gone = http.get(picture["variants"][0]["url"])
    forged = http.get(picture["variants"][0]["url"].replace("s=", "s=x"))
    assert gone.status_code == forged.status_code == 404 and gone.text == forged.text


def test_a_blocked_viewer_cannot_fetch_a_picture_even_with_its_url(http, organizer, sign_up, gql):
    owner = sign_up("Owner")
    viewer = sign_up("Viewer")
    created = post(http, CREATE, {"input": proposal("Parc", 48.8556, 2.2986)}, owner["token"]).json()
    outing = created["data"]["outingCreate"]["outing"]["id"]
    upload(http, owner["token"], outing, photo_from_home(640, 480))
    seen = post(http, OUTING_PICTURES, {"id": outing}, viewer["token"]).json()["data"]["node"]["pictures"]
    url = seen[0]["variants"][2]["url"]
    assert http.get(url).status_code == 200

    block = "mutation($input: MemberBlockInput!) { memberBlock(input: $input) { userErrors { code } } }"
    assert post(http, block, {"input": {"memberId": viewer["id"]}}, owner["token"]).json()["data"]["memberBlock"] == {
        "userErrors": []
    }
    assert http.get(url).status_code == 404
    assert post(http, OUTING_PICTURES, {"id": outing}, viewer["token"]).json()["data"]["node"] is None


def test_a_multipart_request_without_a_preflight_header_is_refused(http, organizer, outing):
    operations = {"query": ADD, "variables": {"input": {"subjectId": outing, "file": None}}}
    files = {
        "operations": (None, json.dumps(operations)),
        "map": (None, json.dumps({"0": ["variables.input.file"]})),
        "0": ("photo.jpg", photo_from_home(64, 48), "image/jpeg"),
    }
    answer = http.post("/graphql", files=files, headers={"Authorization": f"Bearer {organizer['token']}"})
    assert answer.status_code == 400
    assert "Apollo-Require-Preflight" in answer.json()["errors"][0]["message"]


APOLLO = ROOT / "clients" / "apollo"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test's provisioning")
def test_apollo_clients_upload_link_adds_a_picture(stack, organizer, gql, outing, tmp_path):
    if not (APOLLO / "node_modules" / "apollo-upload-client").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=APOLLO, check=True, timeout=300)
    photo = tmp_path / "from-home.jpg"
    photo.write_bytes(photo_from_home(1024, 768))
    env = {
        **os.environ,
        "GATEWAY_URL": stack.gateway_url,
        "TOKEN": organizer["token"],
        "SUBJECT_ID": outing,
        "FILE": str(photo),
    }
    run = subprocess.run(["node", "upload.mjs"], cwd=APOLLO, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["errors"] == [] and answer["data"]["pictureAdd"]["userErrors"] == [], answer
    picture = answer["data"]["pictureAdd"]["picture"]
    assert (picture["width"], picture["height"]) == (768, 1024)
    assert picture["id"] in [p["id"] for p in pictures_of(gql, outing)]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_adds_a_picture_with_form_fields(stack, organizer, outing, tmp_path):
    photo = tmp_path / "from-home.jpg"
    photo.write_bytes(photo_from_home(320, 240))
    operations = json.dumps({"query": ADD, "variables": {"input": {"subjectId": outing, "file": None}}})
    command = [
        "curl", "-sS", f"{stack.gateway_url}/graphql",
        "-H", f"Authorization: Bearer {organizer['token']}", "-H", "Apollo-Require-Preflight: true",
        "-F", f"operations={operations}", "-F", 'map={"0": ["variables.input.file"]}', "-F", f"0=@{photo}",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    added = json.loads(run.stdout)["data"]["pictureAdd"]
    assert added["userErrors"] == [] and added["picture"]["width"] == 240


def test_listings_groups_and_members_keep_their_pictures_in_their_own_services(http, sign_up, gql):
    owner, other = sign_up("Owner"), sign_up("Other")
    where = {"lat": 48.8530, "lon": 2.3499}
    listing = gql(LISTING_CREATE, {"input": stroller("GIVE", where)}, token=owner["token"])["listingCreate"]
    group = gql(GROUP, token=owner["token"])["groupCreate"]["group"]["id"]
    assert gql(JOIN_GROUP, {"g": group}, token=other["token"])["groupJoin"]["userErrors"] == []
    photo = photo_from_home(300, 200)
    for subject in (listing["listing"]["id"], group, owner["id"]):
        mine = upload(http, owner["token"], subject, photo).json()["data"]["pictureAdd"]
        assert mine["userErrors"] == [], subject
        # A group's plain member, a stranger to the listing, someone else's profile: not theirs.
        theirs = upload(http, other["token"], subject, photo).json()["data"]["pictureAdd"]
        assert [e["code"] for e in theirs["userErrors"]] == ["NOT_YOURS"], subject
        seen = gql(SUBJECT_PICTURES, {"id": subject}, token=other["token"])["node"]["pictures"]
        assert [p["id"] for p in seen] == [mine["picture"]["id"]]
        assert http.get(seen[0]["variants"][1]["url"]).headers["content-type"] == "image/jpeg"


def test_a_private_groups_pictures_are_for_its_members_only(http, sign_up, gql):
    admin, outsider = sign_up("Admin"), sign_up("Outsider")
    private = """mutation { groupCreate(input: {name: "Maison des mères", city: "paris", visibility: PRIVATE}) {
      group { id } userErrors { code } } }"""
    group = gql(private, token=admin["token"])["groupCreate"]["group"]["id"]
    added = upload(http, admin["token"], group, photo_from_home(200, 100)).json()["data"]["pictureAdd"]
    assert added["userErrors"] == []
    url = added["picture"]["variants"][0]["url"]
    assert http.get(url).status_code == 200  # the admin's own URL
    assert gql(SUBJECT_PICTURES, {"id": group}, token=outsider["token"])["node"]["pictures"] == []
    node = ("query($id: ID!) { node(id: $id) { id } }", {"id": added["picture"]["id"]})
    assert gql(*node, token=outsider["token"])["node"] is None
    assert gql(*node, token=admin["token"])["node"] == {"id": added["picture"]["id"]}


def test_a_members_pictures_are_for_signed_in_viewers_on_no_side_of_a_block(http, sign_up, gql):
    member, viewer = sign_up("Member"), sign_up("Viewer")
    added = upload(http, member["token"], member["id"], photo_from_home(300, 200)).json()["data"]["pictureAdd"]
    assert added["userErrors"] == []
    seen = gql(SUBJECT_PICTURES, {"id": member["id"]}, token=viewer["token"])["node"]["pictures"]
    assert [p["id"] for p in seen] == [added["picture"]["id"]]
    url = seen[0]["variants"][2]["url"]
    assert http.get(url).status_code == 200
    # Signed out: a member's face is for nobody, whoever holds a link.
    signed_out = post(http, SUBJECT_PICTURES, {"id": member["id"]}).json()
    assert "errors" not in signed_out and signed_out["data"]["node"]["pictures"] == []

    block = "mutation($input: MemberBlockInput!) { memberBlock(input: $input) { userErrors { code } } }"
    assert gql(block, {"input": {"memberId": viewer["id"]}}, token=member["token"])["memberBlock"]["userErrors"] == []
    assert gql(PROTECT, {"on": True}, token=member["token"])["memberUpdateProfile"]["userErrors"] == []
    node = gql(SUBJECT_PICTURES, {"id": member["id"]}, token=viewer["token"])["node"]
    assert node is None or node["pictures"] == []
    assert http.get(url).status_code == 404  # the same 404 as a forged URL
    assert post(http, SUBJECT_PICTURES, {"id": member["id"]}).json()["data"]["node"]["pictures"] == []
    mine = gql(SUBJECT_PICTURES, {"id": member["id"]}, token=member["token"])["node"]["pictures"]
    assert [p["id"] for p in mine] == [added["picture"]["id"]]


def test_the_same_image_added_twice_gets_unrelated_url_names_and_etags(http, sign_up, gql):
    owner = sign_up("Owner")
    group = gql(GROUP, token=owner["token"])["groupCreate"]["group"]["id"]
    photo = photo_from_home(320, 240)
    names, etags = [], []
    for subject in (owner["id"], group):
        added = upload(http, owner["token"], subject, photo).json()["data"]["pictureAdd"]
        assert added["userErrors"] == []
        url = added["picture"]["variants"][0]["url"]
        names.append(url.split("?")[0].rsplit("/", 1)[1])
        fetched = http.get(url)
        assert fetched.status_code == 200
        etags.append(fetched.headers["etag"])
        digest = hashlib.sha256(fetched.content).hexdigest()
        assert digest not in url and digest not in fetched.headers["etag"]  # no plain digest to match a photo by
        assert http.get(url, headers={"If-None-Match": fetched.headers["etag"]}).status_code == 304
    assert names[0] != names[1] and etags[0] != etags[1]
