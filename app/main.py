"""create_app(settings) -> the Starlette application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.auth.bearer import actor_from_headers, unauthenticated_response
from app.auth.endpoint import token_endpoint
from app.errors import Unauthenticated
from app.exports.http import export_endpoint
from app.runtime import Runtime
from app.schema import build_schema
from app.schema.context import Context
from app.settings import Settings

logger = logging.getLogger("labelgraph")


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(
            request=request, response=response, runtime=request.app.state.runtime, actor=request.state.actor
        )
        request.state.graphql_context = context
        return context

    async def process_result(self, request: Any, result: Any) -> Any:
        # The request's read transaction ends with the response.
        context = getattr(request.state, "graphql_context", None)
        if context is not None:
            await context.close()
        return await super().process_result(request, result)


class BearerGate:
    """Authenticates /graphql before strawberry sees the request, and bounds its body size.

    GET of the GraphiQL page (HTML) is let through outside production; it holds no data.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self.settings.graphiql and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            await self.app(scope, receive, send)
            return
        if int(request.headers.get("content-length") or 0) > self.settings.max_body_bytes:
            await JSONResponse({"errors": [{"message": "Request body too large."}]}, status_code=413)(
                scope, receive, send
            )
            return
        try:
            actor = await actor_from_headers(scope["app"].state.runtime, request.headers)
        except Unauthenticated:
            await unauthenticated_response()(scope, receive, send)
            return
        scope.setdefault("state", {})["actor"] = actor
        await self.app(scope, receive, send)


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.runtime = await Runtime.start(settings)
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
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """Factory for uvicorn: `uvicorn --factory app.main:app_from_env`."""
    return create_app(Settings.from_env())
