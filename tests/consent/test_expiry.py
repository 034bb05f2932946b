"""Consent that expires, on both databases: from the moment a record's expiry passes, its items leave
every queue as revoked ones do (WITHDRAWN, open tasks CANCELLED) with nobody revoking anything: the
next claim in the project sweeps them (one audit event, actor SYSTEM), a submit or review on them is
refused even before any sweep, and `labelgraph consent expire` sweeps every project at once.

Tests never sleep: they move the expiry into the past in the rows (the record's and its copy on the
items), as tests/workflow/flow.py's expire_lease does with leases."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from typer.testing import CliRunner

from app.audits import service as audits
from app.cli import cli
from app.clock import aware, utcnow
from app.consent.models import ConsentRecord
from app.ingestion.models import Item
from app.runtime import Runtime
from tests.conftest import Api
from tests.consent.support import consent, import_with, item, recorded
from tests.consent.test_revocation import CLAIM_AUDIT, COUNTS, NODE_ASSIGNMENT, final_items
from tests.security import database_state
from tests.workflow.flow import POSITIVE, audit_events, claim, claimed, codes, pk, project_a, review, submit

IN_A_YEAR = "2027-12-01T00:00:00Z"
CHEAP = {"LABELGRAPH_ARGON2_TIME_COST": "1", "LABELGRAPH_ARGON2_MEMORY_KIB": "64"}


async def expiring(api: Api, subject: str, *external_ids: str) -> str:
    """A record of the subject that expires in a year, and its items imported into project A."""
    [consent_id] = await recorded(api, consent(subject, expiresAt=IN_A_YEAR))
    rows = [item(e, consent_id, priority=9 - i) for i, e in enumerate(external_ids)]
    assert (await import_with(api, rows))["errors"] == []
    return consent_id


async def lapse(api: Api, consent_id: str) -> None:
    """Let the year pass for this record: its expiry, and the copy its items carry, a second ago."""
    past = utcnow() - timedelta(seconds=1)
    async with api.runtime.sessions() as session:
        await session.execute(
            update(ConsentRecord).where(col(ConsentRecord.id) == pk(consent_id)).values(expires_at=past)
        )
        await session.execute(
            update(Item)
            .where(col(Item.consent_id) == pk(consent_id), col(Item.consent_lapse_at).is_not(None))
            .values(consent_lapse_at=past)
        )
        await session.commit()


async def lapse_times(api: Api, *external_ids: str) -> dict[str, datetime | None]:
    async with api.runtime.sessions() as session:
        rows = await session.execute(
            select(Item.external_id, Item.consent_lapse_at).where(col(Item.external_id).in_(external_ids))
        )
        return {e: (aware(at) if at else None) for e, at in rows.all()}


async def test_an_import_carries_its_record_s_expiry(api: Api) -> None:
    await expiring(api, "subj-x", "x-1")
    [forever] = await recorded(api, consent("subj-y"))
    assert (await import_with(api, [item("y-1", forever)]))["errors"] == []

    assert await lapse_times(api, "x-1", "y-1") == {"x-1": datetime.fromisoformat(IN_A_YEAR), "y-1": None}


async def test_at_expiry_the_next_claim_withdraws_the_items_and_cancels_their_tasks(api: Api) -> None:
    x = await expiring(api, "subj-x", "x-1", "x-2")
    [y] = await recorded(api, consent("subj-y"))
    assert (await import_with(api, [item("y-1", y, priority=1)]))["errors"] == []
    task = await claimed(api, project_a(api), as_="ann1")
    assert task["item"]["externalId"] == "x-1"

    await lapse(api, x)
    nxt = await claimed(api, project_a(api), as_="ann2")

    assert nxt["item"]["externalId"] == "y-1"  # x-2 waited first, but its consent ran out
    shown = await api.data(NODE_ASSIGNMENT, {"id": task["id"]}, as_="pm")
    assert shown["node"]["status"] == "CANCELLED"
    assert codes(await submit(api, task["id"], POSITIVE, as_="ann1")) == [("ASSIGNMENT_CANCELLED", "assignmentId")]
    assert codes(await claim(api, project_a(api), as_="ann3")) == [("QUEUE_EMPTY", "projectId")]
    counts = await api.data(COUNTS, {"id": project_a(api)}, as_="pm")
    assert counts["project"]["itemCounts"] == {"queued": 1, "withdrawn": 2, "total": 3}  # y-1, claimed
    [event] = await audit_events(api, "consent.expire", project_a(api))
    assert event["actor"] is None
    assert event["details"] == {"items": 2, "itemsWithdrawn": 2, "assignmentsCancelled": 1}
    # Taken care of: later claims find nothing due and record nothing more.
    assert await lapse_times(api, "x-1", "x-2") == {"x-1": None, "x-2": None}
    assert codes(await claim(api, project_a(api), as_="ann1")) == [("QUEUE_EMPTY", "projectId")]
    assert len(await audit_events(api, "consent.expire", project_a(api))) == 1


async def test_a_submit_after_expiry_is_refused_before_any_claim_sweeps(api: Api) -> None:
    x = await expiring(api, "subj-x", "x-1")
    task = await claimed(api, project_a(api), as_="ann1")
    await lapse(api, x)
    before = await database_state(api)

    refused = await submit(api, task["id"], POSITIVE, as_="ann1")

    assert codes(refused) == [("ASSIGNMENT_CANCELLED", "assignmentId")]
    assert "expired" in refused["errors"][0]["message"]
    assert await database_state(api) == before


async def test_a_review_after_expiry_is_refused(api: Api) -> None:
    x = await expiring(api, "subj-x", "x-1")
    task = await claimed(api, project_a(api), as_="ann1")
    label = await submit(api, task["id"], POSITIVE, as_="ann1")
    assert label["errors"] == []
    await lapse(api, x)

    assert codes(await review(api, label["label"]["id"], "ACCEPT")) == [("ITEM_WITHDRAWN", "labelId")]


async def test_an_expired_decided_item_leaves_the_audit_queue(api: Api) -> None:
    [a] = await recorded(api, consent("subj-a", expiresAt=IN_A_YEAR))
    await final_items(api, [item("a-1", a)])
    async with api.runtime.sessions() as session:
        audited = await session.scalar(select(Item.id).where(Item.external_id == "a-1"))
        assert audited is not None
        await audits.flag_for_audit(session, audited, "suspected label issue")
        await session.commit()
    await lapse(api, a)

    found = await api.data(CLAIM_AUDIT, {"input": {"projectId": project_a(api)}}, as_="qa")

    assert found["claimNextAudit"]["errors"] == [{"code": "QUEUE_EMPTY"}]
    # A claim that ends QUEUE_EMPTY keeps nothing of its transaction, its sweep included: the server's
    # sweeper (or the command) records the withdrawal.
    assert await audit_events(api, "consent.expire", project_a(api)) == []


async def test_the_server_sweeps_on_its_own(api: Api) -> None:
    x = await expiring(api, "subj-x", "x-1")
    await lapse(api, x)
    runtime = await Runtime.start(dataclasses.replace(api.runtime.settings, consent_sweep_s=0.05))
    try:
        for _ in range(200):
            if await audit_events(api, "consent.expire", project_a(api)):
                break
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()

    [event] = await audit_events(api, "consent.expire", project_a(api))
    assert event["details"] == {"items": 1, "itemsWithdrawn": 1, "assignmentsCancelled": 0}
    counts = await api.data(COUNTS, {"id": project_a(api)}, as_="pm")
    assert counts["project"]["itemCounts"]["withdrawn"] == 1


def run_cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["consent", "expire", *args], env={**CHEAP, "LABELGRAPH_DATABASE_URL": url})


async def test_the_command_sweeps_every_project_and_a_dry_run_writes_nothing(api: Api) -> None:
    x = await expiring(api, "subj-x", "x-1", "x-2")
    await claimed(api, project_a(api), as_="ann1")
    url = api.runtime.settings.database_url
    nothing = await asyncio.to_thread(run_cli, url)
    assert (nothing.exit_code, nothing.stdout.strip()) == (0, "no item's consent has lapsed")
    await lapse(api, x)
    before = await database_state(api)

    dry = await asyncio.to_thread(run_cli, url, "--dry-run")

    assert (dry.exit_code, dry.stdout.strip()) == (0, "Project A: would withdraw 2 items whose consent expired")
    assert await database_state(api) == before

    applied = await asyncio.to_thread(run_cli, url)

    assert applied.exit_code == 0, applied.output
    assert applied.stdout.strip() == "Project A: 2 items whose consent expired, 2 withdrawn, 1 open tasks cancelled"
    counts = await api.data(COUNTS, {"id": project_a(api)}, as_="pm")
    assert counts["project"]["itemCounts"]["withdrawn"] == 2
    assert len(await audit_events(api, "consent.expire", project_a(api))) == 1
    again = await asyncio.to_thread(run_cli, url)
    assert again.stdout.strip() == "no item's consent has lapsed"
