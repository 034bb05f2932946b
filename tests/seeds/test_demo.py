"""The demo program behind `labelgraph seed --demo`, on SQLite and PostgreSQL.

Covered: loading it into an empty database, and again without changing anything; the
credentials it prints getting tokens from the real /auth/token; its label schema taking a
sample label (and refusing bad ones) when an annotator submits through the API; the
checked-in items file being well formed.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlmodel import col

from app.auth.models import User
from app.auth.passwords import Passwords
from app.compliance.models import AuditEvent
from app.db import create_engine, session_factory, unit_of_work
from app.guidelines.models import GuidelineVersion
from app.ingestion.models import Item
from app.main import create_app
from app.policies.models import CasbinRule
from app.projects.models import Project
from app.settings import Settings
from app.taxonomy.models import LabelSchemaVersion
from seeds.demo import DEMO_USERS, ITEMS_PATH, LABEL_SCHEMA, load_demo

# Cheap argon2: the demo hashes nine secrets per load.
PASSWORDS = Passwords(1, 64)
COUNTED = {
    "users": User,
    "grants": CasbinRule,
    "projects": Project,
    "items": Item,
    "schema versions": LabelSchemaVersion,
    "guideline versions": GuidelineVersion,
    "audit events": AuditEvent,
}
VIEWER = "{ viewer { username kind roles { role projectId } } }"
CLAIM = """
mutation Claim($projectId: ID!) {
  claimNextTask(input: {projectId: $projectId}) {
    assignment { id item { externalId data } }
    errors { code field }
  }
}
"""
ACKNOWLEDGE = """
mutation Acknowledge($projectId: ID!) {
  acknowledgeGuideline(input: {projectId: $projectId, version: 1}) { errors { code field } }
}
"""
SUBMIT = """
mutation Submit($assignmentId: ID!, $value: JSON!) {
  submitLabel(input: {assignmentId: $assignmentId, value: $value}) {
    label { value schemaVersion guidelineVersion }
    errors { code field }
  }
}
"""


async def load(settings: Settings) -> str:
    """What `labelgraph seed --demo` does: load_demo in one write transaction."""
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            return await load_demo(session, PASSWORDS, hash_key=settings.hash_key())
    finally:
        await engine.dispose()


async def row_counts(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            return {
                name: await session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in COUNTED.items()
            }
    finally:
        await engine.dispose()


def printed_secret(summary: str, username: str) -> str:
    """The password or client secret shown on the user's line of the summary."""
    line = next(ln for ln in summary.splitlines() if ln.split()[:1] == [username])
    return line.split()[-1]


def printed_project_id(summary: str) -> str:
    found = re.search(r"\bid (\S+), overlap 2\b", summary)
    assert found, summary
    return found.group(1)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def token(client: httpx.AsyncClient, form: dict[str, str]) -> str:
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def graphql(client: httpx.AsyncClient, bearer: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_second_load_changes_nothing(settings: Settings) -> None:
    await load(settings)
    after_first = await row_counts(settings)
    summary = await load(settings)

    assert await row_counts(settings) == after_first
    assert after_first["users"] == len(DEMO_USERS)
    assert after_first["grants"] == len(DEMO_USERS)
    assert after_first["projects"] == 1
    assert after_first["items"] >= 200
    assert "Already loaded: nothing changed." in summary
    # The rerun still prints everything needed to sign in.
    assert all(printed_secret(summary, demo.username) == demo.secret for demo in DEMO_USERS)


async def test_rerun_does_not_print_a_password_that_was_changed(settings: Settings) -> None:
    await load(settings)
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            new_hash = await PASSWORDS.hash("annotator1-picked-this")
            await session.execute(update(User).where(col(User.username) == "annotator1").values(secret_hash=new_hash))
    finally:
        await engine.dispose()

    summary = await load(settings)

    assert "(changed since seeding)" in next(ln for ln in summary.splitlines() if "annotator1 " in ln)
    assert printed_secret(summary, "annotator2") == "demo-annotator2-pass"


async def test_printed_credentials_get_tokens_for_the_demo_roles(settings: Settings) -> None:
    summary = await load(settings)
    project_id = printed_project_id(summary)

    async with running_app(settings) as client:
        for username in ("annotator1", "annotator2"):
            form = {"grant_type": "password", "username": username, "password": printed_secret(summary, username)}
            viewer = (await graphql(client, await token(client, form), VIEWER, {}))["viewer"]
            assert viewer == {
                "username": username,
                "kind": "HUMAN",
                "roles": [{"role": "ANNOTATOR", "projectId": project_id}],
            }
        form = {
            "grant_type": "client_credentials",
            "client_id": "ml-bot",
            "client_secret": printed_secret(summary, "ml-bot"),
        }
        bot = (await graphql(client, await token(client, form), VIEWER, {}))["viewer"]
        assert bot["kind"] == "SERVICE"
        assert bot["roles"] == [{"role": "ML_SERVICE", "projectId": project_id}]


async def test_demo_schema_takes_a_sample_label_and_refuses_bad_ones(settings: Settings) -> None:
    summary = await load(settings)
    project_id = printed_project_id(summary)
    form = {"grant_type": "password", "username": "annotator1", "password": printed_secret(summary, "annotator1")}

    async with running_app(settings) as client:
        bearer = await token(client, form)
        # The demo guideline is in force: work waits until the annotator says it was read.
        gated = (await graphql(client, bearer, CLAIM, {"projectId": project_id}))["claimNextTask"]
        assert gated["errors"] == [{"code": "GUIDELINE_NOT_ACKNOWLEDGED", "field": "projectId"}]
        acknowledged = (await graphql(client, bearer, ACKNOWLEDGE, {"projectId": project_id}))["acknowledgeGuideline"]
        assert acknowledged["errors"] == []
        claimed = (await graphql(client, bearer, CLAIM, {"projectId": project_id}))["claimNextTask"]
        assert claimed["errors"] == []
        assignment = claimed["assignment"]
        assert assignment["item"]["externalId"].startswith("rev-")
        assert assignment["item"]["data"]["text"]

        bad_values = [
            ({"topics": ["price"]}, "REQUIRED"),
            ({"sentiment": "angry"}, "UNKNOWN_CLASS"),
            ({"sentiment": "negative", "topics": ["shipping"]}, "UNKNOWN_CLASS"),
            ({"sentiment": "neutral", "notes": "x" * 501}, "TOO_LONG"),
        ]
        for value, code in bad_values:
            variables = {"assignmentId": assignment["id"], "value": value}
            refused = (await graphql(client, bearer, SUBMIT, variables))["submitLabel"]
            assert refused["label"] is None
            assert code in [e["code"] for e in refused["errors"]], (value, refused)

        sample = {"sentiment": "mixed", "topics": ["quality", "delivery"], "notes": "Late, but works well."}
        variables = {"assignmentId": assignment["id"], "value": sample}
        submitted = (await graphql(client, bearer, SUBMIT, variables))["submitLabel"]
        assert submitted == {
            "label": {"value": sample, "schemaVersion": 1, "guidelineVersion": 1},
            "errors": [],
        }


def test_items_file_is_well_formed() -> None:
    records = [json.loads(line) for line in ITEMS_PATH.read_text(encoding="utf-8").splitlines()]

    assert len(records) >= 240
    assert [r["external_id"] for r in records] == [f"rev-{n:04d}" for n in range(1, len(records) + 1)]
    texts = [r["data"]["text"] for r in records]
    assert len(set(texts)) == len(texts), "every message is distinct"
    assert all(r["metadata"]["language"] == "en" and r["metadata"]["source"] for r in records)
    # Varied enough to be worth labeling: many products, short and long messages.
    assert len({r["metadata"]["product"] for r in records}) >= 10
    assert min(map(len, texts)) < 20 < 300 < max(map(len, texts))


async def test_the_demo_guideline_has_definitions_and_a_tree_that_reaches_every_sentiment(settings: Settings) -> None:
    summary = await load(settings)
    project_id = printed_project_id(summary)
    form = {"grant_type": "password", "username": "annotator1", "password": printed_secret(summary, "annotator1")}
    query = """
    query($id: ID!) {
      project(id: $id) {
        guideline {
          version markdownUrl definitions { field className } decisionTree { root } unreachableClasses { className }
        }
      }
    }
    """

    async with running_app(settings) as client:
        bearer = await token(client, form)
        guideline = (await graphql(client, bearer, query, {"id": project_id}))["project"]["guideline"]
        document = await client.get(guideline["markdownUrl"], headers={"Authorization": f"Bearer {bearer}"})

    assert {(d["field"], d["className"]) for d in guideline["definitions"]} == {
        *(("sentiment", name) for name in LABEL_SCHEMA["fields"][0]["classes"]),
        *(("topics", name) for name in LABEL_SCHEMA["fields"][1]["classes"]),
    }
    assert guideline["decisionTree"] == {"root": "opinion"}
    assert guideline["unreachableClasses"] == []
    assert document.status_code == 200
    assert "## Decision tree" in document.text
