"""How long `labelgraph retention apply` takes to purge a project's expired items.

    .venv/bin/python -m bench.retention [--items N] [--runs N] [--postgres]

Each run fills a fresh database straight through SQL (one project keeping 30 days, N items
imported 40 days ago, each with one label carrying a free-text value and a rationale, and one
comment), then times the dry run and the purge (retention.apply, as the command runs it). Prints
the median and the spread of the runs; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import insert
from sqlmodel import SQLModel

import app.tables  # noqa: F401  (every table, for the foreign keys)
from app.auth.models import IdentityKind, User
from app.clock import utcnow
from app.db import create_engine, session_factory
from app.discussion.models import Comment
from app.erasure import retention
from app.ingestion.models import Item
from app.projects.models import Project
from app.taxonomy.models import LabelSchemaVersion
from app.workflow.models import Assignment, AssignmentStatus, Label
from bench.server import ROOT
from bench.stores import PostgresStore

SCHEMA = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg"], "required": True},
        {"name": "note", "kind": "text"},
    ]
}
BATCH = 2_000


async def populate(url: str, items: int) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes.update(database_url=url, configure_logger=False)
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(url)
    old = utcnow() - timedelta(days=40)
    user = User(username="bench", display_name="Bench", kind=IdentityKind.HUMAN, secret_hash="x")
    project = Project(name="Retention", created_by=user.id, retention_days=30)
    version = LabelSchemaVersion(project_id=project.id, version=1, definition=SCHEMA, created_by=user.id)
    try:
        async with engine.begin() as conn:
            for row in (user, project, version):
                await conn.execute(insert(type(row)), [row.model_dump()])
            for start in range(0, items, BATCH):
                rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
                for n in range(start, min(start + BATCH, items)):
                    item = Item(
                        project_id=project.id,
                        external_id=f"i-{n}",
                        data={"text": f"content {n}"},
                        content_hash="x",
                        created_at=old,
                    )
                    task = Assignment(
                        project_id=project.id,
                        item_id=item.id,
                        annotator_id=user.id,
                        status=AssignmentStatus.SUBMITTED,
                        lease_expires_at=old,
                    )
                    label = Label(
                        project_id=project.id,
                        item_id=item.id,
                        assignment_id=task.id,
                        author_id=user.id,
                        value={"sentiment": "pos", "note": f"note {n}"},
                        rationale=f"why {n}",
                        schema_version_id=version.id,
                    )
                    comment = Comment(project_id=project.id, item_id=item.id, author_id=user.id, body=f"said {n}")
                    for made in (item, task, label, comment):
                        rows[type(made)].append(made.model_dump())
                for model in (Item, Assignment, Label, Comment):  # parents first
                    await conn.execute(insert(model), rows[model])
    finally:
        await engine.dispose()


async def measure(url: str, items: int) -> tuple[float, float]:
    await populate(url, items)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        started = time.perf_counter()
        [dry] = await retention.apply(sessions, dry_run=True)
        dry_s = time.perf_counter() - started
        started = time.perf_counter()
        [done] = await retention.apply(sessions, dry_run=False)
        apply_s = time.perf_counter() - started
        assert dry.items == done.items == items, (dry, done)
        return dry_s, apply_s
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retention", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="measure on PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    results: list[tuple[float, float]] = []
    for _ in range(args.runs):
        if args.postgres:
            store = PostgresStore()
            store.fresh()
            try:
                results.append(asyncio.run(measure(store.url(), args.items)))
            finally:
                store.drop()
        else:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'retention.db'}"
                results.append(asyncio.run(measure(url, args.items)))
    store_name = "PostgreSQL" if args.postgres else "SQLite"
    for name, times in (("dry run", [r[0] for r in results]), ("apply", [r[1] for r in results])):
        median = statistics.median(times)
        print(
            f"retention {name} over {args.items:,} items, each with a label and a comment ({store_name}): "
            f"median {median:.2f} s [{min(times):.2f}-{max(times):.2f}] of {len(times)}, "
            f"{args.items / median:,.0f} items/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
