"""GET /metrics (the Prometheus text format) and the timing of every request to /graphql.

/metrics needs a caller holding `metrics read`, an org-wide permission (admins, and the `metrics`
role meant for a scraper's service account, which holds nothing else): no token is the 401 of
every route, a caller without it 403. Counters and histograms come from this process, or from
every process when PROMETHEUS_MULTIPROC_DIR is set; the queue figures are read from the database
now (queue.py).
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.metrics import queue
from app.metrics.graphql import SLOT, OperationLabel
from app.metrics.registry import Metrics, multiprocess_dir
from app.runtime import Runtime


@requires_actor
async def metrics_endpoint(request: Request, actor: Actor) -> Response:
    if not actor.can("metrics", "read"):
        access.denied("metrics", "You may not read the server's metrics.")
        return JSONResponse(
            {"error": "forbidden", "error_description": "You may not read the server's metrics."}, status_code=403
        )
    runtime: Runtime = request.app.state.runtime
    return Response(await exposition(runtime), media_type=CONTENT_TYPE_LATEST)


async def exposition(runtime: Runtime) -> bytes:
    """The text a scrape gets: the process's (or all processes') metrics, then the queue's."""
    async with runtime.sessions() as session:
        found = await queue.families(session, runtime.settings.metrics_max_projects)
    figures = CollectorRegistry(auto_describe=False)
    figures.register(queue.Fixed(found))
    return counted(runtime.metrics) + generate_latest(figures)


def counted(metrics: Metrics) -> bytes:
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(metrics.registry)
    every_process = CollectorRegistry()
    MultiProcessCollector(every_process, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(every_process)


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
