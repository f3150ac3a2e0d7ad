"""A listing's pictures in the listings service: only its owner may change them."""

from __future__ import annotations

import io

from PIL import Image
from test_listings import BASTILLE, call, container, listing, post  # noqa: F401 - container is a fixture

from parentnet_kit import picture_store, pictures


def variants() -> list[dict]:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (9, 99, 199)).save(out, "PNG")
    return picture_store.to_wire(pictures.process(out.getvalue()))


def test_only_the_owner_changes_a_listings_pictures(container):  # noqa: F811 - the fixture
    offer = post(container, "owner", listing("give", "Poussette double", BASTILLE))["id"]
    refused = call(container, "picture_add", "listing", offer, "someone", variants())
    assert [e["code"] for e in refused["errors"]] == ["NOT_YOURS"]
    added = call(container, "picture_add", "listing", offer, "owner", variants())["picture"]
    assert [p["id"] for p in call(container, "pictures_of", "listing", [offer])[0]] == [added["id"]]
    thumbnail = added["variants"][2]
    served = call(container, "picture_file", "listing", offer, added["id"], thumbnail["sha256"])
    assert served["content_type"] == "image/jpeg" and served["sha256"] == thumbnail["sha256"]
    assert call(container, "picture_remove", "listing", offer, added["id"], "someone")["removed"] is False
    assert call(container, "picture_remove", "listing", offer, added["id"], "owner")["removed"] is True
