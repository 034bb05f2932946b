"""The export of 10,000 final items, in process: what recording its dataset snapshot costs.

`python -m bench.export_snapshot [--items N] [--runs R]` migrates a fresh SQLite file, writes N
final items straight into it (item, assignment, label, decision), then downloads
GET /export/{project}.jsonl R times through the ASGI app (httpx, no network) and, where the
server records snapshots, GET /export/snapshots/{id}.jsonl as often. It prints each figure as
`median [min-max]` seconds and the ratio of the medians. It never asserts on time.

Run it on the commit before the snapshots too (it imports nothing of app.lineage) for the
figure before.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import insert
from sqlmodel import select

import app.tables  # noqa: F401
from app.auth.actor import Actor
from app.auth.models import User
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
from app.taxonomy.models import LabelSchemaVersion
from app.workflow.models import Assignment, Decision, DecisionMethod, Label, LabelStatus

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = {"fields": [{"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg"], "required": True}]}


async def seed(settings: Settings, n: int) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        async with unit_of_work(sessions, write=True) as session:
            admin = User(username="admin", secret_hash="-", display_name="Admin")
            annotator = User(username="ann1", secret_hash="-", display_name="Ann")
            session.add_all([admin, annotator])
            await session.flush()
            session.add(CasbinRule(ptype="g", v0=user_subject(admin.id), v1=Role.ADMIN.subject, v2=domain(None)))
            system = Actor(
                admin.id, admin.username, admin.kind, Authorizer([(user_subject(admin.id), "role:admin", "*")])
            )
            project = await create_project(session, system, NewProject("Bench", SCHEMA, guideline="# Bench"))
            schema_id = await session.scalar(
                select(LabelSchemaVersion.id).where(LabelSchemaVersion.project_id == project.id)
            )
            now = utcnow()
            for start in range(0, n, 2_000):
                rows = range(start, min(n, start + 2_000))
                items = [new_id() for _ in rows]
                tasks = [new_id() for _ in rows]
                labels = [new_id() for _ in rows]
                await session.execute(
                    insert(Item),
                    [
                        {
                            "id": items[k],
                            "project_id": project.id,
                            "external_id": f"e-{i}",
                            "data": {"text": "x" * 200},
                            "meta": {},
                            "content_hash": hashlib.sha256(str(i).encode()).hexdigest(),
                            "status": ItemStatus.FINAL,
                            "label_count": 1,
                            "labels_required": 1,
                            "created_at": now,
                        }
                        for k, i in enumerate(rows)
                    ],
                )
                await session.execute(
                    insert(Assignment),
                    [
                        {
                            "id": tasks[k],
                            "project_id": project.id,
                            "item_id": items[k],
                            "annotator_id": annotator.id,
                            "status": "SUBMITTED",
                            "claimed_at": now,
                            "lease_expires_at": now + timedelta(minutes=10),
                        }
                        for k in range(len(items))
                    ],
                )
                await session.execute(
                    insert(Label),
                    [
                        {
                            "id": labels[k],
                            "project_id": project.id,
                            "item_id": items[k],
                            "assignment_id": tasks[k],
                            "author_id": annotator.id,
                            "value": {"sentiment": "pos"},
                            "rationale": "",
                            "status": LabelStatus.ACCEPTED,
                            "schema_version_id": schema_id,
                            "created_at": now,
                        }
                        for k in range(len(items))
                    ],
                )
                await session.execute(
                    insert(Decision),
                    [
                        {
                            "id": new_id(),
                            "project_id": project.id,
                            "item_id": items[k],
                            "version": 1,
                            "value": {"sentiment": "pos"},
                            "method": DecisionMethod.AGGREGATED,
                            "confidence": 1.0,
                            "agreement": 1.0,
                            "detail": {},
                            "rationale": "",
                            "schema_version_id": schema_id,
                            "decided_at": now,
                        }
                        for k in range(len(items))
                    ],
                )
        return project.id, admin.id
    finally:
        await engine.dispose()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s [{min(values):.3f}-{max(values):.3f}]"


async def measure(settings: Settings, project: uuid.UUID, admin: uuid.UUID, runs: int) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        token = application.state.runtime.tokens.issue(admin, "bench")
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            exports, again, size, snapshot = [], [], 0, None
            for _ in range(runs):
                started = time.perf_counter()
                response = await client.get(f"/export/{project}.jsonl", headers=headers)
                exports.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                size, snapshot = len(response.content), response.headers.get("Labelgraph-Snapshot")
            print(f"export ({size:,} bytes): {spread(exports)}")
            if snapshot is None:
                print("snapshot re-download: not on this commit")
                return
            for _ in range(runs):
                started = time.perf_counter()
                response = await client.get(f"/export/snapshots/{snapshot}.jsonl", headers=headers)
                again.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            print(f"snapshot re-download: {spread(again)}")
            print(f"re-download / export (medians): {statistics.median(again) / statistics.median(exports):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["database_url"] = url
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        settings = Settings(database_url=url, secret_key="bench-" + "k" * 40)
        project, admin = asyncio.run(seed(settings, args.items))
        print(f"{args.items:,} final items, {args.runs} runs, SQLite, in process")
        asyncio.run(measure(settings, project, admin, args.runs))


if __name__ == "__main__":
    main()
