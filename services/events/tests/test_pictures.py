"""An outing's pictures in the events service (a real nameko container, the real store): the
service checks who asks and what is sent, whatever the gateway did before."""

from __future__ import annotations

import base64
import hashlib
import io

from conftest import call
from PIL import Image
from test_service import GOOD

from parentnet_kit import nameko_testing as members
from parentnet_kit import picture_store, pictures


def variants() -> list[dict]:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (9, 99, 199)).save(out, "PNG")
    return picture_store.to_wire(pictures.process(out.getvalue()))


def test_only_the_organizer_or_a_group_admin_changes_an_outings_pictures(container):
    members.group("g-pictures", m1="member", m2="admin", m3="member")
    outing = call(container, "create_outing", {**GOOD, "group_id": "g-pictures"}, organizer_id="m1")["outing"]["id"]
    refused = call(container, "picture_add", "outing", outing, "m3", variants())
    assert refused["picture"] is None and [e["code"] for e in refused["errors"]] == ["NOT_YOURS"]
    # Claiming to be an admin (a previous gateway's argument) makes nobody one.
    claimed = call(container, "picture_add", "outing", outing, "m3", variants(), actor_is_admin=True)
    assert claimed["picture"] is None and [e["code"] for e in claimed["errors"]] == ["NOT_YOURS"]
    assert call(container, "picture_add", "outing", "missing", "m1", variants())["errors"][0]["code"] == "NOT_FOUND"
    assert call(container, "picture_add", "listing", outing, "m1", variants())["errors"][0]["code"] == "INVALID"

    added = call(container, "picture_add", "outing", outing, "m1", variants())["picture"]
    by_admin = call(container, "picture_add", "outing", outing, "m2", variants())["picture"]  # members says so
    assert [p["id"] for p in call(container, "pictures_of", "outing", [outing, "other"])[0]] == [
        added["id"],
        by_admin["id"],
    ]
    assert call(container, "picture_remove", "outing", outing, added["id"], "m3")["errors"][0]["code"] == "NOT_YOURS"
    assert call(container, "picture_remove", "outing", outing, added["id"], "m1") == {"removed": True, "errors": []}
    assert call(container, "picture_file", "outing", outing, added["id"], added["variants"][0]["sha256"]) is None


def test_a_variant_carrying_metadata_is_refused_and_nothing_is_stored(container):
    outing = call(container, "create_outing", GOOD, organizer_id="m1")["outing"]["id"]
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.new("RGB", (80, 60)).save(out, "JPEG", exif=exif)
    wire = variants()
    tainted = out.getvalue()
    wire[2] = {**wire[2], "data": base64.b64encode(tainted).decode(), "sha256": hashlib.sha256(tainted).hexdigest()}
    result = call(container, "picture_add", "outing", outing, "m1", wire)
    assert result["picture"] is None and result["errors"][0]["code"] == "INVALID"
    assert "metadata (JPEG APP1)" in result["errors"][0]["message"]
    assert call(container, "pictures_of", "outing", [outing]) == [[]]
