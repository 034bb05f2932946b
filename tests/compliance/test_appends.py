"""Appends to the chain are serialised: many writers at once, in one process or in two (two
engines on PostgreSQL, each with its own pool, as two server processes would have), never fork
it; the database's triggers refuse what would rewrite or fork it behind the application's back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from app.auth.actor import Actor
from app.compliance import audit
from app.compliance.chain import GENESIS
from app.compliance.models import AuditEvent
from app.compliance.service import verify_chain
from app.db import create_engine, session_factory, unit_of_work
from app.policies.enforcer import Authorizer
from app.policies.roles import user_subject
from app.projects.reads import find_project
from app.settings import Settings
from tests.compliance.support import as_owner
from tests.conftest import Api, World

WRITERS = 8
EVENTS_EACH = 5


async def test_concurrent_writers_never_fork_the_chain(settings: Settings) -> None:
    processes = 2 if not settings.is_sqlite else 1  # SQLite: one server process per file
    engines = [create_engine(settings.database_url) for _ in range(processes)]
    factories = [session_factory(engine) for engine in engines]

    async def writer(n: int) -> None:
        sessions = factories[n % processes]
        for i in range(EVENTS_EACH):
            async with unit_of_work(sessions, write=True) as session:
                # Two events in one unit take consecutive seqs.
                await audit.record(session, None, "test.write", "Test", f"{n}-{i}-a")
                await asyncio.sleep(0)  # let the others interleave before this one commits
                await audit.record(session, None, "test.write", "Test", f"{n}-{i}-b")

    try:
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        async with factories[0]() as session:
            rows = (await session.execute(select(AuditEvent.seq, AuditEvent.entity_id).order_by(AuditEvent.seq))).all()
            result = await verify_chain(session, batch=7)  # several batches
    finally:
        for engine in engines:
            await engine.dispose()
    assert [seq for seq, _ in rows] == list(range(1, 2 * WRITERS * EVENTS_EACH + 1))
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert first.entity_id.endswith("-a")
        assert second.entity_id == first.entity_id[:-1] + "b"
    assert result.ok, result.summary()
    assert result.checked == 2 * WRITERS * EVENTS_EACH


async def test_a_rolled_back_unit_leaves_no_event_and_no_gap(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:

        async def failing() -> None:
            async with unit_of_work(sessions, write=True) as session:
                await audit.record(session, None, "test.lost", "Test", "x")
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            await failing()
        async with unit_of_work(sessions, write=True) as session:
            await audit.record(session, None, "test.kept", "Test", "y")
        async with sessions() as session:
            rows = (await session.execute(select(AuditEvent.seq, AuditEvent.action))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "test.kept")]


async def test_a_locked_project_does_not_block_others_appending_about_it(settings: Settings, world: World) -> None:
    """A transaction holding the project row (approving a schema, publishing a guideline) must not
    stop another one's commit, which inserts an event naming that project while it holds the
    chain's lock: with FOR UPDATE the two commits deadlocked."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    admin = world.users["admin"]
    system = Actor(admin.id, admin.username, admin.kind, Authorizer([(user_subject(admin.id), "role:admin", "*")]))
    try:
        if settings.is_sqlite:
            pytest.skip("SQLite writers are serialised whole; there is no row lock")
        async with unit_of_work(sessions, write=True) as holder:
            await find_project(holder, system, world.project_a, lock=True)

            async def other() -> None:
                async with unit_of_work(sessions, write=True) as session:
                    await audit.record(
                        session, None, "test.other", "Project", world.project_a, project_id=world.project_a
                    )

            await asyncio.wait_for(other(), timeout=30)  # a guard against hanging, not a measurement
            await audit.record(holder, None, "test.holder", "Project", world.project_a, project_id=world.project_a)
        async with sessions() as session:
            assert (await verify_chain(session)).ok
    finally:
        await engine.dispose()


async def execute(url: str, statement: str, params: dict[str, object] | None = None) -> str | None:
    """None when the database took the statement, else its refusal."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), params or {})
    except DBAPIError as exc:
        return str(exc.orig)
    finally:
        await engine.dispose()
    return None


async def head(url: str) -> tuple[int, int, str, object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
            row = (
                await conn.execute(
                    select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash, AuditEvent.occurred_at)
                    .order_by(col(AuditEvent.seq).desc())
                    .limit(1)
                )
            ).one()
    finally:
        await engine.dispose()
    assert count == row.seq
    return row.id, row.seq, row.hash, row.occurred_at


FORGE = (
    "INSERT INTO audit_event (id, occurred_at, actor_kind, action, entity_type, entity_id, input_digest, details, "
    "seq, prev_hash, hash) VALUES (:id, :at, 'SYSTEM', 'role.grant', 'User', 'x', 'd', '{}', :seq, :prev, 'h')"
)


async def test_the_database_refuses_inserts_that_do_not_continue_the_head(api: Api, database_url: str) -> None:
    row_id, seq, digest, at = await head(database_url)
    values = {"at": at, "seq": seq + 1, "prev": digest, "id": row_id + 100}
    forge = FORGE
    refusals = {
        # SQLite's REPLACE would delete the event with that id without a DELETE trigger firing.
        "replace": ("INSERT OR REPLACE" if database_url.startswith("sqlite") else "INSERT", {"id": row_id}),
        "a seq already taken": ("INSERT", {"seq": 1, "prev": GENESIS}),
        "a seq beyond the head": ("INSERT", {"seq": seq + 2}),
        "another prev_hash": ("INSERT", {"prev": GENESIS}),
        "back-dated": ("INSERT", {"at": at.replace(year=at.year - 1)}),  # type: ignore[attr-defined]
    }
    for name, (verb, changed) in refusals.items():
        refused = await execute(database_url, forge.replace("INSERT", verb, 1), {**values, **changed})
        assert refused is not None, name
        assert "append-only" in refused or "unique" in refused.lower(), (name, refused)
    assert await head(database_url) == (row_id, seq, digest, at)
    # What continues the head goes in (its hash is wrong: verify names it, as test_tamper shows).
    assert await execute(database_url, forge, values) is None


async def test_truncate_is_refused_on_postgresql(api: Api, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused by its own trigger)")
    before = await head(database_url)
    for statement in ("TRUNCATE audit_event", 'TRUNCATE "user" CASCADE'):
        refused = await execute(database_url, statement)
        assert refused is not None, statement
        assert "append-only" in refused, refused
    assert await head(database_url) == before
    # The owner can still switch the triggers off: what the chain and a checkpoint are for.
    async with as_owner(database_url):
        pass
