"""How long a schema proposal's impact dry run takes on a project with many labels.

    .venv/bin/python -m bench.impact [--labels N] [--runs N] [--postgres]

Builds one project with N labels (half of its items final) straight into a fresh database,
then times dry_run() — the part of proposeSchemaChange that grows with the project — for a
rename of one class. Prints the median and the spread; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from app.auth.models import IdentityKind, User
from app.clock import utcnow
from app.db import create_engine, session_factory
from app.ingestion.models import Item, ItemStatus
from app.projects.models import Project
from app.taxonomy import schema_language
from app.taxonomy.dry_run import dry_run
from app.taxonomy.mapping import parse_mapping
from app.taxonomy.models import LabelSchemaVersion
from app.taxonomy.versions import version_chain
from app.workflow.models import Assignment, FinalLabel, FinalMethod, Label, Review, Verdict
from bench.server import ROOT
from bench.stores import PostgresStore
from seeds.demo import LABEL_SCHEMA

PROPOSED = {
    "fields": [
        {**LABEL_SCHEMA["fields"][0], "classes": ["positive", "negative", "neutral", "ambivalent"]},
        *LABEL_SCHEMA["fields"][1:],
    ]
}
MAPPING = parse_mapping({"sentiment": {"mixed": "ambivalent"}}, {})
BATCH = 2_000


def random_value(rng: random.Random) -> dict[str, Any]:
    sentiment = LABEL_SCHEMA["fields"][0]["classes"]
    topics = LABEL_SCHEMA["fields"][1]["classes"]
    return {"sentiment": rng.choice(sentiment), "topics": rng.sample(topics, rng.randint(0, 3))}


async def populate(url: str, labels: int) -> uuid.UUID:
    """A project whose every item has one label; every other item is final."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes.update(database_url=url, configure_logger=False)
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(url)
    try:
        return await _fill(engine, labels)
    finally:
        await engine.dispose()


async def _fill(engine: AsyncEngine, labels: int) -> uuid.UUID:
    rng, now = random.Random(7), utcnow()
    user = User(username="bench", display_name="Bench", kind=IdentityKind.HUMAN, secret_hash="x")
    project = Project(name="Impact", created_by=user.id)
    version = LabelSchemaVersion(project_id=project.id, version=1, definition=LABEL_SCHEMA, created_by=user.id)
    async with engine.begin() as conn:
        for row in (user, project, version):
            await conn.execute(insert(type(row)), [row.model_dump()])
        for start in range(0, labels, BATCH):
            rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
            for n in range(start, min(start + BATCH, labels)):
                value, final = random_value(rng), n % 2 == 0
                status = ItemStatus.FINAL if final else ItemStatus.IN_REVIEW
                item = Item(project_id=project.id, external_id=f"i-{n}", data={}, content_hash="x", status=status)
                lease = now + timedelta(minutes=10)
                task = Assignment(project_id=project.id, item_id=item.id, annotator_id=user.id, lease_expires_at=lease)
                label = Label(
                    project_id=project.id,
                    item_id=item.id,
                    assignment_id=task.id,
                    author_id=user.id,
                    value=value,
                    schema_version_id=version.id,
                )
                made: list[SQLModel] = [item, task, label]
                if final:
                    review = Review(
                        project_id=project.id,
                        item_id=item.id,
                        label_id=label.id,
                        reviewer_id=user.id,
                        verdict=Verdict.ACCEPT,
                        schema_version_id=version.id,
                    )
                    made += [
                        review,
                        FinalLabel(
                            project_id=project.id,
                            item_id=item.id,
                            value=value,
                            method=FinalMethod.CONSENSUS_ACCEPTED,
                            agreement=1.0,
                            source_label_ids=[str(label.id)],
                            review_id=review.id,
                            schema_version_id=version.id,
                            decided_by=user.id,
                        ),
                    ]
                for row in made:
                    rows[type(row)].append(row.model_dump())
            for model in (Item, Assignment, Label, Review, FinalLabel):  # parents first
                await conn.execute(insert(model), rows[model])
    return project.id


async def measure(url: str, labels: int, runs: int) -> list[float]:
    project_id = await populate(url, labels)
    engine = create_engine(url)
    proposed = schema_language.parse(PROPOSED)
    times = []
    try:
        for _ in range(runs):
            async with session_factory(engine)() as session:
                project = await session.scalar(select(Project).where(Project.id == project_id))
                assert project is not None
                chain = await version_chain(session, project)
                started = time.perf_counter()
                report = await dry_run(session, project.id, chain, MAPPING, proposed)
                times.append(time.perf_counter() - started)
            tallied = report.labels.valid + report.labels.remapped + report.labels.invalid
            assert tallied == labels, report.labels
    finally:
        await engine.dispose()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.impact", description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="measure on PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    if args.postgres:
        store = PostgresStore()
        store.fresh()
        try:
            times = asyncio.run(measure(store.url(), args.labels, args.runs))
        finally:
            store.drop()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            times = asyncio.run(measure(f"sqlite+aiosqlite:///{Path(tmp) / 'impact.db'}", args.labels, args.runs))
    finals = (args.labels + 1) // 2
    median = statistics.median(times)
    print(
        f"dry run over {args.labels:,} labels + {finals:,} final labels "
        f"({'PostgreSQL' if args.postgres else 'SQLite'}): median {median:.2f} s "
        f"[{min(times):.2f}-{max(times):.2f}] of {len(times)}, {(args.labels + finals) / median:,.0f} values/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
