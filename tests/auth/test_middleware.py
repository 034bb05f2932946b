"""One authentication path: the same bearer checks, and the same 401, on every route that needs a caller.

The downloads (export, guideline Markdown) refuse every forged or stale token of test_bearer
exactly as /graphql does; the open routes (/auth/token, /healthz) need no token and are not
blocked by a bad one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from app.auth.models import User
from app.db import unit_of_work
from tests.auth.test_bearer import BAD_TOKENS, assert_unauthenticated
from tests.conftest import Api, gid

VIEWER = {"query": "{ viewer { username } }"}


def download_urls(api: Api) -> list[str]:
    project = gid("Project", api.world.project_a)
    return [f"/export/{project}.jsonl", f"/export/{project}/parquet", f"/guidelines/{project}/1.md"]


@pytest.mark.parametrize("forge", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_downloads_refuse_bad_tokens_like_graphql(api: Api, forge: Callable[[Api], str]) -> None:
    headers = {"Authorization": f"Bearer {forge(api)}"}
    graphql = await api.client.post("/graphql", json=VIEWER, headers=headers)

    for url in download_urls(api):
        response = await api.client.get(url, headers=headers)
        assert_unauthenticated(response)
        assert response.json() == graphql.json()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YW5uMTpwdw=="}, {"Authorization": "Bearer"}],
    ids=["none", "basic", "empty"],
)
async def test_downloads_need_a_bearer_token(api: Api, headers: dict[str, str]) -> None:
    for url in download_urls(api):
        assert_unauthenticated(await api.client.get(url, headers=headers))


async def test_downloads_serve_a_valid_token(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.token('pm')}"}

    for url in download_urls(api):
        response = await api.client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}], ids=["no token", "bad token"])
async def test_health_is_open(api: Api, headers: dict[str, str]) -> None:
    response = await api.client.get("/healthz", headers=headers)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_the_caller_is_resolved_once_per_request(api: Api) -> None:
    # A query touching the viewer twice still sees one caller, the token's.
    token = api.token("reviewer")
    response = await api.client.post(
        "/graphql",
        json={"query": "{ a: viewer { username } b: viewer { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    assert response.json()["data"] == {
        "a": {"username": "reviewer"},
        "b": {"id": gid("User", api.world.id("reviewer"))},
    }


async def test_a_token_for_a_user_deactivated_meanwhile_is_refused_on_downloads(api: Api) -> None:
    token = api.token("pm_b")  # not looked up yet in this app: no cached identity
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(User).where(User.username == "pm_b").values(is_active=False))
    project = gid("Project", api.world.project_b)

    response = await api.client.get(f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {token}"})

    assert_unauthenticated(response)
