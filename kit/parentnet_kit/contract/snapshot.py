"""The contract as data, its checked-in snapshot, and what may change between the two.

The contract is each service client's methods (``contract.rpc``: parameter names and which are
required) and each event type's payload fields (``contract.events``: names and which are
required). ``snapshot.json`` beside this module holds the contract as released. A change is
*additive* when everything in the snapshot is still there and nothing became required:

- allowed: a new method, a new optional parameter, a new event type, a new optional field;
  regenerate the snapshot with ``.venv/bin/python -m parentnet_kit.contract.snapshot --write``;
- breaking: a method, parameter, event type or field removed (a rename is a removal), a
  parameter or field made required, a new required parameter or field.

``--check`` (the default) exits 1 and lists what breaks, or says what is new and unsnapshotted;
``--write --allow-breaking`` records a deliberate break (say why in the commit).
``compare_rpc`` checks a service's ``@rpc`` methods against its client (``tests/contract``
finds them through nameko's entrypoints).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import events, rpc

SNAPSHOT = Path(__file__).with_name("snapshot.json")
Contract = dict[str, dict[str, dict[str, Any]]]
REQUIRED, OPTIONAL = "required", "optional"


def parameters(function: Callable[..., Any]) -> dict[str, str]:
    """``{name: "required" | "optional"}`` of a method's parameters, ``self`` left out."""
    found = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        found[name] = REQUIRED if parameter.default is inspect.Parameter.empty else OPTIONAL
    return found


def client_methods(client: type[rpc.ServiceClient]) -> dict[str, Callable[..., Any]]:
    """The service's methods a client class offers, by name (``using`` and private ones left out)."""
    return {
        name: member
        for name, member in inspect.getmembers(client, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }


def current() -> Contract:
    """The contract as the code states it now: ``{"rpc": {service: {method: {param: "required" | "optional"}}},
    "events": {"<source>.<type>": {field: "required" | "optional"}}}``."""
    methods = {
        service: {name: parameters(method) for name, method in sorted(client_methods(client).items())}
        for service, client in sorted(rpc.CLIENTS.items())
    }
    payloads = {
        key: {name: REQUIRED if info.is_required() else OPTIONAL for name, info in schema.model_fields.items()}
        for key, schema in sorted(events.CATALOGUE.items())
    }
    return {"rpc": methods, "events": payloads}


def _compare_members(where: str, old: Mapping[str, str], new: Mapping[str, str], what: str) -> list[str]:
    broken = []
    for name, was in old.items():
        now = new.get(name)
        if now is None:
            broken.append(f"{where}: {what} {name!r} was removed (or renamed)")
        elif now == REQUIRED and was != REQUIRED:
            broken.append(f"{where}: {what} {name!r} became required")
    for name in sorted(new.keys() - old.keys()):
        if new[name] == REQUIRED:
            broken.append(f"{where}: new {what} {name!r} is required (a new one must be optional)")
    return broken


def breaking_changes(old: Contract, new: Contract) -> list[str]:
    """What in ``new`` breaks a caller or consumer written against ``old``; empty when additive."""
    broken = []
    for service, methods in old.get("rpc", {}).items():
        for method, params in methods.items():
            now = new.get("rpc", {}).get(service, {}).get(method)
            if now is None:
                broken.append(f"rpc {service}.{method} was removed (or renamed)")
                continue
            broken += _compare_members(f"rpc {service}.{method}", params, now, "parameter")
    for key, fields in old.get("events", {}).items():
        now = new.get("events", {}).get(key)
        if now is None:
            broken.append(f"event {key} was removed from the catalogue (or renamed)")
            continue
        broken += _compare_members(f"event {key}", fields, now, "field")
    return broken


def additions(old: Contract, new: Contract) -> list[str]:
    """What ``new`` has that ``old`` lacks (methods, parameters, event types, fields)."""
    added = []
    for section in ("rpc", "events"):
        if section == "rpc":
            pairs = [
                (f"rpc {s}.{m}", old.get("rpc", {}).get(s, {}).get(m), params)
                for s, methods in new.get("rpc", {}).items()
                for m, params in methods.items()
            ]
        else:
            pairs = [(f"event {k}", old.get("events", {}).get(k), fields) for k, fields in new["events"].items()]
        for where, before, now in pairs:
            if before is None:
                added.append(f"{where} is new")
            else:
                added += [f"{where}: {name!r} is new" for name in now.keys() - before.keys()]
    return sorted(added)


def load(path: Path = SNAPSHOT) -> Contract:
    """The checked-in snapshot."""
    return json.loads(path.read_text())


def write(path: Path = SNAPSHOT) -> None:
    """Write the current contract as the snapshot (after an additive change)."""
    path.write_text(json.dumps(current(), indent=2, sort_keys=True) + "\n")


def compare_rpc(service_methods: Mapping[str, Callable[..., Any]], client: type[rpc.ServiceClient]) -> list[str]:
    """How a service's ``@rpc`` methods (by name) and its client differ: a method on one side only,
    a parameter on one side only, one required on one side and optional on the other, or a
    default that differs (the client leaves a default unsent, so both must mean the same)."""
    theirs = dict(service_methods)
    ours = client_methods(client)
    name = client.service
    problems = [f"{name}.{m}: an @rpc method the client lacks" for m in sorted(theirs.keys() - ours.keys())]
    problems += [
        f"{name}.{m}: on the client, no @rpc method on the service" for m in sorted(ours.keys() - theirs.keys())
    ]
    for method in sorted(theirs.keys() & ours.keys()):
        served = inspect.signature(theirs[method]).parameters
        called = inspect.signature(ours[method]).parameters
        for param in sorted((served.keys() | called.keys()) - {"self"}):
            if param in rpc.CALL_OPTIONS:
                problems.append(f"{name}.{method}: parameter {param!r} is a name the clients keep for call options")
            if param not in called:
                problems.append(f"{name}.{method}: parameter {param!r} is missing from the client")
            elif param not in served:
                problems.append(f"{name}.{method}: the client's parameter {param!r} is not the service's")
            else:
                s, c = served[param].default, called[param].default
                if (s is inspect.Parameter.empty) != (c is inspect.Parameter.empty):
                    required = "required" if s is inspect.Parameter.empty else "optional"
                    problems.append(f"{name}.{method}: parameter {param!r} is {required} on the service only")
                elif s != c:
                    problems.append(f"{name}.{method}: parameter {param!r} defaults to {s!r} there, {c!r} here")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``--check`` (default): 1 when the contract broke the snapshot; ``--write``: regenerate it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the current contract as the snapshot")
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="with --write: write it even though it breaks the snapshot (a deliberate, reviewed break, "
        "when every caller and consumer of what goes has been changed first)",
    )
    args = parser.parse_args(argv)
    old: Contract = load() if SNAPSHOT.exists() else {"rpc": {}, "events": {}}
    new = current()
    broken = breaking_changes(old, new)
    if broken:
        print("The contract changed in a way that is not additive:\n  " + "\n  ".join(broken), file=sys.stderr)
        if not (args.write and args.allow_breaking):
            return 1
    if args.write:
        write()
        print(f"wrote {SNAPSHOT}")
        return 0
    added = additions(old, new)
    if added:
        print("Additive changes not in the snapshot yet (run with --write):\n  " + "\n  ".join(added))
    return 0


if __name__ == "__main__":
    sys.exit(main())
