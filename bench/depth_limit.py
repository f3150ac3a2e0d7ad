"""What depth limiting costs a new document since graphene's depth_limit_validator decides it
(issue 21), against the rest of compiling it.

    PYTHONPATH=gateway:. .venv/bin/python -m bench.depth_limit

For each docs/queries/*.graphql, graphql-core's full introspection query and a query 12 levels
deep: the median over ``--rounds`` of parse, ``shape_errors`` (the hand-written walk, which
also had the depth before), graphql-core's validation, and ``depth_errors`` (the library rule),
in microseconds; the last column is the library rule's share of the whole. A document is
compiled once per text (gateway/graphql_http.DocumentCache), so this is paid once per new text.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphql import get_introspection_query, parse, specified_rules, validate

from gateway.limits import Limits, depth_errors, shape_errors
from gateway.schema import schema

DOCS = Path(__file__).resolve().parent.parent / "docs" / "queries"
CHAIN = ["nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1, first: 1)", "nodes", "organizer"]
CHAIN += ["groups", "members(first: 1)", "nodes"] * 3


def twelve_levels() -> str:
    inner = "__typename"
    for name in reversed(CHAIN[:11]):
        inner = f"{name} {{ {inner} }}"
    return f"{{ {inner} }}"


def median_us(work: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main(rounds: int) -> None:
    graphql_schema, limits = schema.graphql_schema, Limits()
    documents = {path.name: path.read_text() for path in sorted(DOCS.glob("*.graphql"))}
    documents["introspection"] = get_introspection_query()
    documents["12 levels"] = twelve_levels()
    print(f"median of {rounds} rounds, µs: parse, shape_errors, validation, depth_errors (library), its share")
    shares = []
    for name, text in documents.items():
        document = parse(text)
        assert not shape_errors(document, limits) and not validate(graphql_schema, document, specified_rules)
        assert not depth_errors(graphql_schema, document, limits), name
        parsing = median_us(lambda text=text: parse(text), rounds)
        shape = median_us(lambda document=document: shape_errors(document, limits), rounds)
        valid = median_us(lambda document=document: validate(graphql_schema, document, specified_rules), rounds)
        depth = median_us(lambda document=document: depth_errors(graphql_schema, document, limits), rounds)
        share = depth / (parsing + shape + valid + depth)
        shares.append(share)
        print(f"  {name:24} {parsing:8.0f} {shape:8.0f} {valid:8.0f} {depth:8.0f}  {share:6.1%}")
    print(f"median share of the depth rule in compiling a document: {statistics.median(shares):.1%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=51)
    main(parser.parse_args().rounds)
