"""What the bearer check's identity lookup costs, cached or read on every request (app/auth/identities.py).

    .venv/bin/python -m bench.identity_check [--requests N] [--rounds N] [--postgres]

A fresh migrated database with one person; the real app in process (httpx over ASGI). Times
(1) one read of the identity row (a cache miss), and (2) whole requests `{ viewer { username } }`
with a bearer token, two ways in alternating rounds: as built (the per-process cache, kept exact
by invalidation) and reading the row on every request (the alternative it was chosen over).
On PostgreSQL also (3) how long a change takes to reach a second server process's cache: an
account changed through one runtime, until another runtime on the same database has dropped
its entry (the NOTIFY delivered and handled). Prints medians; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, update

import app.tables  # noqa: F401  (every table, for the foreign keys)
from app.auth import identities
from app.auth.models import IdentityKind, User
from app.db import create_engine, unit_of_work
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from bench.server import ROOT
from bench.stores import PostgresStore

SECRET = "bench-identity-check-secret-key-0123456789abcdef"
QUERY = {"query": "{ viewer { username } }"}


async def populate(url: str) -> uuid.UUID:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes.update(database_url=url, configure_logger=False)
    await asyncio.to_thread(command.upgrade, config, "head")
    user = User(username="bench", kind=IdentityKind.HUMAN, secret_hash="x")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(User), [user.model_dump()])
    finally:
        await engine.dispose()
    return user.id


def uncached(cache: identities.IdentityCache) -> identities.IdentityCache:
    """The same cache forgetting everything before each lookup: a read on every request."""

    class EveryRequest(identities.IdentityCache):
        async def get(self, user_id: uuid.UUID) -> identities.Identity | None:
            self.forget(user_id)
            return await super().get(user_id)

    reader = EveryRequest.__new__(EveryRequest)
    reader.__dict__.update(cache.__dict__)
    return reader


async def notice_latency(url: str, user_id: uuid.UUID, runtime: Runtime, times: int) -> list[float]:
    """Change the account through `runtime`'s sessions; time until a second runtime forgot it."""
    settings = Settings(database_url=url, secret_key=SECRET, access_history=False)
    other = await Runtime.start(settings)
    found: list[float] = []
    try:
        for _ in range(times):
            await other.identities.get(user_id)
            assert user_id in other.identities._entries
            async with unit_of_work(runtime.sessions, write=True) as session:
                await session.execute(update(User).where(User.id == user_id).values(display_name="x"))
                await identities.changed(session, user_id)
            committed = time.perf_counter()
            while user_id in other.identities._entries:
                if time.perf_counter() - committed > 5:
                    raise RuntimeError("no notice within 5 s")
                await asyncio.sleep(0)
            found.append((time.perf_counter() - committed) * 1e3)
    finally:
        await other.stop()
    return found


async def measure(url: str, requests: int, rounds: int, postgres: bool) -> dict[str, list[float]]:
    user_id = await populate(url)
    application = create_app(Settings(database_url=url, secret_key=SECRET, access_history=False))
    results: dict[str, list[float]] = {"miss_us": [], "cached_ms": [], "every_ms": [], "notice_ms": []}
    async with application.router.lifespan_context(application):
        runtime: Runtime = application.state.runtime
        built = runtime.identities
        every = uncached(built)
        headers = {"Authorization": f"Bearer {runtime.tokens.issue(user_id, 'bench')}"}
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for _ in range(20):  # warm up: schema, caches, connections
                assert (await client.post("/graphql", json=QUERY)).status_code == 200
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(requests):
                    await every.get(user_id)
                results["miss_us"].append((time.perf_counter() - started) / requests * 1e6)
                for name, cache in (("cached_ms", built), ("every_ms", every)):
                    runtime.identities = cache
                    started = time.perf_counter()
                    for _ in range(requests):
                        response = await client.post("/graphql", json=QUERY)
                    results[name].append((time.perf_counter() - started) / requests * 1e3)
                    assert response.status_code == 200
                runtime.identities = built
        if postgres:
            results["notice_ms"] = await notice_latency(url, user_id, runtime, 50)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.identity_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000, help="requests per round and way")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="measure on PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    if args.postgres:
        store = PostgresStore()
        store.fresh()
        try:
            results = asyncio.run(measure(store.url(), args.requests, args.rounds, True))
        finally:
            store.drop()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'identity.db'}"
            results = asyncio.run(measure(url, args.requests, args.rounds, False))
    store_name = "PostgreSQL" if args.postgres else "SQLite"
    miss = statistics.median(results["miss_us"])
    cached, every = statistics.median(results["cached_ms"]), statistics.median(results["every_ms"])
    print(f"identity check on {store_name}, {args.rounds} rounds of {args.requests:,}, medians:")
    print(f"  one read of the identity (a cache miss):       {miss:8.1f} us")
    print(f"  {{ viewer {{ username }} }}, cached (as built):     {cached:8.3f} ms")
    print(f"  {{ viewer {{ username }} }}, read every request:   {every:8.3f} ms")
    print(
        f"  a read on every request would add:            {(every - cached) * 1e3:8.1f} us ({every / cached - 1:+.1%})"
    )
    if results["notice_ms"]:
        notice = results["notice_ms"]
        print(
            f"  a change reaching another process's cache:    {statistics.median(notice):8.2f} ms "
            f"(max {max(notice):.2f} of {len(notice)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
