"""CORS: browsers on the listed origins may call the API; everyone else gets no CORS headers.

Real preflights (OPTIONS with Origin and Access-Control-Request-*) through the ASGI app. A
preflight carries no token (browsers never send one on OPTIONS), so it must not need one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, World

ALLOWED = "https://label.example.com"
OTHER = "https://evil.example"
VIEWER = {"query": "{ viewer { username } }"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.fixture
async def cors_api(settings: Settings, world: World) -> AsyncIterator[Api]:
    application = create_app(dataclasses.replace(settings, cors_origins=(ALLOWED, "http://localhost:5173")))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, application, world)


async def test_preflight_from_an_allowed_origin_is_answered_without_a_token(cors_api: Api) -> None:
    response = await cors_api.client.options("/graphql", headers=preflight_headers(ALLOWED))

    assert response.status_code == 200, response.text
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == ALLOWED
    assert {m.strip() for m in headers["access-control-allow-methods"].split(",")} == {"GET", "POST", "OPTIONS"}
    allowed_headers = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    assert "access-control-allow-credentials" not in headers  # bearer tokens, not cookies


async def test_preflight_from_an_unlisted_origin_gets_no_allowance(cors_api: Api) -> None:
    response = await cors_api.client.options("/graphql", headers=preflight_headers(OTHER))

    assert response.status_code == 400
    assert cors_headers(response) == {}


async def test_actual_requests_from_an_allowed_origin_are_marked(cors_api: Api) -> None:
    ok = await cors_api.client.post(
        "/graphql", json=VIEWER, headers={"Origin": ALLOWED, "Authorization": f"Bearer {cors_api.token('ann1')}"}
    )
    # A refusal must be readable by the page too, or it cannot tell the user to sign in again.
    refused = await cors_api.client.post("/graphql", json=VIEWER, headers={"Origin": ALLOWED})

    assert ok.status_code == 200
    assert ok.json() == {"data": {"viewer": {"username": "ann1"}}}
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ALLOWED


async def test_actual_requests_from_an_unlisted_origin_are_not_marked(cors_api: Api) -> None:
    response = await cors_api.client.post(
        "/graphql", json=VIEWER, headers={"Origin": OTHER, "Authorization": f"Bearer {cors_api.token('ann1')}"}
    )

    assert response.status_code == 200  # CORS is the browser's check; the server still serves
    assert cors_headers(response) == {}


async def test_without_configured_origins_there_are_no_cors_headers(api: Api) -> None:
    preflight = await api.client.options("/graphql", headers=preflight_headers(ALLOWED))
    actual = await api.client.post(
        "/graphql", json=VIEWER, headers={"Origin": ALLOWED, "Authorization": f"Bearer {api.token('ann1')}"}
    )

    assert preflight.status_code == 405
    assert cors_headers(preflight) == {}
    assert actual.status_code == 200
    assert cors_headers(actual) == {}


def test_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELGRAPH_SECRET_KEY", "k" * 64)
    monkeypatch.setenv("LABELGRAPH_CORS_ORIGINS", " https://label.example.com, http://localhost:5173 ,")

    assert Settings.from_env().cors_origins == ("https://label.example.com", "http://localhost:5173")

    monkeypatch.delenv("LABELGRAPH_CORS_ORIGINS")
    assert Settings.from_env().cors_origins == ()


@pytest.mark.parametrize("value", ["https://label.example.com/", "label.example.com", "https://a.example/app"])
def test_a_malformed_origin_stops_the_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # A trailing slash or a path never matches a browser's Origin: say so instead of failing silently.
    monkeypatch.setenv("LABELGRAPH_SECRET_KEY", "k" * 64)
    monkeypatch.setenv("LABELGRAPH_CORS_ORIGINS", value)

    with pytest.raises(RuntimeError, match="is not an origin"):
        Settings.from_env()
