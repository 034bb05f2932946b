"""Request limits: depth, aliases, tokens, mutations per document, page size and body size.

Each limit answers with a readable error and runs nothing; none of them is ever a 500.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, World, gid

ITEM = {"externalId": "doc-1", "data": {"text": "fine"}}


def messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


async def test_the_deepest_real_query_is_within_the_depth_limit(api: Api) -> None:
    # Ten levels: as deep as the schema goes today.
    query = """
      { projects { edges { node { items(first: 5) { edges { node {
          finalLabel { review { reviewer { username } } }
      } } } } } } }
    """
    await api.data(query, as_="admin")


async def test_over_deep_query_is_refused(api: Api) -> None:
    # No path in today's schema is deeper than ten, so an over-deep document is also invalid;
    # the depth limit must still be named, as it will be once the schema grows cycles.
    query = "{ viewer " + "{ roles " * 13 + "{ role }" + " }" * 13 + " }"

    body = await api.gql(query, as_="ann1")

    assert "data" not in body or body["data"] is None
    assert "'anonymous' exceeds maximum operation depth of 12" in messages(body)


async def test_thirty_aliases_pass_and_thirty_one_are_refused(api: Api) -> None:
    def aliased(n: int) -> str:
        return "{ " + " ".join(f"v{i}: viewer {{ username }}" for i in range(n)) + " }"

    assert len(await api.data(aliased(30), as_="ann1")) == 30

    body = await api.gql(aliased(31), as_="ann1")
    assert body.get("data") is None
    assert any("aliases" in m and "30" in m for m in messages(body)), body


async def test_too_many_tokens_are_refused_before_parsing_completes(api: Api) -> None:
    query = "{ viewer { " + "username " * 3000 + "} }"

    response = await api.raw(query, as_="ann1")

    # GraphQL-over-HTTP (application/json): a document error is still a 200 with errors.
    assert response.status_code == 200, response.text
    assert messages(response.json()) == ["Syntax Error: Document contains more than 3000 tokens. Parsing aborted."]


async def test_more_than_five_mutations_in_one_document_write_nothing(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    imported = await api.data(
        "mutation ($input: ImportItemsInput!) { importItems(input: $input) { importedCount errors { code } } }",
        {"input": {"projectId": project, "items": [ITEM]}},
        as_="pm",
    )
    assert imported["importItems"] == {"importedCount": 1, "errors": []}
    claims = " ".join(
        f'c{i}: claimNextTask(input: {{projectId: "{project}"}}) {{ resumed errors {{ code }} }}' for i in range(6)
    )

    body = await api.gql(f"mutation {{ {claims} }}", as_="ann1")

    assert body.get("data") is None
    assert messages(body) == ["At most 5 mutations per request."]
    # Had any of the six run, this claim would resume it.
    claim = await api.data(
        "mutation ($p: ID!) { claimNextTask(input: {projectId: $p}) { resumed errors { code } } }",
        {"p": project},
        as_="ann1",
    )
    assert claim["claimNextTask"] == {"resumed": False, "errors": []}


async def test_five_mutations_in_one_document_run(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    claims = " ".join(
        f'c{i}: claimNextTask(input: {{projectId: "{project}"}}) {{ errors {{ code }} }}' for i in range(5)
    )

    data = await api.data(f"mutation {{ {claims} }}", as_="ann1")

    # Nothing is queued, so each says so: they ran.
    assert [data[f"c{i}"]["errors"] for i in range(5)] == [[{"code": "QUEUE_EMPTY"}]] * 5


CONNECTIONS = {
    "projects": "query ($n: Int!) { projects(first: $n) { nodes { id } } }",
    "project.items": "query ($n: Int!, $p: ID!) { project(id: $p) { items(first: $n) { nodes { id } } } }",
    "users": "query ($n: Int!) { users(first: $n) { nodes { id } } }",
    "auditEvents": "query ($n: Int!) { auditEvents(first: $n) { nodes { sequence } } }",
}


@pytest.mark.parametrize("query", CONNECTIONS.values(), ids=CONNECTIONS.keys())
@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_outside_one_to_a_hundred_is_bad_input(api: Api, query: str, first: int) -> None:
    variables = {"n": first, "p": gid("Project", api.world.project_a)}
    if "$p" not in query:
        del variables["p"]

    body = await api.gql(query, variables, as_="admin")

    # The error nulls the connection (a nullable field) and nothing else: no partial page.
    assert body["data"] in ({"project": {"items": None}}, {"users": None}, {"auditEvents": None}, {"projects": None})
    assert [e["message"] for e in body["errors"]] == ["'first' must lie within 1..100."]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("query", CONNECTIONS.values(), ids=CONNECTIONS.keys())
async def test_a_page_of_a_hundred_is_allowed(api: Api, query: str) -> None:
    variables = {"n": 100, "p": gid("Project", api.world.project_a)}
    if "$p" not in query:
        del variables["p"]
    await api.data(query, variables, as_="admin")


MAX_BODY = 2048


@pytest.fixture
async def small_body_api(settings: Settings, world: World) -> AsyncIterator[Api]:
    """The app with a 2 KiB request-body limit, over the same world."""
    application = create_app(dataclasses.replace(settings, max_body_bytes=MAX_BODY))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, application, world)


def padded_query(size: int) -> bytes:
    # A real query, padded with a comment to the wanted size.
    query = "{ viewer { username } }\n#"
    return ('{"query": "' + query.replace("\n", "\\n") + "x" * size + '"}').encode()


async def test_body_within_the_limit_is_served(small_body_api: Api) -> None:
    response = await small_body_api.client.post(
        "/graphql",
        content=padded_query(MAX_BODY // 2),
        headers={"Authorization": f"Bearer {small_body_api.token('ann1')}", "Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"viewer": {"username": "ann1"}}}


async def test_body_over_the_limit_is_413(small_body_api: Api) -> None:
    response = await small_body_api.client.post(
        "/graphql",
        content=padded_query(MAX_BODY * 2),
        headers={"Authorization": f"Bearer {small_body_api.token('ann1')}", "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert messages(response.json()) == ["Request body too large."]


async def test_chunked_body_over_the_limit_is_413(small_body_api: Api) -> None:
    body = padded_query(MAX_BODY * 2)

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the size is known only once read.
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    response = await small_body_api.client.post(
        "/graphql",
        content=chunks(),
        headers={"Authorization": f"Bearer {small_body_api.token('ann1')}", "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert messages(response.json()) == ["Request body too large."]
