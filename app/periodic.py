"""A background task that runs `tick` every `interval_s` seconds (0: never) from `start` until
`stop`. A failed tick is logged and the next one tries again: it never stops the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.metrics.registry import Metrics

logger = logging.getLogger(__name__)


class Periodic:
    name = "periodic"  # the asyncio task's name, and the log's word for a failed tick

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._metrics: Metrics | None = None

    async def tick(self) -> None:
        raise NotImplementedError

    def start(self, metrics: Metrics | None = None) -> None:
        """`metrics`: where each tick is counted and timed, by `name` (labelgraph_job_*)."""
        self._metrics = metrics
        if self._interval_s > 0:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                with self._metrics.job(self.name) if self._metrics else contextlib.nullcontext():
                    await self.tick()
            except Exception:  # logged; the next tick tries again
                logger.exception("%s failed", self.name)
