"""GET /dashboard/ (sign-in, project list) and /dashboard/projects/{project} (one project's operations).

The pages are static files of ours (app/dashboard/static/: HTML, plain ES modules, CSS; no build
step) plus Chart.js from the npm install folder (`make frontend`, frontend/package-lock.json),
the same folder GraphiQL's files come from. They hold no data: the scripts sign in at
/auth/token, keep the tokens in sessionStorage and read everything from POST /graphql with a
Bearer token, as any other client does, so the pages and their files are open routes and what
a caller sees is decided by the API alone. Served in production too (unlike GraphiQL).

No inline script: the Content-Security-Policy allows scripts from 'self' only. Only the files
listed here are served; a missing Chart.js turns the pages into one that says how to install it.
"""

from __future__ import annotations

import html
import logging
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app import npm_files
from app.settings import Settings

logger = logging.getLogger("labelgraph.dashboard")

PREFIX = "/dashboard"
ASSET_PREFIX = f"{PREFIX}/assets/"
# URL name -> file inside the npm install folder; nothing else from it is served.
INSTALLED_ASSETS: dict[str, str] = {"chart.umd.min.js": "chart.js/dist/chart.umd.min.js"}
# URL name -> media type of our own files in app/dashboard/static/; nothing else is served.
OWN_ASSETS: dict[str, str] = {
    "api.js": "text/javascript",
    "charts.js": "text/javascript",
    "format.js": "text/javascript",
    "home.js": "text/javascript",
    "project.js": "text/javascript",
    "signin.js": "text/javascript",
    "dashboard.css": "text/css",
}
PAGES = {"home": "home.html", "project": "project.html"}

PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        # The sign-in form is submitted by script (fetch), never by the browser.
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, **npm_files.PAGE_SECURITY_HEADERS}


def _static(name: str) -> str:
    return resources.files("app.dashboard").joinpath("static", name).read_text(encoding="utf-8")


def missing_assets(settings: Settings) -> list[str]:
    return npm_files.missing(settings.graphiql_assets, INSTALLED_ASSETS)


def page(settings: Settings, name: str) -> HTMLResponse:
    """A dashboard page, or, when the set-up has not installed Chart.js, a page that says how to."""
    missing = missing_assets(settings)
    if missing:
        logger.warning("The dashboard's files are missing from %s: %s", settings.graphiql_assets, ", ".join(missing))
        return HTMLResponse(_missing_page(missing), headers=PAGE_HEADERS)
    return HTMLResponse(_static(PAGES[name]), headers=PAGE_HEADERS)


def _missing_page(missing: list[str]) -> str:
    names = ", ".join(f"<code>{html.escape(name)}</code>" for name in missing)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Labelgraph dashboard: not installed</title>
<link rel="stylesheet" href="{ASSET_PREFIX}dashboard.css">
</head>
<body>
<main class="problem">
<h1>The dashboard's chart files are not installed</h1>
<p>This server serves the dashboard's charting package from its own files (no CDN), and the set-up
has not installed them: {names} missing.</p>
<p>Install them in the checkout with <code>{npm_files.INSTALL_COMMAND}</code> (it runs <code>npm ci</code> in
<code>frontend/</code>), then reload this page. The server's log names the folder it looked in
(<code>LABELGRAPH_GRAPHIQL_ASSETS</code> changes it).</p>
</main>
</body>
</html>
"""


def asset(settings: Settings, name: str, if_none_match: str | None) -> Response:
    media_type = OWN_ASSETS.get(name)
    if media_type is not None:
        return Response(_static(name), media_type=media_type, headers=npm_files.ASSET_HEADERS)
    relative = INSTALLED_ASSETS.get(name)
    if relative is None:
        return PlainTextResponse("Not Found", status_code=404)
    return npm_files.installed_file(
        settings.graphiql_assets / relative,
        if_none_match,
        what="The dashboard's chart files",
        media_type="text/javascript",
    )


def dashboard_routes(settings: Settings) -> list[BaseRoute]:
    """The pages and their files: open routes, since they hold no data (the API decides what shows)."""

    async def home(request: Request) -> Response:
        return page(settings, "home")

    async def project(request: Request) -> Response:
        return page(settings, "project")

    async def bare(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    async def file(request: Request) -> Response:
        return asset(settings, request.path_params["name"], request.headers.get("if-none-match"))

    return [
        Route(PREFIX, bare, methods=["GET"]),
        Route(f"{PREFIX}/", home, methods=["GET"]),
        Route(f"{PREFIX}/projects/{{project}}", project, methods=["GET"]),
        Route(ASSET_PREFIX + "{name}", file, methods=["GET"]),
    ]
