"""Browser files installed from npm at set-up (`make frontend`: frontend/node_modules), served by
the app itself: GraphiQL's (app/graphiql.py) and the dashboard's Chart.js (app/dashboard/http.py).
Only the files a caller lists are served; a missing one is a 404 that says how to install it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.responses import FileResponse, PlainTextResponse, Response

INSTALL_COMMAND = "make frontend"
# Every served file: no sniffing its type, and revalidated (ETag) rather than cached blind.
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
# Every page: nothing to sniff, no referrer sent, never stored; each page adds its own CSP.
PAGE_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def missing(folder: Path, listed: Mapping[str, str]) -> list[str]:
    """The listed files (URL name -> path inside `folder`) the set-up has not installed."""
    return [name for name, relative in listed.items() if not (folder / relative).is_file()]


def installed_file(path: Path, if_none_match: str | None, *, what: str, media_type: str | None = None) -> Response:
    """One installed file, with its ETag (304 when the browser's copy is current); `what` names the
    set of files in the 404 of a missing one ("GraphiQL's files", ...)."""
    try:
        stat = path.stat()
    except OSError:
        return PlainTextResponse(f"{what} are not installed: run `{INSTALL_COMMAND}` in the checkout.", status_code=404)
    response = FileResponse(path, stat_result=stat, headers=ASSET_HEADERS, media_type=media_type)
    if if_none_match is not None and if_none_match == response.headers["etag"]:
        return Response(status_code=304, headers={**ASSET_HEADERS, "ETag": response.headers["etag"]})
    return response
