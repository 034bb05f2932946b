"""projectQuality on a project with 100,000 labels (20,000 items x 5 annotators of 50), in process.

    .venv/bin/python -m bench.quality_report [--items N] [--gold N] [--runs N] [--sqlite-only]

Builds the project in a fresh database (`labelgraph migrate`, then bulk inserts of items, tasks,
labels and decisions in force; and `--gold` gold items, 200 by default, each answered by 5
annotators with their scored gold responses and no decision), then times
`workflow.quality_report.project_quality` as the resolver calls it (one read session, the admin's
actor), `--runs` times per database, plus one run with `segment_by` and a daily window. Prints the
median and the range.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from app.auth.actor import Actor
from app.auth.models import IdentityKind, User
from app.clock import utcnow
from app.db import create_engine, session_factory
from app.expertise.models import GoldAnswer, GoldResponse
from app.ids import new_id
from app.ingestion.models import Item, ItemStatus
from app.policies.enforcer import Authorizer
from app.projects.models import Project
from app.taxonomy.models import LabelSchemaVersion
from app.workflow import quality_report
from app.workflow.models import Assignment, AssignmentStatus, Decision, DecisionMethod, Label, LabelStatus
from bench.crowd import make_crowd
from bench.server import bootstrap
from bench.stores import PostgresStore, SqliteStore, postgres_answers

SCHEMA = {"fields": [{"name": "sentiment", "kind": "single_choice", "classes": [f"c{i}" for i in range(10)]}]}


async def build(url: str, n_items: int, n_gold: int = 0) -> tuple[Actor, Project]:
    """`n_items` ordinary items, decided, then `n_gold` gold items (the crowd's last ones: their
    true class is the gold answer), labeled the same way and never decided."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    crowd = make_crowd(n_items=n_items + n_gold, per_item=5, n_classes=10, n_annotators=50)
    r = crowd.ratings
    now = utcnow()
    admin_id = new_id()
    people = [new_id() for _ in range(r.n_annotators)]
    async with sessions() as session:
        session.add(User(id=admin_id, username="quality-bench-admin", secret_hash="-", kind=IdentityKind.HUMAN))
        for i, person in enumerate(people):
            session.add(User(id=person, username=f"quality-bench-{i}", secret_hash="-"))
        project = Project(name="Quality bench", created_by=admin_id, overlap=5, max_overlap=5)
        session.add(project)
        await session.flush()
        schema = LabelSchemaVersion(project_id=project.id, version=1, definition=SCHEMA, created_by=admin_id)
        session.add(schema)
        await session.flush()
        item_ids = [new_id() for _ in range(n_items + n_gold)]
        start = now - timedelta(days=30)
        await session.execute(
            insert(Item),
            [
                {
                    "id": item_ids[i],
                    "project_id": project.id,
                    "external_id": f"q-{i}",
                    "data": {"text": f"item {i}"},
                    "meta": {"lang": ("en", "de", "fr")[i % 3]},
                    "content_hash": f"{i:064d}",
                    # A gold item stays queued with its overlap, however many answers it got.
                    "status": ItemStatus.QUEUED if i >= n_items else ItemStatus.FINAL,
                    "labels_required": 5 if i >= n_items else 0,
                    "label_count": 0 if i >= n_items else 5,
                    "gold": i >= n_items,
                    "created_at": start,
                }
                for i in range(n_items + n_gold)
            ],
        )
        truth = crowd.truth.tolist()
        if n_gold:
            await session.execute(
                insert(GoldAnswer),
                [
                    {
                        "item_id": item_ids[i],
                        "project_id": project.id,
                        "value": {"sentiment": f"c{truth[i]}"},
                        "set_by": admin_id,
                        "set_at": start,
                    }
                    for i in range(n_items, n_items + n_gold)
                ],
            )
        responses: list[dict[str, Any]] = []
        assignments: list[dict[str, Any]] = []
        labels: list[dict[str, Any]] = []
        for n, (i, a, v) in enumerate(zip(r.item.tolist(), r.annotator.tolist(), r.value.tolist(), strict=True)):
            at = start + timedelta(seconds=n * 25)
            task = new_id()
            assignments.append(
                {
                    "id": task,
                    "project_id": project.id,
                    "item_id": item_ids[i],
                    "annotator_id": people[a],
                    "status": AssignmentStatus.SUBMITTED,
                    "claimed_at": at,
                    "lease_expires_at": at,
                    "submitted_at": at,
                }
            )
            label_id = new_id()
            if i >= n_items:
                score = float(v == truth[i])
                responses.append(
                    {
                        "id": new_id(),
                        "project_id": project.id,
                        "item_id": item_ids[i],
                        "annotator_id": people[a],
                        "label_id": label_id,
                        "score": score,
                        "fields": {"sentiment": score},
                        "created_at": at,
                    }
                )
            labels.append(
                {
                    "id": label_id,
                    "project_id": project.id,
                    "item_id": item_ids[i],
                    "assignment_id": task,
                    "author_id": people[a],
                    "value": {"sentiment": f"c{v}"},
                    "status": LabelStatus.SUBMITTED,
                    "time_spent_ms": 4000 + (n % 7) * 500,
                    "schema_version_id": schema.id,
                    "created_at": at,
                }
            )
        for table, rows in ((Assignment, assignments), (Label, labels), (GoldResponse, responses)):
            for k in range(0, len(rows), 5000):
                await session.execute(insert(table), rows[k : k + 5000])
        counts = r.counts()
        await session.execute(
            insert(Decision),
            [
                {
                    "id": new_id(),
                    "project_id": project.id,
                    "item_id": item_ids[i],
                    "version": 1,
                    "value": {"sentiment": f"c{int(np.argmax(counts[i]))}"},
                    "method": DecisionMethod.AGGREGATED,
                    "confidence": float(counts[i].max() / 5),
                    "agreement": float(counts[i].max() / 5),
                    "detail": {},
                    "rationale": "",
                    "schema_version_id": schema.id,
                    "decided_at": now,
                }
                for i in range(n_items)
            ],
        )
        await session.commit()
    await engine.dispose()
    actor = Actor(
        admin_id, "quality-bench-admin", IdentityKind.HUMAN, Authorizer([(f"user:{admin_id}", "role:admin", "*")])
    )
    return actor, project


async def measure(url: str, actor: Actor, project: Project, runs: int, **options: Any) -> list[float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    times = []
    try:
        for _ in range(runs):
            async with sessions() as session:
                started = time.perf_counter()
                report = await quality_report.project_quality(session, actor, project, **options)
                times.append(time.perf_counter() - started)
        assert report.figures.labels > 0
    finally:
        await engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--gold", type=int, default=200, help="gold items, 5 answers each (default 200)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stores: list[Any] = [SqliteStore(Path(folder))]
        if not args.sqlite_only and postgres_answers() is None:
            stores.append(PostgresStore())
        for store in stores:
            store.fresh()
            bootstrap(store.url())
            started = time.perf_counter()
            actor, project = asyncio.run(build(store.url(), args.items, args.gold))
            print(
                f"{store.name}: built {args.items * 5:,} labels and {args.gold * 5:,} gold answers "
                f"in {time.perf_counter() - started:.1f} s"
            )
            for name, options in (
                ("projectQuality", {}),
                ("with segmentBy + daily window", {"segment_by": "lang", "window_hours": 24}),
            ):
                times = asyncio.run(measure(store.url(), actor, project, args.runs, **options))
                ms = [t * 1000 for t in times]
                print(f"  {name}: p50 {statistics.median(ms):.0f} ms [{min(ms):.0f}-{max(ms):.0f}] over {len(ms)} runs")
            store.drop()


if __name__ == "__main__":
    main()
