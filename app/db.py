"""Engine, sessions and the metadata every table hangs off."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from app.sqlite import BUSY_TIMEOUT_S, inline_creator

# Named constraints from the first migration on, so batch mode on SQLite can drop them later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata

# Execution option a unit of work sets when it will write: on SQLite it takes the write lock
# at BEGIN, so two claims can never read the same queue state and both act on it.
WRITE = {"labelgraph_write": True}
AFTER_COMMIT = "labelgraph_after_commit"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        engine = create_async_engine(url, async_creator=inline_creator(path), **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(url, pool_pre_ping=False, **kwargs)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event (below) issue BEGIN itself, with the mode we choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get("labelgraph_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def is_postgres(session: AsyncSession) -> bool:
    return session.sync_session.get_bind().dialect.name == "postgresql"


# A transaction-scoped advisory lock on PostgreSQL, named by a string.
ADVISORY_XACT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def serialize_on(session: AsyncSession, key: str) -> None:
    """Queue transactions that share `key` until this one ends: a transaction-scoped advisory
    lock on PostgreSQL; SQLite writers are serialised already (BEGIN IMMEDIATE)."""
    if is_postgres(session):
        await session.execute(ADVISORY_XACT_LOCK, {"key": key})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# SQLite runs inline on the loop (app/sqlite.py): a second in-process BEGIN IMMEDIATE would block
# the loop on SQLite's busy handler while the writer it waits for cannot run. Writers queue here.
_write_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _write_lock(sessions: async_sessionmaker[AsyncSession]) -> AbstractAsyncContextManager[Any]:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return nullcontext()
    return _write_locks.setdefault(bind.sync_engine, asyncio.Lock())


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession], *, write: bool) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends cleanly, rolled back otherwise."""
    async with _write_lock(sessions) if write else nullcontext(), sessions() as session:
        await session.connection(execution_options=WRITE if write else None)
        session.info[SESSIONS] = sessions  # for work a change schedules after it commits
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        for callback in session.info.pop(AFTER_COMMIT, []):
            callback()


SESSIONS = "labelgraph.sessions"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run in-memory side effects (the enforcer's copy of a grant) only once the change is durable."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


@contextmanager
def bulk_read() -> Iterator[None]:
    """Pauses the cyclic garbage collector while a read turns a whole project into rows and arrays.

    Building 100,000 row tuples triggers a collection every few hundred allocations, each walking
    everything alive: about half the time of such a read (projectQuality, the re-estimate). Rows
    hold no cycles, so reference counting frees them; the collector runs again on exit. Nested
    use is fine: only the outermost one re-enables it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
