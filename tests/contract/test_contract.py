"""The contract between the processes (parentnet_kit.contract) against what the code does.

- Each service's ``@rpc`` methods, found through nameko's entrypoints on its class, against its
  typed client: names, parameter names, required or optional, defaults.
- Every event type a producer publishes and a consumer handles is in the event catalogue.
- The contract against its checked-in snapshot: only additive changes pass.
- A deliberately wrong call (a renamed argument) is caught by the type check and at run time.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from parentnet_kit import city_copy, topology
from parentnet_kit.contract import events as catalogue
from parentnet_kit.contract import rpc as clients
from parentnet_kit.contract import snapshot

ROOT = Path(__file__).resolve().parents[2]


def rpc_methods(service: type) -> dict[str, Any]:
    """The service class's methods that carry nameko's RPC entrypoint, by name."""
    found = {}
    for name, member in inspect.getmembers(service, inspect.isfunction):
        if any(isinstance(e, Rpc) for e in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ())):
            found[name] = member
    return found


def service_classes() -> dict[str, type]:
    from conversations.service import ConversationsService

    from events.service import EventsService
    from listings.service import ListingsService
    from members.service import MembersService
    from moderation.service import ModerationService
    from search.service import SearchService

    services = (EventsService, ListingsService, MembersService, ModerationService, SearchService)
    services += (ConversationsService,)
    return {cls.name: cls for cls in services}


# -- RPC -------------------------------------------------------------------------------------


def test_there_is_a_client_for_each_service_and_a_service_for_each_client():
    assert sorted(service_classes()) == sorted(clients.CLIENTS)


@pytest.mark.parametrize("name", ["events", "listings", "members", "moderation", "search", "conversations"])
def test_each_services_rpc_methods_are_its_clients_methods(name):
    service = service_classes()[name]
    methods = rpc_methods(service)
    assert len(methods) >= 6, "found the service's @rpc methods through nameko's entrypoints"
    assert snapshot.compare_rpc(methods, clients.CLIENTS[name]) == []


class Sent:
    """A transport that records what a client would send."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        assert not args, "clients send arguments by name"
        self.calls.append((service, method, kwargs))
        return {"outing": None, "errors": []}


def test_a_client_sends_arguments_by_name_and_leaves_defaults_unsent():
    sent = Sent()
    events = clients.EventsClient(sent)
    asyncio.run(events.update_outing(outing_id="o1", actor_id="m1", fields={"title": "Zoo"}))
    asyncio.run(
        events.using(headers={"x": "1"}, timeout=30).update_outing(
            outing_id="o1", actor_id="m1", fields={}, scope="series"
        )
    )
    assert sent.calls == [
        ("events", "update_outing", {"outing_id": "o1", "actor_id": "m1", "fields": {"title": "Zoo"}}),
        (
            "events",
            "update_outing",
            {
                "headers": {"x": "1"},
                "timeout": 30,
                "outing_id": "o1",
                "actor_id": "m1",
                "fields": {},
                "scope": "series",
            },
        ),
    ]


# -- a deliberately wrong call -------------------------------------------------------------

WRONG_CALL = """
    from parentnet_kit.contract.rpc import EventsClient


    async def change(events: EventsClient) -> None:
        await events.update_outing({argument}="o1", actor_id="m1", fields={{}})
"""


def _mypy(tmp_path: Path, argument: str) -> tuple[str, int]:
    snippet = tmp_path / f"call_with_{argument}.py"
    snippet.write_text(textwrap.dedent(WRONG_CALL.format(argument=argument)))
    out, err, status = mypy_api.run(
        [str(snippet), "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / ".mypy")]
    )
    return out + err, status


def test_the_type_check_catches_a_renamed_argument(tmp_path):
    report, status = _mypy(tmp_path, "outing")  # the parameter is outing_id
    assert status == 1, report
    assert 'Unexpected keyword argument "outing" for "update_outing" of "EventsClient"' in report
    report, status = _mypy(tmp_path, "outing_id")
    assert status == 0, report


def test_the_runtime_contract_check_catches_a_renamed_argument():
    class RenamedEventsClient(clients.EventsClient):
        async def update_outing(  # type: ignore[override]
            self,
            *,
            outing: str,
            actor_id: str,
            fields: dict[str, Any],
            scope: str = "occurrence",
            actor_is_group_admin: bool = False,
        ) -> dict[str, Any]:
            return await self._call("update_outing", outing=outing, actor_id=actor_id, fields=fields)

    problems = snapshot.compare_rpc(rpc_methods(service_classes()["events"]), RenamedEventsClient)
    assert problems == [
        "events.update_outing: the client's parameter 'outing' is not the service's",
        "events.update_outing: parameter 'outing_id' is missing from the client",
    ]
    # And the call itself, made with the old name against the real client, never leaves.
    sent = Sent()
    with pytest.raises(TypeError, match="outing"):
        asyncio.run(clients.EventsClient(sent).update_outing(outing="o1", actor_id="m1", fields={}))  # type: ignore[call-arg]
    assert sent.calls == []


def test_the_runtime_check_tells_required_from_optional_and_differing_defaults():
    class Drifted(clients.SearchClient):
        async def suggest(  # type: ignore[override]
            self,
            *,
            text: str,
            near: dict[str, float],
            limit: int = 10,
            viewer_id: str | None = None,
            viewer_groups: list[str] | None = None,
        ) -> dict[str, Any]:
            return {}

    problems = snapshot.compare_rpc(rpc_methods(service_classes()["search"]), Drifted)
    assert "search.suggest: parameter 'near' is optional on the service only" in problems
    assert "search.suggest: parameter 'limit' defaults to 8 there, 10 here" in problems


# -- events ----------------------------------------------------------------------------------

PRODUCERS = {
    "events": ROOT / "services/events/events",
    "listings": ROOT / "services/listings/listings",
    "members": ROOT / "services/members/members",
    "moderation": ROOT / "services/moderation/moderation",
    "conversations": ROOT / "services/conversations/conversations",
}
EVENT_TYPE = re.compile(r"^[a-z]+(_[a-z]+)+$")
# Calls whose string argument is an event type: Event(type, ...), and each producer's helpers
# that build one (``_commit(state, type)``, ``_commit_listing``, ``_event``).
BUILDERS = {"Event": 0, "_commit": 1, "_commit_listing": 1, "_event": 0, "_member_event": 0}
# Tables from an action to the event type it publishes (moderation's ``CONTENT_EVENTS``, ...).
EVENT_TABLE = re.compile(r"^[A-Z]+(_[A-Z]+)*_EVENTS$")


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def published_types() -> set[str]:
    """Every ``<source>.<type>`` the producers' code builds an event of (a static scan)."""
    found: set[str] = set()
    for source, folder in PRODUCERS.items():
        for path in folder.glob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Dict)
                    and any(isinstance(t, ast.Name) and EVENT_TABLE.match(t.id) for t in node.targets)
                ):
                    found |= {f"{source}.{s}" for v in node.value.values for s in _strings(v)}
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                    if name in BUILDERS:
                        args = node.args[BUILDERS[name] : BUILDERS[name] + 1]
                        args += [k.value for k in node.keywords if k.arg in ("type", "type_", "event_type")]
                        found |= {f"{source}.{s}" for a in args for s in _strings(a) if EVENT_TYPE.match(s)}
                # conversations republishes what moderation decided on as ``type_ = {subject: type}[...]``
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "type_" for t in node.targets):
                    types = [v for d in ast.walk(node.value) if isinstance(d, ast.Dict) for v in d.values if v]
                    found |= {f"{source}.{s}" for v in types for s in _strings(v) if EVENT_TYPE.match(s)}
                # listings' decisions return (state, event type, errors)
                value = node.value if isinstance(node, ast.Return) else None
                if isinstance(value, ast.Tuple) and len(value.elts) == 3 and isinstance(value.elts[2], ast.List):
                    found |= {f"{source}.{s}" for s in _strings(value.elts[1]) if EVENT_TYPE.match(s)}
            # A service with an inbox publishes member_notified under its own name (kit.inbox).
            if "Inbox(" in path.read_text():
                found.add(f"{source}.member_notified")
    return found


def test_every_event_type_the_producers_build_is_in_the_catalogue():
    published = published_types()
    assert {"events.outing_published", "listings.listing_matched", "members.city_opened"} <= published, published
    moderation = {"content_hidden", "content_removed", "content_restored", "member_warned", "member_suspended"}
    moderation |= {"member_unsuspended", "member_held", "member_released", "report_filed", "report_resolved"}
    assert {f"moderation.{t}" for t in moderation | {"member_notified"}} <= published, published
    assert published - catalogue.CATALOGUE.keys() == set()


def test_every_event_type_in_the_catalogue_is_published():
    assert catalogue.CATALOGUE.keys() - published_types() == set()


def test_every_event_type_a_consumer_handles_is_in_the_catalogue():
    from search import documents

    assert documents.CONSUMED - catalogue.CATALOGUE.keys() == set()
    assert set(city_copy.CONSUMED) - catalogue.CATALOGUE.keys() == set()
    bound = {key for queue in topology.CONSUMERS for key in queue.bindings if "#" not in key and "*" not in key}
    assert bound - catalogue.CATALOGUE.keys() == set()
    # Every type search's documents compare an event's type with is one it declares it consumes.
    tree = ast.parse((ROOT / "services/search/search/documents.py").read_text())
    compared = {
        s
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare) and "event.type" in ast.unparse(node.left)
        for s in _strings(node)
    }
    declared = {key.split(".", 1)[1] for key in documents.CONSUMED}
    assert compared and compared - declared == set()
    assert "outing_deleted" not in declared, "nothing publishes it"


def _types_compared(path: Path) -> set[str]:
    """The strings an ``event.type`` is compared with (``==``, ``in``) or looked up by in a module,
    with the keys of its tables from an event type (``STATES``)."""
    tree = ast.parse(path.read_text())
    found = {
        s
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare) and "event.type" in ast.unparse(node.left)
        for s in _strings(node)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(isinstance(t, ast.Name) and t.id == "STATES" for t in node.targets)
        ):
            found |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return found


def test_every_event_type_the_moderation_consumers_handle_is_in_the_catalogue():
    """events and listings apply moderation's decisions (kit moderation_copy, queue
    ``<service>.moderation``, bound to ``moderation.#``); moderation keeps members' group roles."""
    copy = _types_compared(ROOT / "kit/parentnet_kit/moderation_copy.py")
    assert {"content_hidden", "content_removed", "content_restored", "member_suspended"} <= copy, copy
    assert {f"moderation.{t}" for t in copy} - catalogue.CATALOGUE.keys() == set()
    roles = _types_compared(ROOT / "services/moderation/moderation/group_roles.py")
    assert roles == {"group_created", "group_membership_changed"}, roles
    assert {f"members.{t}" for t in roles} - catalogue.CATALOGUE.keys() == set()
    assert {f"members.{t}" for t in roles} == set(topology.consumer("moderation.members").bindings)
    # A queue bound to a whole source gets every event it publishes: each must be on the catalogue.
    for queue in ("events.moderation", "listings.moderation"):
        assert topology.consumer(queue).bindings == ("moderation.#",)


def test_every_event_search_is_bound_to_by_name_is_one_its_documents_keep():
    """A key bound to ``search.indexer`` but left out of ``documents.CONSUMED`` is dropped unseen
    (conversations' threads, replies and questions were, once the catalogue's gate came)."""
    from search import documents

    bound = {key for key in topology.consumer("search.indexer").bindings if "#" not in key and "*" not in key}
    assert {"conversations.thread_posted", "conversations.question_asked"} <= bound
    assert bound - documents.CONSUMED == set()


def test_every_conversations_event_the_gateways_live_feed_takes_is_in_the_catalogue():
    from gateway import feed

    taken = {key for key in feed.ROUTING_KEYS if key.startswith("conversations.")}
    assert "conversations.message_sent" in taken
    assert taken - catalogue.CATALOGUE.keys() == set()


def test_an_event_off_the_catalogue_is_told():
    from parentnet_kit.envelope import Event

    with pytest.raises(catalogue.OffContract, match="not in the event catalogue"):
        catalogue.parse(Event("outing_deleted", "events", "o1", 2, "paris", {}))
    with pytest.raises(catalogue.OffContract, match="member_id"):
        catalogue.parse(Event("group_membership_changed", "members", "g1:m1", 1, "paris", {"group_id": "g1"}))
    assert catalogue.check(Event("outing_deleted", "events", "o1", 2, "paris", {}), "published") is False
    block = {"blocker_id": "a", "blocked_id": "b", "active": True, "later": "fields are welcome"}
    assert catalogue.check(Event("member_blocked", "members", "block:a:b", 1, None, block), "published") is True


# -- additive changes only -------------------------------------------------------------------


def test_the_contract_is_the_snapshot_or_adds_to_it():
    old, new = snapshot.load(), snapshot.current()
    assert snapshot.breaking_changes(old, new) == []
    assert snapshot.additions(old, new) == [], "run: .venv/bin/python -m parentnet_kit.contract.snapshot --write"


def test_additions_pass_and_removals_renames_and_new_requirements_fail():
    old = {
        "rpc": {"events": {"join_outing": {"outing_id": "required", "adults": "optional"}}},
        "events": {"events.outing_published": {"id": "required", "capacity": "optional"}},
    }
    additive = {
        "rpc": {
            "events": {
                "join_outing": {"outing_id": "required", "adults": "optional", "note": "optional"},
                "new_method": {"x": "required"},
            }
        },
        "events": {
            "events.outing_published": {"id": "required", "capacity": "optional", "tags": "optional"},
            "events.outing_archived": {"id": "required"},
        },
    }
    assert snapshot.breaking_changes(old, additive) == []
    assert len(snapshot.additions(old, additive)) == 4
    breaking = {
        "rpc": {"events": {"join_outing": {"outing": "required", "adults": "required", "note": "required"}}},
        "events": {},
    }
    assert snapshot.breaking_changes(old, breaking) == [
        "rpc events.join_outing: parameter 'outing_id' was removed (or renamed)",
        "rpc events.join_outing: parameter 'adults' became required",
        "rpc events.join_outing: new parameter 'note' is required (a new one must be optional)",
        "rpc events.join_outing: new parameter 'outing' is required (a new one must be optional)",
        "event events.outing_published was removed from the catalogue (or renamed)",
    ]


def test_an_event_off_the_catalogue_leaves_the_line_the_end_to_end_suite_looks_for(caplog):
    from parentnet_kit.envelope import Event
    from parentnet_kit.logging_setup import JsonFormatter

    with caplog.at_level("ERROR", logger=catalogue.log.name):
        catalogue.check(Event("outing_deleted", "events", "o1", 2, "paris", {}), "published")
    (record,) = caplog.records
    line = JsonFormatter().format(record)
    assert catalogue.OFF_CONTRACT in line  # tests/e2e/conftest.py fails the run on such a line
    assert '"event_type":"events.outing_deleted"' in line and '"role":"published"' in line


def test_the_gateway_calls_services_only_through_their_clients():
    """No ``rpc.call("<service>", "<method>", ...)`` by string outside the transport itself."""
    by_string = []
    for path in sorted((ROOT / "gateway/gateway").glob("*.py")):
        if path.name == "rpc.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "call" and len(node.args) >= 2:
                by_string.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert by_string == []


def test_the_gateway_reads_each_inbox_from_the_service_that_keeps_it():
    """A notification's id names its source: the inbox and mark-read go to that service's client."""
    from gateway.context import Context
    from gateway.schema.inbox import SOURCES, _client

    context = Context(request=None, rpc=Sent())
    assert set(SOURCES) == {"events", "listings", "moderation", "conversations"}
    for source in SOURCES:
        client = _client(context, source)
        assert isinstance(client, clients.InboxApi) and client.service == source


def test_the_moderation_flag_consumers_read_is_in_the_payloads_that_carry_it():
    """Search drops what a moderator hid by the ``hidden`` of outings', listings' and contacts'
    events (their public views say it since moderation): a field consumers rely on is declared."""
    from search import documents

    source = (ROOT / "services/search/search/documents.py").read_text()
    assert 'event.data.get("hidden")' in source
    carrying = [key for key in documents.CONSUMED if catalogue.CATALOGUE[key] in (catalogue.Outing, catalogue.Listing)]
    carrying.append("listings.contact_recommended")
    assert len(carrying) >= 5
    for key in carrying:
        field = catalogue.CATALOGUE[key].model_fields["hidden"]
        assert not field.is_required() and field.default is False, key
