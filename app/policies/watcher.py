"""Keeping every server process's copy of the grants (and, on the same connection, of the
identities: app/auth/identities.py) current, on PostgreSQL.

A grant or revoke sends NOTIFY in its own transaction, so the notice goes out only on commit;
each process LISTENs on a connection of its own and reloads the grants when one arrives.
(On SQLite there is one server process, and the grant updates its enforcer after commit.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "labelgraph_policy"
logger = logging.getLogger("labelgraph.policies")


async def announce_change(session: AsyncSession) -> None:
    """Queue the notice in the session's transaction (delivered at commit, dropped on rollback)."""
    if session.sync_session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class PolicyWatcher:
    def __init__(self, connection: Any, reload: Callable[[], Awaitable[None]]) -> None:
        self._connection = connection
        self._reload = reload
        self._pending: asyncio.Task[None] | None = None
        self.reloads = 0

    @classmethod
    async def start(cls, database_url: str, reload: Callable[[], Awaitable[None]]) -> PolicyWatcher:
        url = make_url(database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        watcher = cls(connection, reload)
        await connection.add_listener(CHANNEL, watcher._on_notice)
        return watcher

    async def listen(self, channel: str, callback: Callable[[Any, int, str, str], None]) -> None:
        """Another channel on the same connection (app/auth/identities.py's account changes)."""
        await self._connection.add_listener(channel, callback)

    def _on_notice(self, *_: Any) -> None:
        # A burst of grants needs one reload, not one per notice.
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._run_reload())

    async def _run_reload(self) -> None:
        try:
            await self._reload()
            self.reloads += 1
        except Exception:
            logger.exception("reloading role grants failed; keeping the previous ones")

    async def stop(self) -> None:
        if self._pending is not None:
            await asyncio.gather(self._pending, return_exceptions=True)
        await self._connection.close()
