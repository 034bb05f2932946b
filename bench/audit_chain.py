"""What the audit hash chain costs: appends (one event per unit of work, alone and from several
writers at once) and verifying a long log, batch by batch.

    .venv/bin/python -m bench.audit_chain [--events N] [--appends N] [--runs N] [--sqlite-only]

Builds a correct chain of N events (default 1,000,000) straight into a fresh database (SQLite
file; PostgreSQL database `labelgraph_bench_chain` when it answers), then times verify_chain()
over it and reports the Python heap's peak while it runs (tracemalloc): memory stays bounded by
the batch, not the log. Prints medians and spreads; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utcnow
from app.compliance import audit
from app.compliance.chain import GENESIS, Link, link_hash
from app.compliance.models import AuditEvent
from app.compliance.service import verify_chain
from app.db import create_engine, session_factory, unit_of_work
from bench.stores import PG_ADMIN_URL, PG_HOST, PG_PORT, postgres_answers

ROOT = Path(__file__).resolve().parent.parent
PG_DB = "labelgraph_bench_chain"
FILL_BATCH = 10_000
WRITERS = 4


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def fill(engine: AsyncEngine, events: int) -> None:
    """A correct chain of `events` events, inserted in batches (each passes the chain trigger)."""
    start, prev = utcnow(), GENESIS
    actor, project = None, None
    for first in range(1, events + 1, FILL_BATCH):
        rows = []
        for seq in range(first, min(first + FILL_BATCH, events + 1)):
            link = Link(
                seq=seq,
                occurred_at=start + timedelta(microseconds=seq),
                actor_id=actor,
                actor_kind="SYSTEM",
                action="bench.event",
                entity_type="Item",
                entity_id=str(uuid.UUID(int=seq)),
                project_id=project,
                input_digest="0" * 64,
                prev_hash=prev,
            )
            prev = link_hash(prev, link)
            rows.append(
                {
                    "seq": seq,
                    "prev_hash": link.prev_hash,
                    "hash": prev,
                    "occurred_at": link.occurred_at,
                    "actor_id": actor,
                    "actor_kind": link.actor_kind,
                    "action": link.action,
                    "entity_type": link.entity_type,
                    "entity_id": link.entity_id,
                    "project_id": project,
                    "input_digest": link.input_digest,
                    "details": {"n": seq},
                }
            )
        async with engine.begin() as conn:
            await conn.execute(insert(AuditEvent), rows)


async def appends(engine: AsyncEngine, count: int, writers: int) -> float:
    """Units of work per second, each recording one event, from `writers` at once."""
    sessions = session_factory(engine)

    async def writer(n: int) -> None:
        for i in range(count // writers):
            async with unit_of_work(sessions, write=True) as session:
                await audit.record(session, None, "bench.append", "Test", f"{n}-{i}")

    began = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    return (count // writers * writers) / (time.perf_counter() - began)


async def verify(engine: AsyncEngine, *, traced: bool = False) -> tuple[float, float, int]:
    """(seconds, peak Python heap in MiB when traced, events checked) of one verify_chain over
    the log. Tracing slows every allocation, so timed runs are not traced."""
    sessions = session_factory(engine)
    if traced:
        tracemalloc.start()
    began = time.perf_counter()
    async with sessions() as session:
        result = await verify_chain(session)
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
    tracemalloc.stop()
    assert result.ok, result.summary()
    return elapsed, peak, result.checked


def spread(values: list[float], unit: str, digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}] {unit}"


async def measure(name: str, url: str, args: argparse.Namespace) -> None:
    engine = create_engine(url)
    try:
        began = time.perf_counter()
        await fill(engine, args.events)
        print(f"  {name}: filled {args.events:,} events in {time.perf_counter() - began:.1f} s", flush=True)
        runs = [await verify(engine) for _ in range(args.runs)]
        seconds = [r[0] for r in runs]
        rate = [r[2] / r[0] for r in runs]
        print(f"  {name}: verify {runs[0][2]:,} events: {spread(seconds, 's', 2)}, {spread(rate, 'events/s', 0)}")
        peak = (await verify(engine, traced=True))[1]
        print(f"  {name}: verify, peak Python heap (tracemalloc): {peak:.1f} MiB", flush=True)
        # Appends at the head of that log (the head is one index probe, however long the log).
        one = [await appends(engine, args.appends, 1) for _ in range(args.runs)]
        many = [await appends(engine, args.appends, WRITERS) for _ in range(args.runs)]
        print(f"  {name}: appends, 1 writer: {spread(one, 'units/s')}", flush=True)
        print(f"  {name}: appends, {WRITERS} writers: {spread(many, 'units/s')}", flush=True)
    finally:
        await engine.dispose()


async def pg_admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_chain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log verified")
    parser.add_argument("--appends", type=int, default=2_000, help="units of work per append measurement")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        migrate(f"sqlite+aiosqlite:///{folder}/chain.db")
        asyncio.run(measure("SQLite", f"sqlite+aiosqlite:///{folder}/chain.db", args))
    if args.sqlite_only or postgres_answers() is not None:
        return
    asyncio.run(pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", f"CREATE DATABASE {PG_DB}"))
    url = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}"
    try:
        migrate(url)
        asyncio.run(measure("PostgreSQL", url, args))
    finally:
        asyncio.run(pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))


if __name__ == "__main__":
    main()
