"""Print the schema as SDL: ``python -m gateway.export_schema > schema.graphql``."""

from __future__ import annotations

from graphql import print_schema

from .schema.assemble import schema


def sdl() -> str:
    return print_schema(schema.graphql_schema).rstrip() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
