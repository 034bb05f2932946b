"""`labelgraph worker`: a deployment's background jobs in a process of their own.

A server process runs the consent Sweeper, the Retrainer and the events Dispatcher itself
(settings.background, on by default), so that one process is a whole server (`make run`). With N
server processes (`labelgraph serve --workers N`, compose.yaml) each would run its own copy of
every job: N sweeps a minute, N retrain polls, N dispatchers contending for the same deliveries.
They are correct side by side (each skips the rows another holds) but the work is N-fold, and a
scaled-down server would take the jobs with it. So the servers run with LABELGRAPH_BACKGROUND=0 and
one worker runs the jobs for all of them, until SIGTERM (what `docker stop` sends) or SIGINT.

The worker is a Runtime like a server's (the same jobs, and on PostgreSQL the policy watcher that
keeps the Retrainer's grants current) that serves no request. Deliveries of events committed by
the servers are found by polling the outbox every LABELGRAPH_EVENTS_POLL_S seconds, as a server's
dispatcher finds other processes' events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import threading
from typing import TYPE_CHECKING

from app.runtime import Runtime
from app.settings import Settings

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger("labelgraph.worker")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def jobs(settings: Settings) -> list[str]:
    """What the worker runs with these settings, in words for its first log line."""
    running = []
    if settings.consent_sweep_s > 0:
        running.append(f"consent sweep every {settings.consent_sweep_s:g}s")
    if settings.retrain_poll_s > 0:
        running.append(f"retrain check every {settings.retrain_poll_s:g}s")
    if settings.events_dispatch:
        running.append(f"webhook deliveries (outbox polled every {settings.events_poll_s:g}s)")
    return running


async def run(settings: Settings, stop: asyncio.Event, metrics_bind: tuple[str, int] | None = None) -> None:
    """Run the background jobs until `stop` is set, then stop them as a server's shutdown does (a
    tick under way is cancelled; a delivery it had claimed is tried again once its lease runs out)
    and close the database. With `metrics_bind`, the worker's own counts (its jobs' ticks, its
    webhook attempts) are served at /metrics on that address, without authentication: a server's
    /metrics sums only the server's processes."""
    # The jobs start whatever LABELGRAPH_BACKGROUND says: compose gives every service one environment.
    runtime = await Runtime.start(dataclasses.replace(settings, background=False))
    metrics_server = _serve_metrics(runtime, *metrics_bind) if metrics_bind else None
    try:
        runtime.start_background()
        logger.info("worker started: %s", "; ".join(jobs(settings)) or "nothing to run (every job is off)")
        await stop.wait()
        logger.info("worker stopping")
    finally:
        if metrics_server is not None:
            metrics_server.should_exit = True
        await runtime.stop()
    logger.info("worker stopped")


def _serve_metrics(runtime: Runtime, host: str, port: int) -> uvicorn.Server:
    """/metrics of this process's registry, from a thread with its own event loop (uvicorn leaves
    the worker's signal handlers alone off the main thread). No queue figures: the servers'
    /metrics read those from the database, and two sources of one gauge would double it."""
    import uvicorn
    from prometheus_client import CONTENT_TYPE_LATEST
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from app.metrics.http import counted

    async def endpoint(request: Request) -> Response:
        return Response(counted(runtime.metrics), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(routes=[Route("/metrics", endpoint, methods=["GET"])])
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, loop="asyncio", log_level="warning"))
    threading.Thread(target=server.run, name="worker-metrics", daemon=True).start()
    logger.info("worker metrics on http://%s:%d/metrics", host, port)
    return server


def run_until_signalled(settings: Settings, metrics_bind: tuple[str, int] | None = None) -> None:
    """`run` in its own event loop, stopped by SIGTERM or SIGINT (exit code 0 either way)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            await run(settings, stop, metrics_bind)
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    asyncio.run(main())
