"""Partial results: a field the caller may not read is null with the error on its path only.

The annotator's first screen as a UI team wrote it: who am I, and my projects with their counts.
An annotator may not read item counts, and before this rule one FORBIDDEN field nulled the whole
response, `viewer` included.
"""

from __future__ import annotations

from tests.conftest import Api, gid

FIRST_SCREEN = "{ viewer { username } projects { nodes { name itemCounts { total } } } }"


async def test_a_forbidden_field_nulls_only_itself(api: Api) -> None:
    body = await api.gql(FIRST_SCREEN, as_="ann1")

    assert body["data"] == {
        "viewer": {"username": "ann1"},
        "projects": {"nodes": [{"name": "Project A", "itemCounts": None}]},
    }
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"] == ["projects", "nodes", 0, "itemCounts"]


async def test_the_same_screen_is_whole_for_a_reviewer(api: Api) -> None:
    data = await api.data(FIRST_SCREEN, as_="reviewer")

    assert data == {
        "viewer": {"username": "reviewer"},
        "projects": {"nodes": [{"name": "Project A", "itemCounts": {"total": 0}}]},
    }


MIXED = """
query Mixed($p: ID!) {
  viewer { username }
  users(first: 5) { nodes { username } }
  project(id: $p) { name labelSchemaVersions { nodes { version } } labelSchema { version } }
}
"""


async def test_each_refused_field_has_its_own_error_and_the_rest_stands(api: Api) -> None:
    body = await api.gql(MIXED, {"p": gid("Project", api.world.project_a)}, as_="ann1")

    assert body["data"] == {
        "viewer": {"username": "ann1"},
        "users": None,
        "project": {"name": "Project A", "labelSchemaVersions": None, "labelSchema": {"version": 1}},
    }
    assert sorted((tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]) == [
        (("project", "labelSchemaVersions"), "FORBIDDEN"),
        (("users",), "FORBIDDEN"),
    ]
