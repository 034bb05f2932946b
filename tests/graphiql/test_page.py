"""The GraphiQL page and its files, served by the app itself (no CDN), outside production only.

These run through the ASGI app with a stand-in install folder, so they hold with or without
`make frontend`; tests/graphiql/test_browser.py renders the real files in Chromium.
"""

from __future__ import annotations

import re

import httpx
import pytest

HTML = {"Accept": "text/html"}


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
