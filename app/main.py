"""create_app(settings) -> the Starlette application."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.access.middleware import AccessHistory
from app.asgi import CORS, BodyLimit, ClosesGraphQLContext, GraphiQLPage
from app.auth.actor import anonymous
from app.auth.endpoint import revoke_endpoint, token_endpoint
from app.auth.jwks import jwks_endpoint
from app.auth.middleware import ANONYMOUS_ALLOWED, RequireActor, actor_of, authentication
from app.dashboard.http import dashboard_routes
from app.exports.http import (
    export_endpoint,
    export_format_endpoint,
    label_studio_config_endpoint,
    snapshot_endpoint,
    snapshot_format_endpoint,
)
from app.graphiql import graphiql_page, graphiql_routes
from app.guidelines.http import guideline_markdown_endpoint, guideline_pdf_endpoint
from app.http_json import BadRequestBody, decode_body
from app.lineage.http import prov_json_endpoint
from app.metrics.http import GraphQLTiming, metrics_endpoint
from app.reports.http import quality_html_endpoint, quality_pdf_endpoint
from app.runtime import Runtime
from app.schema import build_schema
from app.schema.context import Context
from app.schema.public import is_public
from app.settings import Settings
from app.sso.http import callback_endpoint, login_endpoint

logger = logging.getLogger("labelgraph")
GC_GEN0_THRESHOLD = 20_000
MAX_SUBSCRIPTIONS = 10  # operations at once on one WebSocket


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Any, response: Any) -> Context:
        runtime: Runtime = request.app.state.runtime
        actor = actor_of(request.scope)
        if actor is None:
            # RequireActor stands in front of this app: only its public documents come anonymous.
            assert request.scope.get(ANONYMOUS_ALLOWED) is True
            actor = anonymous(runtime.authorizer)
        context = Context(request=request, response=response, runtime=runtime, actor=actor)
        request.state.graphql_context = context
        return context

    def decode_json(self, data: str | bytes) -> object:
        return decode_body(data)  # bounded JSON, or BadRequestBody (a 400 with a GraphQL error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except BadRequestBody as refused:  # raised while decoding, before any response started
            await refused.respond(scope, receive, send)


def graphql_endpoint(graphql: ASGIApp, settings: Settings) -> ASGIApp:
    """/graphql: the GraphiQL page needs no caller; everything else does, within the body bound.
    Every HTTP request to it is timed by its operation (app/metrics/), refusals included."""
    return GraphQLTiming(
        GraphiQLPage(
            RequireActor(BodyLimit(ClosesGraphQLContext(graphql), max_bytes=settings.max_body_bytes), public=is_public),
            page=(lambda: graphiql_page(settings)) if settings.graphiql else None,
        )
    )


def middleware(settings: Settings) -> list[Middleware]:
    """Outermost first. CORS answers preflights before anything asks for a token (browsers send
    none on OPTIONS) and marks every answer, 401s included, for the origins it allows."""
    stack = []
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORS,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        )
    stack.append(authentication())
    stack.append(Middleware(AccessHistory))  # inside: the caller is known by then
    return stack


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
        # The GraphiQL page is GraphiQLPage's (app/graphiql.py): strawberry's loads from a CDN.
        graphql_ide=None,
        allow_queries_via_get=False,
        # Subscriptions over WebSocket only, in the graphql-transport-ws protocol (no HTTP streams,
        # no legacy graphql-ws); browsers' pages from the CORS origins only (and same-origin ones).
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=10),
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
        allowed_origins=list(settings.cors_origins),
    )
    endpoint = graphql_endpoint(graphql, settings)
    routes = [
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", endpoint),
        Route("/auth/token", token_endpoint, methods=["POST"]),
        Route("/auth/revoke", revoke_endpoint, methods=["POST"]),
        Route("/export/{project}.jsonl", export_endpoint, methods=["GET"]),
        Route("/export/snapshots/{snapshot}.jsonl", snapshot_endpoint, methods=["GET"]),
        Route("/export/snapshots/{snapshot}/label-studio-config", label_studio_config_endpoint, methods=["GET"]),
        Route("/export/snapshots/{snapshot}/{format}", snapshot_format_endpoint, methods=["GET"]),
        Route("/export/{project}/{format}", export_format_endpoint, methods=["GET"]),
        Route("/lineage/{item}.prov.json", prov_json_endpoint, methods=["GET"]),
        Route("/guidelines/{project}/{version:int}.md", guideline_markdown_endpoint, methods=["GET"]),
        Route("/guidelines/{project}/{version:int}.pdf", guideline_pdf_endpoint, methods=["GET"]),
        Route("/reports/{project}/quality.html", quality_html_endpoint, methods=["GET"]),
        Route("/reports/{project}/quality.pdf", quality_pdf_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks_endpoint, methods=["GET"]),
        Route("/auth/oidc/{provider}/login", login_endpoint, methods=["GET"]),
        Route("/auth/oidc/{provider}/callback", callback_endpoint, methods=["GET"]),
        *graphiql_routes(settings),
        *dashboard_routes(settings),
    ]
    return Starlette(routes=routes, middleware=middleware(settings), lifespan=lifespan)


def app_from_env() -> Starlette:
    """Factory for uvicorn: `uvicorn --factory app.main:app_from_env`."""
    return create_app(Settings.from_env())
