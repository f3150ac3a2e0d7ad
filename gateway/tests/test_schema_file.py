from pathlib import Path

from gateway.export_schema import sdl
from gateway.schema.assemble import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_checked_in_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == sdl(), "schema.graphql is stale: run `make schema` and commit it"


def test_schema_follows_the_conventions_front_ends_rely_on():
    text = sdl()
    assert "type Outing implements Node" in text
    outing_create = schema.graphql_schema.mutation_type.fields["outingCreate"]
    assert str(outing_create.args["input"].type) == "OutingCreateInput!"
    assert str(outing_create.type) == "OutingCreatePayload"
    for field in ("edges: [OutingEdge!]!", "nodes: [Outing!]!", "pageInfo: PageInfo!", "totalCount: Int!"):
        assert field in text
