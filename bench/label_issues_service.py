"""detectLabelIssues end to end for bench/label_issues.py --service: a fresh SQLite database, a
project holding a corpus's items with their (noisy) labels as decisions in force, then the
mutation and every page of project.labelIssues through the ASGI app, in process.

Returns, as row indices of the corpus: the run's ranked issues ("service"), the ranks it flagged
for audit ("service top K"), and cleanlab's default on the out-of-fold probabilities the built-in
model gives these items as the service trains it ("service cleanlab").
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from alembic import command
from alembic.config import Config
from cleanlab.filter import find_label_issues as cleanlab_find
from sqlalchemy import insert
from sqlmodel import col, select

import app.tables  # noqa: F401
from app.auth.actor import Actor
from app.auth.models import User
from app.automation import classifier, detection
from app.clock import utcnow
from app.db import create_engine, session_factory, unit_of_work
from app.ids import new_id
from app.ingestion.models import Item, ItemStatus
from app.main import create_app
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, user_subject
from app.projects.service import NewProject, create_project
from app.schema.node import global_id
from app.settings import Settings
from app.taxonomy.models import LabelSchemaVersion
from app.workflow.models import Decision, DecisionMethod

ROOT = Path(__file__).resolve().parent.parent
DETECT = """
mutation Detect($input: DetectLabelIssuesInput!) {
  detectLabelIssues(input: $input) { run { itemCount issueCount flagged } errors { code field message } }
}
"""
ISSUES = """
query Issues($id: ID!, $after: String) {
  project(id: $id) {
    labelIssues(first: 100, after: $after) {
      issues { pageInfo { hasNextPage endCursor } nodes { rank outcome item { externalId } } }
    }
  }
}
"""


async def _seed(settings: Settings, texts: Sequence[str], labels: Sequence[str], classes: Sequence[str]) -> Any:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        async with unit_of_work(sessions, write=True) as session:
            admin = User(username="admin", secret_hash="-", display_name="Admin")
            session.add(admin)
            await session.flush()
            actor = Actor(
                admin.id, admin.username, admin.kind, Authorizer([(user_subject(admin.id), "role:admin", "*")])
            )
            topic = {"name": "topic", "kind": "single_choice", "classes": list(classes), "required": True}
            schema = {"fields": [topic]}
            project = await create_project(session, actor, NewProject("Bench label issues", schema, guideline="# B"))
            session.add(CasbinRule(ptype="g", v0=user_subject(admin.id), v1=Role.ADMIN.subject, v2="*"))
            version = await session.scalar(
                select(LabelSchemaVersion.id).where(col(LabelSchemaVersion.project_id) == project.id)
            )
            now = utcnow()
            items = [new_id() for _ in texts]  # time-ordered: id order is corpus order
            await session.execute(
                insert(Item),
                [
                    {
                        "id": item_id,
                        "project_id": project.id,
                        "external_id": f"r-{i}",
                        "data": {"text": text},
                        "meta": {},
                        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                        "status": ItemStatus.FINAL,
                        "label_count": 1,
                        "labels_required": 0,
                        "created_at": now,
                    }
                    for i, (item_id, text) in enumerate(zip(items, texts, strict=True))
                ],
            )
            await session.execute(
                insert(Decision),
                [
                    {
                        "id": new_id(),
                        "project_id": project.id,
                        "item_id": item_id,
                        "version": 1,
                        "value": {"topic": label},
                        "method": DecisionMethod.AGGREGATED,
                        "confidence": 1.0,
                        "agreement": 1.0,
                        "detail": {},
                        "rationale": "",
                        "schema_version_id": version,
                        "decided_at": now,
                    }
                    for item_id, label in zip(items, labels, strict=True)
                ],
            )
        return project.id, admin.id
    finally:
        await engine.dispose()


async def _detect(settings: Settings, project: uuid.UUID, admin: uuid.UUID, top: int) -> list[tuple[int, bool]]:
    application = create_app(settings)
    found: list[tuple[int, bool]] = []
    async with application.router.lifespan_context(application):
        headers = {"Authorization": f"Bearer {application.state.runtime.tokens.issue(admin, 'bench')}"}
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=3600) as client:
            pid = str(global_id("Project", project))
            variables = {"input": {"projectId": pid, "top": top}}
            response = await client.post("/graphql", json={"query": DETECT, "variables": variables}, headers=headers)
            payload = response.json()["data"]["detectLabelIssues"]
            assert payload["errors"] == [], payload
            after = None
            while True:
                body = {"query": ISSUES, "variables": {"id": pid, "after": after}}
                page = (await client.post("/graphql", json=body, headers=headers)).json()
                issues = page["data"]["project"]["labelIssues"]["issues"]
                for node in issues["nodes"]:
                    found.append((int(node["item"]["externalId"][2:]), node["outcome"] == "FLAGGED"))
                if not issues["pageInfo"]["hasNextPage"]:
                    return found
                after = issues["pageInfo"]["endCursor"]


def run_service(
    texts: Sequence[str], labels: Sequence[str], classes: Sequence[str], top: int | None = None
) -> dict[str, npt.NDArray[np.intp]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/label_issues.db"
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["database_url"] = url
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        settings = Settings(database_url=url, secret_key="bench-" + "k" * 40)
        project, admin = asyncio.run(_seed(settings, texts, labels, classes))
        wanted = top if top is not None else min(1000, max(1, len(texts) // 10))
        ranked = asyncio.run(_detect(settings, project, admin, wanted))
    kept = [c for c in classes if sum(1 for label in labels if label == c) >= detection.MIN_PER_CLASS]
    trained = classifier.train(list(texts), list(labels), classes=kept, seed=detection.SEED)
    index = {c: i for i, c in enumerate(kept)}
    given = np.fromiter((index[label] for label in labels), dtype=np.intp, count=len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cleanlab_find(given, trained.oof_proba, return_indices_ranked_by="normalized_margin")
    return {
        "service": np.array([i for i, _ in ranked], dtype=np.intp),
        "service top K": np.array([i for i, flagged in ranked if flagged], dtype=np.intp),
        "service cleanlab": np.asarray(theirs, dtype=np.intp),
    }
