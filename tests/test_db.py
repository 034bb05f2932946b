"""Units of work: on SQLite, in-process writers queue instead of blocking the event loop."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.compliance import audit
from app.compliance.models import AuditEvent
from app.db import create_engine, session_factory, unit_of_work
from app.settings import Settings


async def test_a_writer_that_awaits_mid_transaction_does_not_stall_the_next(settings: Settings) -> None:
    """SQLite runs inline on the loop: without the queue, the second BEGIN IMMEDIATE would spin in
    SQLite's busy handler while the first writer, which holds the lock, could never resume."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    done: list[str] = []

    async def writer(name: str, pause_s: float, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        async with unit_of_work(sessions, write=True) as session:
            await audit.record(session, None, f"test.{name}", "Test", name)
            await asyncio.sleep(pause_s)  # as a password hash in a worker thread would
        done.append(name)

    try:
        await asyncio.gather(writer("first", 0.05, 0), writer("second", 0, 0.01))
        async with sessions() as session:
            actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    finally:
        await engine.dispose()
    # Both committed (on PostgreSQL side by side, on SQLite one after the other).
    assert sorted(done) == ["first", "second"]
    assert sorted(actions) == ["test.first", "test.second"]
