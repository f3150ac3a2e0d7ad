"""Members' and groups' pictures in the members service: only the member, or a group's active
admins, may change them, whatever the gateway did before."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from test_accounts import call
from test_community import member

from members.service import MembersService
from parentnet_kit import picture_store, pictures


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(MembersService, service_config)
    container.start()
    return container


def variants() -> list[dict]:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (9, 99, 199)).save(out, "PNG")
    return picture_store.to_wire(pictures.process(out.getvalue()))


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["errors"]]


def test_a_profile_picture_is_the_members_and_a_groups_are_its_admins(container):
    ana, bao = member(container, "Ana"), member(container, "Bao")
    assert codes(call(container, "picture_add", "member", ana, bao, variants())) == ["NOT_YOURS"]
    mine = call(container, "picture_add", "member", ana, ana, variants())["picture"]
    assert [p["id"] for p in call(container, "pictures_of", "member", [ana])[0]] == [mine["id"]]

    group = call(container, "create_group", ana, {"name": "Square du Temple", "city": "paris"})["group"]["id"]
    assert call(container, "join_group", bao, group)["membership"]["status"] == "active"
    assert codes(call(container, "picture_add", "group", group, bao, variants())) == ["NOT_YOURS"]
    assert codes(call(container, "picture_add", "group", "nope", ana, variants())) == ["NOT_FOUND"]
    added = call(container, "picture_add", "group", group, ana, variants())["picture"]
    assert codes(call(container, "picture_remove", "group", group, added["id"], bao)) == ["NOT_YOURS"]
    assert call(container, "picture_remove", "group", group, added["id"], ana)["removed"] is True
    assert call(container, "pictures_of", "group", [group]) == [[]]
