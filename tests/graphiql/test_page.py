"""The GraphiQL page and its files, served by the app itself (no CDN), outside production only.

These run through the ASGI app with a stand-in install folder, so they hold with or without
`make frontend`; tests/graphiql/test_browser.py renders the real files in Chromium.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.graphiql import INSTALLED_ASSETS
from app.main import create_app
from app.settings import Settings

HTML = {"Accept": "text/html"}


def stand_in_install(root: Path) -> Path:
    """A folder laid out like frontend/node_modules, each file holding its own name."""
    for relative in INSTALLED_ASSETS.values():
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


async def test_page_loads_every_script_and_stylesheet_from_this_server(installed: httpx.AsyncClient) -> None:
    response = await installed.get("/graphql", headers=HTML)

    assert response.status_code == 200
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', response.text)
    assert sources, response.text
    assert all(source.startswith("/graphiql/assets/") for source in sources), sources
    for source in sources:
        asset = await installed.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css")), source
    assert "cdn" not in response.text.lower()


async def test_page_runs_no_inline_script_and_says_so_in_its_policy(installed: httpx.AsyncClient) -> None:
    response = await installed.get("/graphql", headers=HTML)

    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split("; ")
    }
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    # Every <script> element either loads a file or is inert JSON data.
    for attributes in re.findall(r"<script([^>]*)>", response.text):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes


async def test_page_prefills_the_authorization_header_for_the_headers_tab(installed: httpx.AsyncClient) -> None:
    response = await installed.get("/graphql", headers=HTML)

    assert '\\"Authorization\\": \\"Bearer ' in response.text


async def test_installed_file_is_served_as_installed(installed: httpx.AsyncClient) -> None:
    response = await installed.get("/graphiql/assets/graphiql.min.js")

    assert response.status_code == 200
    assert response.text == "/* graphiql/graphiql.min.js */\n"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unchanged_file_is_not_sent_again(installed: httpx.AsyncClient) -> None:
    first = await installed.get("/graphiql/assets/react.production.min.js")

    again = await installed.get(
        "/graphiql/assets/react.production.min.js", headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "name", ["package.json", "..%2Fpackage.json", "graphiql%2Fpackage.json", "graphiql.js", "react.development.js"]
)
async def test_only_the_listed_files_are_served(installed: httpx.AsyncClient, name: str) -> None:
    response = await installed.get(f"/graphiql/assets/{name}")

    assert response.status_code == 404


async def test_missing_install_gets_a_page_that_says_how_to_install(not_installed: httpx.AsyncClient) -> None:
    response = await not_installed.get("/graphql", headers=HTML)

    assert response.status_code == 200
    assert "GraphiQL is not installed" in response.text
    assert "make frontend" in response.text
    assert "<script" not in response.text
    asset = await not_installed.get("/graphiql/assets/graphiql.min.js")
    assert asset.status_code == 404
    assert "make frontend" in asset.text


async def test_production_serves_neither_the_page_nor_its_files(production: httpx.AsyncClient) -> None:
    page = await production.get("/graphql", headers=HTML)
    asset = await production.get("/graphiql/assets/graphiql.min.js")

    assert page.status_code == 401
    assert asset.status_code == 404
