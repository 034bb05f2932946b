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

from app.runtime import Runtime
from app.settings import Settings

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


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Run the background jobs until `stop` is set, then stop them as a server's shutdown does (a
    tick under way is cancelled; a delivery it had claimed is tried again once its lease runs out)
    and close the database."""
    # The jobs start whatever LABELGRAPH_BACKGROUND says: compose gives every service one environment.
    runtime = await Runtime.start(dataclasses.replace(settings, background=False))
    try:
        runtime.start_background()
        logger.info("worker started: %s", "; ".join(jobs(settings)) or "nothing to run (every job is off)")
        await stop.wait()
        logger.info("worker stopping")
    finally:
        await runtime.stop()
    logger.info("worker stopped")


def run_until_signalled(settings: Settings) -> None:
    """`run` in its own event loop, stopped by SIGTERM or SIGINT (exit code 0 either way)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            await run(settings, stop)
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    asyncio.run(main())
