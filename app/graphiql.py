"""GraphiQL at GET /graphql (HTML), served from this app's own files: it works without internet.

The browser files are not in the repository: the set-up (`make frontend`, i.e. `npm ci` in
frontend/) installs the versions pinned in frontend/package-lock.json, and the app serves the
few it needs under /graphiql/assets/. Node is a build-time tool only. Outside production only
(settings.graphiql); production has neither the page nor the assets.

The page runs no inline script: its Content-Security-Policy allows scripts from 'self' only,
so the start-up code below is served as an asset too. GraphiQL's headers tab is open and
pre-filled with the Authorization header the user completes with a token from /auth/token.
"""

from __future__ import annotations

import html
import json
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from app import npm_files
from app.settings import Settings

logger = logging.getLogger("labelgraph.graphiql")

ASSET_PREFIX = "/graphiql/assets/"
# URL name -> file inside the npm install folder (frontend/node_modules); nothing else is served.
INSTALLED_ASSETS: dict[str, str] = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
}
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "labelgraph-graphiql.js")

PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # GraphiQL applies inline styles (its dialogs, menus); Chromium refuses them under 'self' alone.
        "style-src 'self' 'unsafe-inline'",
        # Its icons and fonts are data: URIs inside the bundle and the stylesheet.
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, **npm_files.PAGE_SECURITY_HEADERS}

DEFAULT_QUERY = """\
# Labelgraph's GraphQL API.
#
# 1. Get a token (the demo users' passwords are demo-<username>-pass):
#    curl -s localhost:8000/auth/token -d grant_type=password -d username=pm -d password=demo-pm-pass
# 2. Put it in the Headers tab below: {"Authorization": "Bearer <access_token>"}
#    The schema (docs on the left, autocompletion) then loads with it.
# 3. Run a query with the play button (Ctrl+Enter).

{
  viewer {
    username
  }
}
"""
DEFAULT_HEADERS = '{\n  "Authorization": "Bearer <paste the access_token from POST /auth/token>"\n}\n'

# Served as /graphiql/assets/labelgraph-graphiql.js. It also explains a page whose script files
# did not load, instead of leaving it on "Loading".
BOOT_JS = """\
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var missing = ["React", "ReactDOM", "GraphiQL"].filter(function (name) { return !window[name]; });
  if (missing.length) {
    var message = document.createElement("p");
    message.className = "lg-problem";
    message.textContent = "GraphiQL could not start: " + missing.join(", ") + " did not load from " +
      config.assets + ". Install its files with `" + config.install + "` in the checkout, then reload.";
    root.replaceChildren(message);
    return;
  }
  var app = window.ReactDOM.createRoot(root);
  var authorization = authorizationOf(config.defaultHeaders);
  var pending = null;
  render();

  function render() {
    // A new fetcher makes GraphiQL fetch the schema again, with the headers now in its editor.
    app.render(window.React.createElement(window.GraphiQL, {
      fetcher: window.GraphiQL.createFetcher({ url: config.endpoint }),
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.defaultHeaders,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
      onEditHeaders: onEditHeaders
    }));
  }
  function authorizationOf(text) {
    try {
      var headers = JSON.parse(text);
      return headers && typeof headers.Authorization === "string" ? headers.Authorization : null;
    } catch (error) {
      return null;
    }
  }
  function onEditHeaders(text) {
    // Once a pasted token settles, reload the schema (docs, autocompletion) with it.
    clearTimeout(pending);
    pending = setTimeout(function () {
      var value = authorizationOf(text);
      if (value !== null && value !== authorization) {
        authorization = value;
        render();
      }
    }, 400);
  }
})();
"""

PAGE_CSS = """\
html, body { height: 100%; margin: 0; }
#graphiql { height: 100vh; }
.lg-problem { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; }
.lg-problem code { background: #f1f1f1; padding: 0 .25em; }
"""

GENERATED_ASSETS: dict[str, tuple[str, str]] = {
    "labelgraph-graphiql.js": (BOOT_JS, "text/javascript"),
    "labelgraph-graphiql.css": (PAGE_CSS, "text/css"),
}


def missing_assets(settings: Settings) -> list[str]:
    return npm_files.missing(settings.graphiql_assets, INSTALLED_ASSETS)


def graphiql_page(settings: Settings) -> HTMLResponse:
    """The GraphiQL page, or, when the set-up has not installed its files, a page that says how to."""
    missing = missing_assets(settings)
    if missing:
        logger.warning("GraphiQL's files are missing from %s: %s", settings.graphiql_assets, ", ".join(missing))
        return HTMLResponse(_missing_page(missing), headers=PAGE_HEADERS)
    return HTMLResponse(_page(), headers=PAGE_HEADERS)


def _page() -> str:
    # The config is JSON in a non-executed <script type="application/json">; "<" is escaped so no
    # value can close the element.
    config = json.dumps(
        {
            "endpoint": "/graphql",
            "assets": ASSET_PREFIX,
            "install": npm_files.INSTALL_COMMAND,
            "defaultQuery": DEFAULT_QUERY,
            "defaultHeaders": DEFAULT_HEADERS,
        }
    ).replace("<", "\\u003c")
    scripts = "\n".join(f'<script src="{ASSET_PREFIX}{name}"></script>' for name in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Labelgraph GraphiQL</title>
<link rel="stylesheet" href="{ASSET_PREFIX}graphiql.min.css">
<link rel="stylesheet" href="{ASSET_PREFIX}labelgraph-graphiql.css">
</head>
<body>
<div id="graphiql"><p class="lg-problem">Loading GraphiQL&hellip;</p></div>
<noscript><p class="lg-problem">GraphiQL needs JavaScript.</p></noscript>
<script type="application/json" id="graphiql-config">{config}</script>
{scripts}
</body>
</html>
"""


def _missing_page(missing: list[str]) -> str:
    names = ", ".join(f"<code>{html.escape(name)}</code>" for name in missing)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Labelgraph GraphiQL: not installed</title>
<link rel="stylesheet" href="{ASSET_PREFIX}labelgraph-graphiql.css">
</head>
<body>
<div class="lg-problem">
<h1>GraphiQL is not installed</h1>
<p>This server serves GraphiQL from its own files (no CDN), and the set-up has not installed them:
{names} missing.</p>
<p>Install them in the checkout with <code>{npm_files.INSTALL_COMMAND}</code> (it runs <code>npm ci</code> in
<code>frontend/</code>; <code>make run</code> and <code>make test</code> do it too), then reload this page.
The server's log names the folder it looked in (<code>LABELGRAPH_GRAPHIQL_ASSETS</code> changes it).</p>
<p>The API itself works without it: <code>POST /graphql</code> with an <code>Authorization: Bearer</code> header.</p>
</div>
</body>
</html>
"""


def graphiql_routes(settings: Settings) -> list[BaseRoute]:
    """The asset routes; none when GraphiQL is off (production)."""
    if not settings.graphiql:
        return []

    async def asset(request: Request) -> Response:
        return _asset(settings, request.path_params["name"], request.headers.get("if-none-match"))

    return [Route(ASSET_PREFIX + "{name}", asset, methods=["GET"])]


def _asset(settings: Settings, name: str, if_none_match: str | None) -> Response:
    if name in GENERATED_ASSETS:
        body, media_type = GENERATED_ASSETS[name]
        return Response(body, media_type=media_type, headers=npm_files.ASSET_HEADERS)
    relative = INSTALLED_ASSETS.get(name)
    if relative is None:
        return PlainTextResponse("Not Found", status_code=404)
    return npm_files.installed_file(settings.graphiql_assets / relative, if_none_match, what="GraphiQL's files")
