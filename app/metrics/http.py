"""GET /metrics (the Prometheus text format) and the timing of every request to /graphql.

/metrics needs a caller holding `metrics read`, an org-wide permission (admins, and the `metrics`
role meant for a scraper's service account, which holds nothing else): no token is the 401 of
every route, a caller without it 403. Counters and histograms come from this process, or from
every process when PROMETHEUS_MULTIPROC_DIR is set; the queue figures are read from the database
now (queue.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.db import create_engine, session_factory
from app.downloads import refusal
from app.metrics import queue
from app.metrics.graphql import SLOT, OperationLabel
from app.metrics.registry import Metrics, multiprocess_dir
from app.runtime import Runtime
from app.settings import Settings


@requires_actor
async def metrics_endpoint(request: Request, actor: Actor) -> Response:
    if not actor.can("metrics", "read"):
        access.denied("metrics", "You may not read the server's metrics.")
        return refusal(403, "forbidden", "You may not read the server's metrics.")
    runtime: Runtime = request.app.state.runtime
    return Response(await exposition(runtime), media_type=CONTENT_TYPE_LATEST)


async def exposition(runtime: Runtime) -> bytes:
    """The text a scrape gets: the process's (or all processes') metrics, then the queue's."""
    return counted(runtime.metrics) + await queue_figures(runtime.sessions, runtime.settings.metrics_max_projects)


async def queue_figures(sessions: async_sessionmaker[AsyncSession], max_projects: int) -> bytes:
    async with sessions() as session:
        found = await queue.families(session, max_projects)
    figures = CollectorRegistry(auto_describe=False)
    figures.register(queue.Fixed(found))
    return generate_latest(figures)


def counted(metrics: Metrics | None) -> bytes:
    """This process's counters and histograms, or, in multiprocess mode, every process's summed."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(metrics.registry) if metrics is not None else b""
    every_process = CollectorRegistry()
    MultiProcessCollector(every_process, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(every_process)


def metrics_only_app(settings: Settings) -> Starlette:
    """`labelgraph serve --metrics-port`: /metrics alone, without authentication, for a bind only
    the scraper reaches (loopback by default). It runs beside the server processes (multiprocess
    mode, which `serve` turns on), so it holds no counters of its own: it reads theirs, and the
    queue figures from the database."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.sessions = session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    async def endpoint(request: Request) -> Response:
        figures = await queue_figures(request.app.state.sessions, settings.metrics_max_projects)
        return Response(counted(None) + figures, media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", endpoint, methods=["GET"])], lifespan=lifespan)


def metrics_only_app_from_env() -> Starlette:
    return metrics_only_app(Settings.from_env())


# prometheus-client's files in a multiprocess directory: <kind>_<pid>.db (gauges add their mode).
CLIENT_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")


def prepare_multiprocess_dir(directory: Path) -> None:
    """Empty a multiprocess directory of an earlier run's files, as prometheus-client requires
    (their counts would otherwise be added to this run's). Only files named as the client names
    its own are removed: a directory shared with anything else (a SQLite database) keeps that."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():
        if CLIENT_FILE.fullmatch(stale.name) and stale.is_file():
            stale.unlink()


class GraphQLTiming:
    """Times each HTTP request to /graphql, labelled by its operation (graphql.py) once known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        label = OperationLabel()
        scope[SLOT] = label
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            runtime: Runtime = scope["app"].state.runtime
            runtime.metrics.graphql_duration.labels(label.operation, label.type).observe(time.perf_counter() - started)
