"""The custom scalars as generated clients see them: described and tied to their specifications
with @specifiedBy (DateTime: RFC 3339, JSON: ECMA-404), and values that still round-trip: a
DateTime the API sends is an RFC 3339 string that, sent back, means the same instant; JSON comes
back as it went in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from graphql import GraphQLScalarType
from graphql import build_schema as schema_from_sdl
from sqlmodel import select

from app.projects.models import Project as ProjectRow
from app.schema import build_schema
from app.settings import Settings
from tests.conftest import SCHEMA, Api, gid
from tests.security import IMPORT

RFC_3339 = "https://datatracker.ietf.org/doc/html/rfc3339"
ECMA_404 = "https://www.ecma-international.org/publications-and-standards/standards/ecma-404/"
# RFC 3339 section 5.6 date-time, with the offset it requires.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
AUDIT = """
query Audit($since: DateTime, $until: DateTime) {
  auditEvents(first: 100, since: $since, until: $until) { nodes { action occurredAt } }
}
"""


@pytest.mark.parametrize(("name", "url", "mentions"), [("DateTime", RFC_3339, "RFC 3339"), ("JSON", ECMA_404, "JSON")])
def test_the_sdl_describes_each_custom_scalar_and_names_its_specification(name: str, url: str, mentions: str) -> None:
    sdl = build_schema(Settings()).as_str()

    lines = sdl.splitlines()
    declaration = f'scalar {name} @specifiedBy(url: "{url}")'
    assert declaration in lines, f"no `{declaration}` in the SDL"
    # Right above it, its description: a block string, or a one-line string.
    above = lines[lines.index(declaration) - 1]
    assert above == '"""' or (above.startswith('"""') and above.endswith('"""') and len(above) > 6), above
    # What codegen tools read from the SDL (or introspection) says the same.
    scalar = schema_from_sdl(sdl).get_type(name)
    assert isinstance(scalar, GraphQLScalarType)
    assert scalar.specified_by_url == url
    assert scalar.description is not None
    assert mentions in scalar.description


async def test_datetimes_go_out_as_rfc_3339_and_come_back_as_the_same_instant(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    session = await api.session()
    async with session:
        stored = (await session.scalars(select(ProjectRow).where(ProjectRow.id == api.world.project_a))).one()

    data = await api.data(
        "query P($id: ID!) { project(id: $id) { createdAt labelSchema { createdAt definition } } }",
        {"id": project},
        as_="admin",
    )

    created = data["project"]["createdAt"]
    assert DATE_TIME.match(created), created
    assert created == stored.created_at.isoformat()
    assert datetime.fromisoformat(created) == stored.created_at
    assert data["project"]["labelSchema"]["definition"] == SCHEMA
    assert DATE_TIME.match(data["project"]["labelSchema"]["createdAt"])

    # An event to filter on: its time, sent back as given, bounds the filter where it should.
    items = {"projectId": project, "items": [{"externalId": "x-1", "data": {"text": "x"}}]}
    imported = (await api.data(IMPORT, {"input": items}, as_="pm"))["importItems"]
    assert imported["errors"] == []
    events = (await api.data(AUDIT, {}, as_="admin"))["auditEvents"]["nodes"]
    event = next(e for e in events if e["action"] == "item.import")
    at = event["occurredAt"]
    assert DATE_TIME.match(at), at

    def actions(body: dict[str, Any]) -> list[str]:
        return [e["action"] for e in body["auditEvents"]["nodes"]]

    assert "item.import" in actions(await api.data(AUDIT, {"since": at}, as_="admin"))
    assert "item.import" not in actions(await api.data(AUDIT, {"until": at}, as_="admin"))
    # The same instant in "Z" form and at another offset selects the same events.
    instant = datetime.fromisoformat(at)
    zulu = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elsewhere = instant.astimezone(timezone(timedelta(hours=-5))).isoformat()
    for spelled in (zulu, elsewhere):
        assert "item.import" in actions(await api.data(AUDIT, {"since": spelled}, as_="admin")), spelled
        assert "item.import" not in actions(await api.data(AUDIT, {"until": spelled}, as_="admin")), spelled


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (AUDIT, {"since": "2026-01-31T09:30:00"}),
        (AUDIT, {"since": "2026-01-31"}),
        (AUDIT, {"since": 1769851800}),
        ('{ auditEvents(until: "2026-01-31T09:30:00") { nodes { action } } }', None),
    ],
    ids=["variable-without-offset", "variable-date-only", "variable-number", "literal-without-offset"],
)
async def test_a_datetime_without_an_offset_is_a_clear_input_error(
    api: Api, document: str, variables: dict[str, Any] | None
) -> None:
    response = await api.raw(document, variables, as_="admin")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    messages = [e["message"] for e in body["errors"]]
    assert all("DateTime" in m and "offset" in m for m in messages), messages
    assert all(e["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED") for e in body["errors"])


async def test_json_comes_back_as_it_went_in(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    data_in = {"text": "naïve café ✓", "n": 1.5, "big": 2**53 - 1, "none": None, "nested": [{"ok": True}, [], {}]}
    items = {"projectId": project, "items": [{"externalId": "json-1", "data": data_in}]}
    imported = (await api.data(IMPORT, {"input": items}, as_="pm"))["importItems"]
    assert imported["errors"] == []

    data = await api.data(
        "query P($id: ID!) { project(id: $id) { items { nodes { externalId data } } } }", {"id": project}, as_="pm"
    )

    assert data["project"]["items"]["nodes"] == [{"externalId": "json-1", "data": data_in}]
