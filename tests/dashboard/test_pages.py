"""The dashboard's pages and files, served by the app itself, in production too.

Through the ASGI app with a stand-in install folder, so these hold with or without
`make frontend`; tests/dashboard/test_browser.py renders the real files in Chromium.
"""

from __future__ import annotations

import re

import httpx
import pytest

from app.dashboard.http import OWN_ASSETS

PAGES = ["/dashboard/", "/dashboard/projects/UHJvamVjdDowMTkzYmE0Mi0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"]


@pytest.mark.parametrize("path", PAGES)
async def test_page_loads_every_script_and_stylesheet_from_this_server(installed: httpx.AsyncClient, path: str) -> None:
    response = await installed.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', response.text)
    assert sources, response.text
    assert all(source.startswith("/dashboard/assets/") for source in sources), sources
    for source in sources:
        asset = await installed.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css")), source


async def test_modules_import_only_files_that_are_served(installed: httpx.AsyncClient) -> None:
    for name, media_type in OWN_ASSETS.items():
        if media_type != "text/javascript":
            continue
        module = (await installed.get(f"/dashboard/assets/{name}")).text
        for imported in re.findall(r'from "\./([^"]+)"', module):
            assert imported in OWN_ASSETS, f"{name} imports {imported}, which is not served"


@pytest.mark.parametrize("path", PAGES)
async def test_page_runs_no_inline_script_and_says_so_in_its_policy(installed: httpx.AsyncClient, path: str) -> None:
    response = await installed.get(path)

    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split("; ")
    }
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", response.text, flags=re.S):
        assert "src=" in attributes, attributes
        assert body == "", attributes
    assert " style=" not in response.text


async def test_the_chart_package_is_served_as_installed(installed: httpx.AsyncClient) -> None:
    first = await installed.get("/dashboard/assets/chart.umd.min.js")

    assert first.status_code == 200
    assert first.text == "/* chart.js/dist/chart.umd.min.js */\n"
    assert first.headers["content-type"].startswith("text/javascript")
    again = await installed.get("/dashboard/assets/chart.umd.min.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "name",
    [
        "package.json",
        "home.html",
        "..%2Fhttp.py",
        "chart.js",
        "chart.umd.js",
        "chart.js%2Fdist%2Fchart.umd.min.js",
        "graphiql.min.js",
        "__init__.py",
    ],
)
async def test_only_the_listed_files_are_served(installed: httpx.AsyncClient, name: str) -> None:
    response = await installed.get(f"/dashboard/assets/{name}")

    assert response.status_code == 404


async def test_missing_chart_package_gets_a_page_that_says_how_to_install(not_installed: httpx.AsyncClient) -> None:
    response = await not_installed.get("/dashboard/projects/anything")

    assert response.status_code == 200
    assert "not installed" in response.text
    assert "make frontend" in response.text
    assert "<script" not in response.text
    asset = await not_installed.get("/dashboard/assets/chart.umd.min.js")
    assert asset.status_code == 404
    assert "make frontend" in asset.text


async def test_production_serves_the_dashboard(production: httpx.AsyncClient) -> None:
    page = await production.get("/dashboard/")
    asset = await production.get("/dashboard/assets/project.js")

    assert page.status_code == 200
    assert "Labelgraph dashboard" in page.text
    assert asset.status_code == 200


async def test_the_bare_prefix_leads_to_the_home_page(installed: httpx.AsyncClient) -> None:
    response = await installed.get("/dashboard")

    assert response.status_code == 308
    assert response.headers["location"].endswith("/dashboard/")


async def test_pages_hold_no_data_and_need_no_token(installed: httpx.AsyncClient) -> None:
    """The pages are the same files for everyone, a stale token included: the API decides what shows."""
    anonymous = await installed.get(PAGES[1])
    stale = await installed.get(PAGES[1], headers={"Authorization": "Bearer not-a-token"})

    assert anonymous.status_code == stale.status_code == 200
    assert anonymous.text == stale.text
