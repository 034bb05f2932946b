"""GraphiQL in a real browser, with no network but loopback: the page renders and runs a query.

The real app runs under uvicorn on a free loopback port, seeded with the test world; Debian's
Chromium (/usr/bin/chromium, never a downloaded browser) is driven by playwright. Every request
the page makes to anything but that server is refused and counted. The screenshot goes to
var/artifacts/graphiql.png.

Skipped, with the reason, only when Chromium is absent and LABELGRAPH_REQUIRE_BROWSER is unset
(`.ci/run` sets it). Needs GraphiQL's files: `make frontend` (make test does it).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.graphiql import missing_assets
from app.settings import Settings
from tests import servers
from tests.conftest import CHEAP_ARGON2, ROOT, SECRET_KEY, build_world

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "var" / "artifacts" / "graphiql.png"
# Waits for the page (rendering, a query): generous because the machine is shared; never asserted on.
PATIENCE_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, password_hash: str) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1 (a port the kernel picked), in a thread; its base URL."""
    database = tmp_path_factory.mktemp("browser") / "browser.db"
    shutil.copy(sqlite_template, database)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}", secret_key=SECRET_KEY, **CHEAP_ARGON2)
    missing = missing_assets(settings)
    assert not missing, f"GraphiQL's files are not installed ({', '.join(missing)}): run `make frontend`"
    asyncio.run(build_world(settings, password_hash))
    with servers.served(settings) as base_url:
        yield base_url


def test_graphiql_renders_offline_and_runs_a_query_with_the_bearer_token(chromium: Path, server: str) -> None:
    from playwright.sync_api import ConsoleMessage, Route, expect, sync_playwright

    token = servers.sign_in(server, "ann1")
    origin = urlsplit(server).netloc
    refused: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        # The first schema fetch goes out with the pre-filled placeholder token: its 401 is expected.
        if message.type == "error" and "401" not in message.text:
            console_errors.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.route("**/*", only_this_server)
            page = context.new_page()
            page.set_default_timeout(PATIENCE_MS)
            page.on("console", on_console)
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            page.goto(f"{server}/graphql")

            query_editor = page.get_by_role("region", name="Query Editor").locator(".CodeMirror")
            headers_editor = page.get_by_role("region", name="Headers").locator(
                ".graphiql-editor:not(.hidden) .CodeMirror"
            )
            expect(query_editor).to_be_visible(timeout=PATIENCE_MS)
            expect(headers_editor).to_be_visible(timeout=PATIENCE_MS)
            expect(headers_editor).to_contain_text('"Authorization": "Bearer ')

            # Paste the header and the query as a user would (insert_text is a paste: no auto-closed brackets).
            headers_editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))
            # The schema loads again with the pasted token: the docs show the API's root types.
            page.get_by_role("button", name="Show Documentation Explorer").click()
            docs = page.locator(".graphiql-doc-explorer")
            expect(docs).to_contain_text("Root Types", timeout=PATIENCE_MS)
            expect(docs).to_contain_text("query: Query")

            query_editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text("{ viewer { username } }")
            page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()

            result = page.get_by_role("region", name="Result Window")
            expect(result).to_contain_text('"username": "ann1"', timeout=PATIENCE_MS)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()

    assert refused == [], "the page reached beyond this server"
    assert page_errors == []
    assert console_errors == []


def test_a_script_that_does_not_load_is_reported_instead_of_loading_forever(chromium: Path, server: str) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    def without_graphiql(route: Route) -> None:
        if route.request.url.endswith("/graphiql.min.js"):
            route.fulfill(status=404, body="gone")
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = browser.new_page()
            page.route("**/*", without_graphiql)
            page.goto(f"{server}/graphql")

            problem = page.locator("#graphiql .lg-problem")
            expect(problem).to_contain_text("GraphiQL could not start: GraphiQL did not load", timeout=PATIENCE_MS)
            expect(problem).to_contain_text("make frontend")
            expect(page.get_by_text("Loading GraphiQL")).to_have_count(0)
        finally:
            browser.close()
