"""Retention, on both databases: updateRetentionPolicy sets a project's period (audited); `labelgraph
retention apply` purges the content of items imported longer ago, as erasure does, with one audit
event per project; `--dry-run` writes nothing; errors are one line and exit code 2."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from typer.testing import CliRunner

from app.cli import cli
from app.clock import utcnow
from app.erasure import retention
from app.ingestion.models import Item
from tests.conftest import Api
from tests.erasure.support import ITEM, RETENTION, text_project, where_marker
from tests.security import database_state
from tests.workflow.flow import audit_events, claimed, codes, import_items, pk, review, submit

OLD = "zq-old-4d2e"
NEW = "zq-new-88a1"
CHEAP = {"LABELGRAPH_ARGON2_TIME_COST": "1", "LABELGRAPH_ARGON2_MEMORY_KIB": "64"}


async def set_retention(api: Api, project: str, days: int | None, *, as_: str = "pm") -> dict[str, Any]:
    payload: dict[str, Any] = (
        await api.data(RETENTION, {"input": {"projectId": project, "retentionDays": days}}, as_=as_)
    )["updateRetentionPolicy"]
    return payload


async def aged(api: Api) -> dict[str, str]:
    """A project keeping 30 days: old-1 (decided, 40 days old), old-2 (queued, 40 days), new-1 (today)."""
    project = await text_project(api, "Retention")
    assert (await set_retention(api, project, 30))["errors"] == []
    rows = [
        {"externalId": "old-1", "data": {"text": OLD}, "priority": 3},
        {"externalId": "old-2", "data": {"text": OLD}, "priority": 2},
        {"externalId": "new-1", "data": {"text": NEW}, "priority": 1},
    ]
    assert (await import_items(api, project, rows))["errors"] == []
    task = await claimed(api, project, as_="ann1")
    label = await submit(api, task["id"], {"sentiment": "pos", "note": OLD}, as_="ann1", rationale=OLD)
    assert (await review(api, label["label"]["id"], "ACCEPT", comment=OLD))["errors"] == []
    async with api.runtime.sessions() as session:
        await session.execute(
            update(Item)
            .where(col(Item.external_id).in_(["old-1", "old-2"]))
            .values(created_at=utcnow() - timedelta(days=40))
        )
        await session.commit()
    return {"project": project, "decided": task["item"]["id"]}


async def test_the_period_is_set_by_managers_and_audited(api: Api) -> None:
    project = await text_project(api, "Retention")

    changed = await set_retention(api, project, 90)

    assert changed["project"]["retentionDays"] == 90
    [event] = await audit_events(api, "retention.policy", project)
    assert event["details"] == {"before": None, "after": 90}
    assert (await set_retention(api, project, None, as_="admin"))["project"]["retentionDays"] is None
    assert codes(await set_retention(api, project, 0)) == [("OUT_OF_RANGE", "retentionDays")]


async def test_a_dry_run_writes_nothing(api: Api) -> None:
    scene = await aged(api)
    before = await database_state(api)

    report = await retention.apply(api.runtime.sessions, dry_run=True)

    assert [(r.project_name, r.items, r.labels, r.erasure_id) for r in report] == [("Retention", 2, 1, None)]
    assert await database_state(api) == before
    assert scene


async def test_apply_purges_only_items_past_the_period(api: Api) -> None:
    scene = await aged(api)

    [purge] = await retention.apply(api.runtime.sessions, dry_run=False)

    assert (purge.items, purge.labels, purge.comments) == (2, 1, 0)
    assert set(await where_marker(api, OLD)) == set()
    assert set(await where_marker(api, NEW)) == {"item"}
    decided = (await api.data(ITEM, {"id": scene["decided"]}, as_="pm"))["node"]
    assert (decided["status"], decided["data"]) == ("FINAL", {"erased": True})
    assert decided["labels"][0]["value"] == {"sentiment": "pos", "note": "[erased]"}
    [event] = await audit_events(api, "retention.apply", scene["project"])
    assert event["actor"] is None  # the system
    assert event["entityId"] == str(purge.erasure_id)
    assert (event["details"]["items"], event["details"]["itemsWithdrawn"], event["details"]["retentionDays"]) == (
        2,
        1,
        30,
    )
    # Applying again finds nothing due and writes nothing.
    before = await database_state(api)
    [again] = await retention.apply(api.runtime.sessions, dry_run=False)
    assert again.items == 0
    assert await database_state(api) == before
    assert pk(scene["decided"])


def run_cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["retention", "apply", *args], env={**CHEAP, "LABELGRAPH_DATABASE_URL": url})


async def test_the_command_reports_and_fails_in_one_line(api: Api) -> None:
    await aged(api)
    url = api.runtime.settings.database_url
    before = await database_state(api)

    dry = await asyncio.to_thread(run_cli, url, "--dry-run")
    unknown = await asyncio.to_thread(run_cli, url, "--project", "No such project")
    forever = await asyncio.to_thread(run_cli, url, "--project", "Project A")

    assert dry.exit_code == 0, dry.output
    assert "Retention: would purge 2 items (older than 30 days" in dry.output
    assert "1 labels and 0 comments scrubbed" in dry.output
    assert await database_state(api) == before
    assert (unknown.exit_code, unknown.stderr.strip()) == (
        2,
        "error: no project 'No such project' (give its id or its name)",
    )
    assert forever.exit_code == 2
    assert forever.stderr.count("\n") == 1
    assert "keeps its content forever" in forever.stderr

    applied = await asyncio.to_thread(run_cli, url, "--project", "Retention")

    assert applied.exit_code == 0, applied.output
    assert "Retention: purged 2 items" in applied.stdout
    assert len(await audit_events(api, "retention.apply")) == 1
