"""Small ASGI wrappers the GraphQL endpoint is composed of (see app.main.graphql_endpoint).

Each does one thing and passes every other scope type (WebSocket, lifespan) through untouched:
- GraphiQLPage: the GraphiQL HTML page on a browser's GET, outside production;
- BodyLimit: a bound on the request body, announced (Content-Length) or chunked;
- ClosesGraphQLContext: the request's read transaction ends with the request;
- CORS: Starlette's CORSMiddleware, refusing unlisted origins without any CORS header.
Authentication is not here: AuthenticationMiddleware resolves the caller for every route, and
app.auth.middleware.RequireActor refuses anonymous callers where one is needed.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class GraphiQLPage:
    """GET of the GraphiQL page (HTML) is answered here, before any token is asked for.

    It holds no data, and strawberry would build a context (which needs an actor) before
    rendering it. A GET with a query string is a data request and goes on to the gate.
    """

    def __init__(self, app: ASGIApp, *, page: Callable[[], Response] | None) -> None:
        self.app = app
        self.page = page  # None: no GraphiQL (production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.page is not None and scope["type"] == "http":
            request = Request(scope, receive)
            if (
                request.method == "GET"
                and "text/html" in request.headers.get("accept", "")
                and "query" not in request.query_params
            ):
                await self.page()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def too_large() -> JSONResponse:
    return JSONResponse({"errors": [{"message": "Request body too large."}]}, status_code=413)


class BodyLimit:
    """At most max_bytes of request body: 413 on a larger Content-Length, or once a chunked body
    (which announces no size) grows past the bound while it is read here."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await too_large()(scope, receive, send)
                return
        elif request.method == "POST":
            body = await self._bounded_body(request)
            if body is None:
                await too_large()(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _bounded_body(self, request: Request) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over an already-read body once, then defers to the real one."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


class ClosesGraphQLContext:
    """The request's read transaction ends with it, whatever happened on the way.

    GraphQLApp.get_context leaves the context in scope["state"]; nothing else closes it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            context = scope.get("state", {}).get("graphql_context")
            if context is not None:
                await context.close()


class CORS(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight carries no Access-Control-* header at all
    (Starlette's still lists the allowed methods and headers): an unlisted origin learns nothing."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            return PlainTextResponse("Disallowed CORS request", status_code=400, headers={"Vary": "Origin"})
        return response
