"""A 10,000-row submitSuggestions, in process: rows per second for new rows, an identical re-push
and a changed re-push, on SQLite and (when it answers) PostgreSQL.

`python -m bench.suggestions [--rows N] [--runs R] [--sqlite-only]` migrates a fresh SQLite file
(and a fresh PostgreSQL database `labelgraph_bench_suggestions` at 127.0.0.1:5432, dropped at the
end), writes N items straight into it, then sends, through the ASGI app (httpx, no network) as an
ML service with a real token, R rounds of: N suggestions under a new model version (all created),
the same N again (all unchanged), and N with other values (all updated). Each row is
`{externalId, value: {sentiment}, confidence, perField}`; the whole request is timed (GraphQL
parsing of the variables, every row's check, the lookups, the writes, the audit event). It prints
`median [min-max]` rows/s per kind and database. It never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import insert

import app.tables  # noqa: F401
from app.auth.actor import Actor
from app.auth.models import IdentityKind, User
from app.clock import utcnow
from app.db import create_engine, session_factory, unit_of_work
from app.ids import new_id
from app.ingestion.models import Item, ItemStatus
from app.main import create_app
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, domain, user_subject
from app.projects.service import NewProject, create_project
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"]},
    ]
}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "labelgraph_bench_suggestions"
PUSH = """
mutation Push($input: SubmitSuggestionsInput!) {
  submitSuggestions(input: $input) { created updated unchanged errors { code field } }
}
"""


async def seed(settings: Settings, n: int) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        async with unit_of_work(sessions, write=True) as session:
            admin = User(username="admin", secret_hash="-", display_name="Admin")
            bot = User(username="bot", secret_hash="-", display_name="Bot", kind=IdentityKind.SERVICE)
            session.add_all([admin, bot])
            await session.flush()
            system = Actor(
                admin.id, admin.username, admin.kind, Authorizer([(user_subject(admin.id), "role:admin", "*")])
            )
            project = await create_project(session, system, NewProject("Bench", SCHEMA, guideline="# Bench"))
            session.add(
                CasbinRule(ptype="g", v0=user_subject(bot.id), v1=Role.ML_SERVICE.subject, v2=domain(project.id))
            )
            now = utcnow()
            for start in range(0, n, 2_000):
                await session.execute(
                    insert(Item),
                    [
                        {
                            "id": new_id(),
                            "project_id": project.id,
                            "external_id": f"e-{i}",
                            "data": {"text": "x" * 200},
                            "meta": {},
                            "content_hash": hashlib.sha256(str(i).encode()).hexdigest(),
                            "status": ItemStatus.QUEUED,
                            "labels_required": 1,
                            "created_at": now,
                        }
                        for i in range(start, min(n, start + 2_000))
                    ],
                )
        return project.id, bot.id
    finally:
        await engine.dispose()


def rows(n: int, classes: tuple[str, ...], base: float) -> list[dict[str, Any]]:
    return [
        {
            "externalId": f"e-{i}",
            "value": {"sentiment": classes[i % len(classes)]},
            "confidence": base + (i % 50) / 100,
            "perField": {"sentiment": base + (i % 50) / 100},
        }
        for i in range(n)
    ]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} rows/s [{min(values):,.0f}-{max(values):,.0f}]"


async def measure(settings: Settings, project: uuid.UUID, bot: uuid.UUID, n: int, runs: int) -> dict[str, str]:
    from app.schema.node import global_id

    application = create_app(settings)
    figures: dict[str, list[float]] = {"created": [], "unchanged": [], "updated": []}
    async with application.router.lifespan_context(application):
        token = application.state.runtime.tokens.issue(bot, "bench")
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:

            async def push(version: str, suggestions: list[dict[str, Any]], kind: str) -> None:
                variables = {
                    "input": {
                        "projectId": str(global_id("Project", project)),
                        "modelName": "bench",
                        "modelVersion": version,
                        "suggestions": suggestions,
                    }
                }
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": PUSH, "variables": variables}, headers=headers)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                payload = response.json()["data"]["submitSuggestions"]
                assert payload["errors"] == [], payload
                assert payload[kind] == n, payload
                figures[kind].append(n / elapsed)

            first, other = rows(n, ("pos", "neg", "neu"), 0.5), rows(n, ("neu", "pos"), 0.4)
            for run in range(runs):
                await push(f"v{run}", first, "created")
                await push(f"v{run}", first, "unchanged")
                await push(f"v{run}", other, "updated")
    return {kind: spread(values) for kind, values in figures.items()}


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def pg_database(create: bool) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        if create:
            await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    return True


def run(url: str, label: str, n: int, runs: int) -> None:
    migrate(url)
    settings = Settings(database_url=url, secret_key="bench-" + "k" * 40)
    project, bot = asyncio.run(seed(settings, n))
    found = asyncio.run(measure(settings, project, bot, n, runs))
    print(f"{label}: {n:,} suggestions per call, {runs} runs, in process")
    for kind, figure in found.items():
        print(f"  {kind:9} {figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite", args.rows, args.runs)
    if args.sqlite_only:
        return
    if not asyncio.run(pg_database(create=True)):
        print("PostgreSQL: not reachable at 127.0.0.1:5432, skipped")
        return
    try:
        run(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}", "PostgreSQL", args.rows, args.runs)
    finally:
        asyncio.run(pg_database(create=False))


if __name__ == "__main__":
    main()
