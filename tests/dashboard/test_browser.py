"""The dashboard in a real browser, with no network but loopback, on a seeded project.

The real app runs under uvicorn on a free loopback port; Debian's Chromium (/usr/bin/chromium,
never a downloaded browser) is driven by playwright. Every request the pages make to anything but
that server is refused and counted. The project is seeded through the API with known labels,
reviews and gold answers; each chart's numbers (its canvas' data-series and the Chart.js
instance's data) are compared with the answer of the same projectOperations query made here with
httpx, as the signed-in user, for the period the page showed. Screenshots go to
var/artifacts/dashboard-*.png (CI keeps var/artifacts).

Skipped, with the reason, only when Chromium is absent and LABELGRAPH_REQUIRE_BROWSER is unset.
Needs the chart package's files: `make frontend`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from app.auth.models import User
from app.dashboard.http import missing_assets
from app.db import create_engine, session_factory, unit_of_work
from app.main import create_app
from app.settings import Settings
from tests import servers
from tests.conftest import CHEAP_ARGON2, PASSWORD, ROOT, SECRET_KEY, Api, World, build_world, gid
from tests.workflow.flow import claimed, imported, labeled, review, rows, submit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "var" / "artifacts"
# Waits for the page (rendering, a query): generous because the machine is shared; never asserted on.
PATIENCE_MS = 60_000
# Text from the API goes into the page as text: this display name must show as these characters.
MARKUP_NAME = '<img src="x" id="injected"> Ann <b>One</b>'

OPERATIONS = """
query Operations($id: ID!, $from: DateTime, $to: DateTime, $bucketHours: Int) {
  projectOperations(projectId: $id, from: $from, to: $to, bucketHours: $bucketHours) {
    scope from to bucketHours
    throughput { start labels decisions }
    annotators { annotator { username displayName } labels labelsPerHour }
    errors { classes { field value reviewRejections auditOverturns goldMisses } }
    latency { claimToSubmit { count medianSeconds p90Seconds } importToDecision { count medianSeconds p90Seconds } }
    drift { start agreement divergenceFromFirst distribution { field value share } }
    queue { depth stages { status count } }
    attention { annotator { username } reasons }
  }
}
"""
SET_GOLD = """
mutation Gold($input: SetGoldAnswersInput!) { setGoldAnswers(input: $input) { goldItems errors { code field } } }
"""
GOLD_POLICY = """
mutation Policy($input: UpdateGoldPolicyInput!) { updateGoldPolicy(input: $input) { errors { code field } } }
"""
ITEMS = "query($id: ID!) { project(id: $id) { items(first: 50) { nodes { id externalId } } } }"


@dataclass(frozen=True)
class Seeded:
    base_url: str
    project: str  # project A's global id
    world: World


async def seed(settings: Settings, password_hash: str) -> World:
    """Project A with known work: ann1 labels three items (one rejected in review), ann2 misses
    two gold questions and is suspended, three items still wait."""
    world = await build_world(settings, password_hash)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            api = Api(client, application, world)
            project = gid("Project", world.project_a)
            await imported(api, project, rows(6, prefix="work") + rows(2, prefix="gold"))
            nodes = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
            ids = {node["externalId"]: node["id"] for node in nodes}
            answers = [{"itemId": ids[f"gold-{i}"], "value": {"sentiment": "pos"}} for i in range(2)]
            marked = await api.data(SET_GOLD, {"input": {"projectId": project, "answers": answers}}, as_="pm")
            assert marked["setGoldAnswers"] == {"goldItems": 2, "errors": []}

            first = await labeled(api, project, {"sentiment": "pos", "topics": ["price"]}, as_="ann1")
            second = await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
            third = await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
            for label, verdict in ((first, "ACCEPT"), (second, "ACCEPT"), (third, "REJECT")):
                reviewed = await review(api, label["id"], verdict, comment="Reads as positive.")
                assert reviewed["errors"] == [], reviewed

            policy = {"projectId": project, "goldRate": 1.0, "goldFloor": 0.6, "goldMinAnswers": 2, "goldWindow": 3}
            assert (await api.data(GOLD_POLICY, {"input": policy}, as_="pm"))["updateGoldPolicy"]["errors"] == []
            for _ in range(2):  # two gold misses: under the floor, suspended
                task = await claimed(api, project, as_="ann2")
                assert (await submit(api, task["id"], {"sentiment": "neg"}, as_="ann2"))["errors"] == []

    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            await session.execute(update(User).where(User.id == world.id("ann1")).values(display_name=MARKUP_NAME))
    finally:
        await engine.dispose()
    return world


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, password_hash: str) -> Iterator[Seeded]:
    """The real app under uvicorn on 127.0.0.1 (a port the kernel picked), in a thread, on the seeded store."""
    database = tmp_path_factory.mktemp("dashboard") / "dashboard.db"
    shutil.copy(sqlite_template, database)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}", secret_key=SECRET_KEY, **CHEAP_ARGON2)
    missing = missing_assets(settings)
    assert not missing, f"the dashboard's chart files are not installed ({', '.join(missing)}): run `make frontend`"
    world = asyncio.run(seed(settings, password_hash))
    with servers.served(settings) as base_url:
        yield Seeded(base_url, gid("Project", world.project_a), world)


@dataclass
class Watch:
    """What a page did that it should not: reach beyond the server, fail, log errors (CSP included)."""

    refused: list[str]
    page_errors: list[str]
    console_errors: list[str]

    def assert_clean(self) -> None:
        assert self.refused == [], "the page reached beyond this server"
        assert self.page_errors == []
        assert self.console_errors == []


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Browser, seeded: Seeded, *, expected_console: tuple[str, ...] = ()) -> tuple[Page, Watch]:
    from playwright.sync_api import ConsoleMessage, Route

    origin = urlsplit(seeded.base_url).netloc
    watch = Watch([], [], [])

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            watch.refused.append(route.request.url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in expected_console):
            watch.console_errors.append(message.text)

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.route("**/*", only_this_server)
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    return page, watch


def sign_in_form(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def wait_ready(page: Page) -> None:
    page.locator("#main[data-ready]").wait_for(timeout=PATIENCE_MS)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def api_answer(seeded: Seeded, page: Page, username: str) -> dict[str, Any]:
    """The same query the page made, by the same user, for the period the page showed."""
    token = httpx.post(
        f"{seeded.base_url}/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
    ).json()["access_token"]
    shown = page.locator("#operations")
    variables = {
        "id": seeded.project,
        "from": shown.get_attribute("data-from"),
        "to": shown.get_attribute("data-to"),
        "bucketHours": int(shown.get_attribute("data-bucket-hours") or "0"),
    }
    response = httpx.post(
        f"{seeded.base_url}/graphql",
        json={"query": OPERATIONS, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    operations: dict[str, Any] = body["data"]["projectOperations"]
    return operations


def class_name(field: str, value: str) -> str:
    parsed = json.loads(value)
    return f"{field}: {parsed if isinstance(parsed, str) else value}"


def expected_series(ops: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Each chart's datasets as the page must draw them from this answer (charts with nothing to draw left out)."""
    hours = ops["bucketHours"]
    series: dict[str, list[list[Any]]] = {
        "throughput": [
            [bucket["labels"] / hours for bucket in ops["throughput"]],
            [bucket["decisions"] / hours for bucket in ops["throughput"]],
        ],
    }
    if ops["scope"] == "PROJECT" and ops["annotators"]:
        series["annotators"] = [[row["labelsPerHour"] for row in ops["annotators"]]]
    classes = ops["errors"]["classes"]
    if classes:
        series["errors-by-class"] = [
            [row[key] for row in classes] for key in ("reviewRejections", "auditOverturns", "goldMisses")
        ]
    latency = [ops["latency"]["claimToSubmit"], ops["latency"]["importToDecision"]]
    if any(figure["count"] for figure in latency):
        series["latency"] = [[figure[key] for figure in latency] for key in ("medianSeconds", "p90Seconds")]
    drift = ops["drift"]
    if drift:
        series["drift"] = [
            [bucket["agreement"] for bucket in drift],
            [bucket["divergenceFromFirst"] for bucket in drift],
        ]
        names: list[str] = []
        for bucket in drift:
            for share in bucket["distribution"]:
                if class_name(share["field"], share["value"]) not in names:
                    names.append(class_name(share["field"], share["value"]))
        series["distribution"] = [
            [
                next(
                    (s["share"] for s in bucket["distribution"] if class_name(s["field"], s["value"]) == name),
                    0,
                )
                for bucket in drift
            ]
            for name in names
        ]
    if ops["queue"] is not None and ops["queue"]["stages"]:
        series["queue"] = [[stage["count"] for stage in ops["queue"]["stages"]]]
    return series


DRAWN = """
canvases => canvases.map(canvas => {
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) painted++; }
  return {
    name: canvas.closest("figure").dataset.chart,
    series: JSON.parse(canvas.dataset.series),
    instance: chart ? chart.data.datasets.map(dataset => dataset.data) : null,
    labels: chart ? chart.data.labels : null,
    painted,
  };
})
"""


def drawn_charts(page: Page) -> dict[str, dict[str, Any]]:
    charts: list[dict[str, Any]] = page.locator("canvas").evaluate_all(DRAWN)
    return {chart["name"]: chart for chart in charts}


def assert_drawn_from(page: Page, ops: dict[str, Any]) -> dict[str, dict[str, Any]]:
    expected = expected_series(ops)
    charts = drawn_charts(page)
    assert set(charts) == set(expected)
    for name, chart in charts.items():
        assert chart["instance"] is not None, f"{name}: no Chart.js instance on its canvas"
        assert chart["painted"] > 0, f"{name}: the canvas is blank"
        drawn = [dataset["data"] for dataset in chart["series"]["datasets"]]
        assert chart["instance"] == drawn, f"{name}: the chart drew other numbers than its data-series says"
        assert drawn == [pytest.approx(data) for data in expected[name]], name
        assert chart["labels"] == chart["series"]["labels"], name
    assert len(charts["throughput"]["labels"]) == len(ops["throughput"])
    return charts


def test_a_manager_signs_in_and_sees_the_whole_project_drawn_from_the_api(browser: Browser, seeded: Seeded) -> None:
    from playwright.sync_api import expect

    page, watch = open_page(browser, seeded)
    page.goto(f"{seeded.base_url}/dashboard/")
    sign_in_form(page, "pm")
    projects = page.locator("ul.projects")
    expect(projects).to_contain_text("Project A")
    expect(projects).not_to_contain_text("Project B")
    expect(page.locator("#who")).to_have_text("Signed in as pm")
    screenshot(page, "home")

    page.get_by_role("link", name="Project A").click()
    wait_ready(page)
    assert page.url.endswith(f"/dashboard/projects/{seeded.project}")
    assert page.locator("#operations").get_attribute("data-scope") == "PROJECT"
    for panel in ("throughput", "errors", "latency", "drift", "queue", "attention"):
        expect(page.locator(f"#panel-{panel}")).to_be_visible()
    ops = api_answer(seeded, page, "pm")
    charts = assert_drawn_from(page, ops)
    assert {"throughput", "annotators", "errors-by-class", "latency", "drift", "distribution", "queue"} <= set(charts)

    # The seeded work, as the API counts it and the page shows it: ann1's three labels among them.
    labels = {row["annotator"]["username"]: row["labels"] for row in ops["annotators"]}
    assert labels["ann1"] == 3
    expect(page.locator("[data-figure=labels] dd")).to_have_text(str(sum(b["labels"] for b in ops["throughput"])))
    annotators = page.get_by_role("table", name="Per annotator")
    ann1_row = annotators.locator("tbody tr", has_text=MARKUP_NAME)
    expect(ann1_row.locator("td").nth(1)).to_have_text("3")
    expect(annotators.locator("tbody tr")).to_have_count(len(ops["annotators"]))
    assert page.locator("#injected").count() == 0, "API text became markup"
    attention = page.get_by_role("table", name="Needs attention")
    expect(attention).to_contain_text("Ann2")
    expect(attention).to_contain_text("suspended")
    expect(page.locator("[data-figure=queue-depth] dd")).to_have_text(str(ops["queue"]["depth"]))
    screenshot(page, "project-manager")

    # The period picker asks for another window and redraws from that answer.
    for period, bucket_hours in (("24h", 1), ("30d", 24)):
        page.get_by_role("link", name={"24h": "Last 24 h", "30d": "Last 30 days"}[period]).click()
        wait_ready(page)
        assert page.url.endswith(f"?period={period}")
        assert page.locator("#operations").get_attribute("data-bucket-hours") == str(bucket_hours)
        assert_drawn_from(page, api_answer(seeded, page, "pm"))
    watch.assert_clean()


def test_an_annotator_sees_only_its_own_figures(browser: Browser, seeded: Seeded) -> None:
    from playwright.sync_api import expect

    page, watch = open_page(browser, seeded)
    page.goto(f"{seeded.base_url}/dashboard/projects/{seeded.project}")
    sign_in_form(page, "ann1")
    wait_ready(page)

    assert page.locator("#operations").get_attribute("data-scope") == "SELF"
    expect(page.locator("#scope")).to_have_text("Your figures only")
    assert page.locator("#panel-queue").count() == 0
    assert page.locator("#panel-attention").count() == 0
    ops = api_answer(seeded, page, "ann1")
    assert ops["scope"] == "SELF"
    assert [row["annotator"]["username"] for row in ops["annotators"]] == ["ann1"]
    charts = assert_drawn_from(page, ops)
    assert "queue" not in charts
    assert "annotators" not in charts
    rows_shown = page.get_by_role("table", name="Your figures").locator("tbody tr")
    expect(rows_shown).to_have_count(1)
    expect(rows_shown).to_contain_text(MARKUP_NAME)
    expect(page.locator("[data-figure=labels] dd")).to_have_text("3")
    expect(page.locator("#main")).not_to_contain_text("Ann2")
    screenshot(page, "project-annotator")
    watch.assert_clean()


@pytest.mark.parametrize("username", ["pm_b", "outsider"])
def test_someone_without_a_role_in_the_project_sees_not_found_and_nothing_else(
    browser: Browser, seeded: Seeded, username: str
) -> None:
    from playwright.sync_api import expect

    page, watch = open_page(browser, seeded)
    page.goto(f"{seeded.base_url}/dashboard/projects/{seeded.project}")
    sign_in_form(page, username)

    expect(page.locator("#not-found")).to_be_visible(timeout=PATIENCE_MS)
    expect(page.locator("h1")).to_have_text("Not found")
    assert page.locator("#operations").count() == 0
    assert page.locator("canvas").count() == 0
    expect(page.locator("#main")).not_to_contain_text("Project A")
    screenshot(page, f"not-found-{username}")
    watch.assert_clean()


def test_a_role_without_operations_figures_is_told_so(browser: Browser, seeded: Seeded) -> None:
    """An expert reads the project but not its operations: the API says FORBIDDEN, the page says why."""
    from playwright.sync_api import expect

    page, watch = open_page(browser, seeded)
    page.goto(f"{seeded.base_url}/dashboard/projects/{seeded.project}")
    sign_in_form(page, "expert")
    wait_ready(page)

    expect(page.locator("h1")).to_have_text("Project A")
    expect(page.locator("#no-figures")).to_have_text("Your role in this project has no operations figures to show.")
    assert page.locator("#operations").count() == 0
    assert page.locator("canvas").count() == 0
    watch.assert_clean()


def test_an_expired_access_token_is_refreshed_and_sign_out_ends_the_sign_in(browser: Browser, seeded: Seeded) -> None:
    from playwright.sync_api import expect

    # The broken token's 401 is the one error expected in the console.
    page, watch = open_page(browser, seeded, expected_console=("401",))
    page.goto(f"{seeded.base_url}/dashboard/")
    sign_in_form(page, "pm")
    expect(page.locator("ul.projects")).to_contain_text("Project A")
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('labelgraph.dashboard.tokens'))")

    # A token the server no longer takes: the page trades the refresh token for a new pair.
    page.evaluate(
        "() => { const t = JSON.parse(sessionStorage.getItem('labelgraph.dashboard.tokens'));"
        " t.access = 'expired'; sessionStorage.setItem('labelgraph.dashboard.tokens', JSON.stringify(t)); }"
    )
    page.reload()
    expect(page.locator("ul.projects")).to_contain_text("Project A")
    renewed = page.evaluate("() => JSON.parse(sessionStorage.getItem('labelgraph.dashboard.tokens'))")
    assert renewed["refresh"] != stored["refresh"], "the refresh token rotates on use"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('labelgraph.dashboard.tokens')") is None
    # Signed out on the server too: the last refresh token is revoked.
    refused = httpx.post(
        f"{seeded.base_url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": renewed["refresh"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    watch.assert_clean()


def test_a_wrong_password_is_said_on_the_form(browser: Browser, seeded: Seeded) -> None:
    from playwright.sync_api import expect

    page, watch = open_page(browser, seeded, expected_console=("400",))
    page.goto(f"{seeded.base_url}/dashboard/")
    page.get_by_label("Username").fill("pm")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    watch.assert_clean()


def test_a_chart_package_that_does_not_load_is_reported(browser: Browser, seeded: Seeded) -> None:
    from playwright.sync_api import Route, expect

    page, _ = open_page(browser, seeded)

    def without_chart(route: Route) -> None:
        if route.request.url.endswith("/chart.umd.min.js"):
            route.fulfill(status=404, body="gone")
        else:
            route.continue_()

    page.route("**/*", without_chart)
    page.goto(f"{seeded.base_url}/dashboard/projects/{seeded.project}")
    sign_in_form(page, "pm")

    problem = page.locator("#main .problem")
    expect(problem).to_contain_text("Chart.js did not load", timeout=PATIENCE_MS)
    expect(problem).to_contain_text("make frontend")
