"""Clients of the app over a stand-in for frontend/node_modules, for the tests of the pages that
serve npm-installed files (GraphiQL, the dashboard): they hold with or without `make frontend`.
The stand-in holds every file either page lists, each holding its own name."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.dashboard.http import INSTALLED_ASSETS as DASHBOARD_FILES
from app.graphiql import INSTALLED_ASSETS as GRAPHIQL_FILES
from app.main import create_app
from app.settings import Settings


def stand_in_install(root: Path) -> Path:
    """A folder laid out like frontend/node_modules, each file holding its own name."""
    for relative in {**GRAPHIQL_FILES, **DASHBOARD_FILES}.values():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {relative} */\n")
    return root


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def installed(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    assets = stand_in_install(tmp_path / "node_modules")
    async for client in client_for(dataclasses.replace(settings, graphiql_assets=assets)):
        yield client


@pytest.fixture
async def not_installed(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(dataclasses.replace(settings, graphiql_assets=tmp_path / "absent")):
        yield client


@pytest.fixture
async def production(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    assets = stand_in_install(tmp_path / "node_modules")
    async for client in client_for(
        dataclasses.replace(settings, production=True, graphiql=False, graphiql_assets=assets)
    ):
        yield client
