"""create_app(settings) -> the Starlette application."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http.ides import get_graphql_ide_html

from app.auth.bearer import actor_from_headers, unauthenticated_response
from app.auth.endpoint import token_endpoint
from app.errors import Unauthenticated
from app.exports.http import export_endpoint
from app.guidelines.http import guideline_markdown_endpoint
from app.http_json import BadRequestBody, decode_body
from app.runtime import Runtime
from app.schema import build_schema
from app.schema.context import Context
from app.settings import Settings

logger = logging.getLogger("labelgraph")
GC_GEN0_THRESHOLD = 20_000


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(
            request=request, response=response, runtime=request.app.state.runtime, actor=request.state.actor
        )
        request.state.graphql_context = context
        return context

    def decode_json(self, data: str | bytes) -> object:
        return decode_body(data)  # bounded JSON, or BadRequestBody (a 400 with a GraphQL error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except BadRequestBody as refused:  # raised while decoding, before any response started
            await refused.respond(scope, receive, send)


class BearerGate:
    """Authenticates /graphql before strawberry sees the request, and bounds its body size.

    GET of the GraphiQL page (HTML) is served here, outside production: it holds no data, and
    strawberry would build a context (which needs an actor) before rendering it.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        accept = request.headers.get("accept", "")
        if (
            self.settings.graphiql
            and request.method == "GET"
            and "text/html" in accept
            and "query" not in request.query_params
        ):
            await HTMLResponse(get_graphql_ide_html("graphiql"))(scope, receive, send)
            return
        too_large = JSONResponse({"errors": [{"message": "Request body too large."}]}, status_code=413)
        if int(request.headers.get("content-length") or 0) > self.settings.max_body_bytes:
            await too_large(scope, receive, send)
            return
        try:
            actor = await actor_from_headers(scope["app"].state.runtime, request.headers)
        except Unauthenticated:
            await unauthenticated_response()(scope, receive, send)
            return
        scope.setdefault("state", {})["actor"] = actor
        if "content-length" not in request.headers and request.method == "POST":
            # A chunked body announces no size: once the caller is known, read it here within
            # the bound and hand it on.
            body = await self._bounded_body(request)
            if body is None:
                await too_large(scope, receive, send)
                return
            receive = _replay(body, receive)
        try:
            await self.app(scope, receive, send)
        finally:
            # The request's read transaction ends with it, whatever happened on the way.
            context = scope["state"].get("graphql_context")
            if context is not None:
                await context.close()

    async def _bounded_body(self, request: Request) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.settings.max_body_bytes:
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


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


def settle_garbage_collector() -> None:
    """Keep full collections short and rare once the server is up.

    The modules, the schema and the mappers are hundreds of thousands of objects that live as
    long as the process; a full collection walked them all (measured: ~83 ms, every 3-4 pages
    of 100 items). Freezing moves them out of the collector's sight, and a larger first
    generation lets a request's short-lived objects die before they are promoted.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.runtime = await Runtime.start(settings)
        settle_garbage_collector()
        try:
            yield
        finally:
            await app.state.runtime.stop()

    graphql = GraphQLApp(
        build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,
    )
    routes = [
        Route("/graphql", BearerGate(graphql, settings), methods=["GET", "POST"]),
        Route("/auth/token", token_endpoint, methods=["POST"]),
        Route("/export/{project}.jsonl", export_endpoint, methods=["GET"]),
        Route("/guidelines/{project}/{version:int}.md", guideline_markdown_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """Factory for uvicorn: `uvicorn --factory app.main:app_from_env`."""
    return create_app(Settings.from_env())
