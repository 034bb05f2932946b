"""SQLite on the event loop's own thread.

aiosqlite sends every call to a worker thread and back: about 100-300 µs per call and three
or four calls per statement, measured here at ~430 µs for `SELECT 1` through SQLAlchemy, against
~1-3 µs for the call itself on a local file. This connection runs the calls inline instead.

That is safe only because a call never waits on another coroutine: in-process writers queue on
an asyncio lock per engine before BEGIN IMMEDIATE (`unit_of_work` in app/db.py), and readers
never wait in WAL mode. A writer in another process (the CLI, a second server) can still make
BEGIN IMMEDIATE wait, up to BUSY_TIMEOUT_S, and the loop waits with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
BUSY_TIMEOUT_S = 5.0


class InlineConnection(aiosqlite.Connection):
    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_creator(path: str) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine: aiosqlite's thread opens the file, then steps aside."""

    def connector() -> sqlite3.Connection:
        # Opened on aiosqlite's thread, used on the loop's: same-thread checking must be off.
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)

    async def create() -> aiosqlite.Connection:
        return await InlineConnection(connector, iter_chunk_size=64)

    return create
