"""Writing access history in batches, off the request path.

A finished request hands its note to `AccessRecorder.add`, which only appends to a buffer; a
background task writes the buffer every `interval_s` (or sooner once `batch_size` notes wait),
in one transaction of two multi-row INSERTs. A request never waits for it and never fails
because of it: a batch that cannot be written is logged (counts only, never content) and
dropped, and the count of dropped notes is kept. Readers of the history flush first
(`flush()`), so what this process saw is there when a compliance officer asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.models import AccessEvent, AccessResource
from app.access.note import AccessNote
from app.db import unit_of_work
from app.ids import new_id

logger = logging.getLogger("labelgraph.access")


class AccessRecorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        enabled: bool = True,
        interval_s: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        self.sessions = sessions
        self.enabled = enabled
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.dropped = 0
        self.written = 0
        self._buffer: list[AccessNote] = []
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="access-history")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def add(self, note: AccessNote) -> None:
        if not self.enabled:
            return
        self._buffer.append(note)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """No batch is written meanwhile (requests still add to the buffer): for measurements,
        such as counting a request's statements, that must not include the history's own."""
        async with self._writing:
            yield

    async def flush(self) -> None:
        """Write everything buffered so far (readers call this before they read)."""
        async with self._writing:
            while self._buffer:
                batch, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
                await self._write(batch)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            self._wake.clear()
            await self.flush()

    async def _write(self, batch: list[AccessNote]) -> None:
        events: list[dict[str, Any]] = []
        resources: list[dict[str, Any]] = []
        for note in batch:
            event_id = new_id()
            events.append(
                {
                    "id": event_id,
                    "occurred_at": note.occurred_at,
                    "actor_id": note.actor_id,
                    "actor_kind": note.actor_kind,
                    "channel": note.channel,
                    "operation": note.operation,
                    "operation_type": note.operation_type,
                    "outcome": note.outcome(note.status),
                    "status": note.status,
                    "details": note.details(),
                }
            )
            resources.extend(
                {"event_id": event_id, "resource_type": kind, "resource_id": pk, "action": action}
                for (kind, pk), action in note.resources.items()
            )
        try:
            async with unit_of_work(self.sessions, write=True) as session:
                await session.execute(insert(AccessEvent), events)
                if resources:
                    await session.execute(insert(AccessResource), resources)
        except Exception as exc:  # never the request's failure; never its content in the log
            self.dropped += len(batch)
            logger.warning("access history: %d events not written (%s)", len(batch), type(exc).__name__)
        else:
            self.written += len(batch)
