"""A stand-in for the members service in other services' tests (nameko, tests only).

Events and listings ask members about group roles, group visibility, blocks and protected mode
(``member_facts``). A test starts ``MembersStub`` in its own virtual host (``start_members_stub``)
and says what members would answer by filling ``FACTS`` and ``GROUPS``; a member it says
nothing about is in no group, blocks nobody and is not protected. A service's tests may take the
``members`` fixture below instead (``from parentnet_kit.nameko_testing import members`` in their
conftest): it starts the stub for every test on a broker and resets it after each test.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from nameko.rpc import rpc

# member id -> {blocked, blocked_by, groups: {group id: role}, protected}
FACTS: dict[str, dict[str, Any]] = {}
# group id -> {id, visibility, ...}
GROUPS: dict[str, dict[str, Any]] = {}
# member ids members names network admins (``members.admins grant``)
NETWORK_ADMINS: set[str] = set()


def nobody() -> dict[str, Any]:
    return {"blocked": [], "blocked_by": [], "groups": {}, "protected": False}


def member(member_id: str, **facts: Any) -> None:
    """Say what members knows of ``member_id`` (keys of ``viewer_context``'s answer)."""
    FACTS[member_id] = {**nobody(), **facts}


def group(group_id: str, visibility: str = "public", **members_roles: str) -> None:
    """A group, with members given as ``member_id=role``."""
    GROUPS[group_id] = {"id": group_id, "visibility": visibility}
    for member_id, role in members_roles.items():
        FACTS.setdefault(member_id, nobody())["groups"][group_id] = role


def block(blocker_id: str, blocked_id: str) -> None:
    FACTS.setdefault(blocker_id, nobody())["blocked"].append(blocked_id)
    FACTS.setdefault(blocked_id, nobody())["blocked_by"].append(blocker_id)


def network_admin(member_id: str) -> None:
    """Say that members knows ``member_id`` as a network admin."""
    NETWORK_ADMINS.add(member_id)


def reset() -> None:
    FACTS.clear()
    GROUPS.clear()
    NETWORK_ADMINS.clear()


class MembersStub:
    name = "members"

    @rpc
    def viewer_context(self, member_id: str) -> dict[str, Any]:
        return copy.deepcopy(FACTS.get(member_id, nobody()))

    @rpc
    def get_groups(self, group_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        return [copy.deepcopy(GROUPS.get(g)) for g in group_ids]

    @rpc
    def is_network_admin(self, member_id: str) -> bool:
        return member_id in NETWORK_ADMINS


def start_members_stub(container_factory: Any, service_config: dict[str, Any]) -> Any:
    """Start ``MembersStub`` on ``service_config``'s broker; returns its container. It answers
    from ``FACTS`` and ``GROUPS`` as they are at each call (``reset`` them after the test)."""
    container = container_factory(MembersStub, service_config)
    container.start()
    return container


@pytest.fixture(autouse=True)
def members(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """For a test on a broker (one that uses the conftest's ``service_config``, directly or through
    another fixture): ``MembersStub`` started on that config's broker (``start_members_stub``).
    Yields this module, to say what members knows (``member``, ``group``, ``block``,
    ``network_admin``); resets it after every test, broker or not. Autouse where imported."""
    if "service_config" in request.fixturenames:
        container_factory = request.getfixturevalue("container_factory")
        start_members_stub(container_factory, request.getfixturevalue("service_config"))
    yield sys.modules[__name__]
    reset()
