"""Which identity a bearer token acts as: the active identities, cached per server process and
dropped the moment an account changes.

Every request asks (app/auth/bearer.py). Reading the row each time was measured at 0.35-1.4 ms
a request through SQLAlchemy's async layer on this project's machine (bench/identity_check.py,
bench/README.md): more than the rest of a small request. So the answer is cached, and kept
exact by invalidation rather than by time:

- A change that decides whether an account's tokens work (deactivation, reactivation, a
  revocation, an erasure, a password reset's cut-off, an invitation accepted) calls `changed()`
  in its transaction. Once it commits, this process's cache forgets the identity at once (the
  very next request reads the row again); on PostgreSQL the transaction also sends
  `NOTIFY labelgraph_identity, '<user id>'` (delivered only on commit), and every other server
  process forgets it when the notice arrives (app/policies/watcher.py's connection listens).
- An entry is trusted at most TTL_S even without a notice: the backstop should the listening
  connection be lost. On SQLite there is one server process (docs/ARCHITECTURE.md), so the
  in-process invalidation is the whole story.
"""

from __future__ import annotations

import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.auth.models import IdentityKind, User
from app.db import SESSIONS, after_commit, is_postgres

CHANNEL = "labelgraph_identity"
TTL_S = 10.0
MAX_ENTRIES = 10_000

# The one statement a cache miss runs: a primary-key probe of the active identity.
IDENTITY = select(col(User.id), col(User.username), col(User.kind), col(User.tokens_valid_after)).where(
    col(User.id) == bindparam("user_id"), col(User.is_active).is_(True)
)


@dataclass(frozen=True)
class Identity:
    """Who a token's subject is, as the bearer check needs it."""

    id: uuid.UUID
    username: str
    kind: IdentityKind
    tokens_valid_after: datetime | None


class IdentityCache:
    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine
        self._entries: dict[uuid.UUID, tuple[float, Identity | None]] = {}
        self.reads = 0  # rows read (cache misses), for tests and benches
        _caches[sessions] = self

    async def get(self, user_id: uuid.UUID) -> Identity | None:
        now = time.monotonic()
        cached = self._entries.get(user_id)
        if cached is not None and now - cached[0] < TTL_S:
            return cached[1]
        async with self._engine.connect() as connection:
            row = (await connection.execute(IDENTITY, {"user_id": user_id})).first()
        self.reads += 1
        found = None if row is None else Identity(row[0], row[1], IdentityKind(row[2]), row[3])
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[user_id] = (now, found)
        return found

    def forget(self, user_id: uuid.UUID) -> None:
        self._entries.pop(user_id, None)

    def on_notice(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        """asyncpg's listener: another process changed this account."""
        try:
            self.forget(uuid.UUID(payload))
        except ValueError:
            self._entries.clear()


# The cache of each server runtime, by the session factory its units of work carry, so a change
# reaches the cache of the runtime that made it (tests run several in one process).
_caches: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], IdentityCache] = weakref.WeakKeyDictionary()


async def changed(session: AsyncSession, user_id: uuid.UUID) -> None:
    """The account's tokens may work differently once this transaction commits: every cache
    forgets the identity then (this process at once, the others on the notice)."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_notify(:channel, :user)"), {"channel": CHANNEL, "user": str(user_id)})
    sessions = session.info.get(SESSIONS)
    cache = _caches.get(sessions) if sessions is not None else None
    if cache is not None:
        after_commit(session, lambda: cache.forget(user_id))
