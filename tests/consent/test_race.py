"""The race between a claim and a revocation, on both databases: claims by three annotators and
the revocation of the subject whose items they are after, sent at the same moment, many times.
Whatever the interleaving, once revokeConsent has returned no open task exists on the subject's
items, a claim that got one of them before holds a CANCELLED task, and no claim afterwards hands
one out. On PostgreSQL the requests run on separate connections (row locks and SKIP LOCKED
decide); on SQLite the write lock serialises them."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, select

from app.ingestion.models import Item, ItemStatus
from app.workflow.models import Assignment, AssignmentStatus
from tests.conftest import Api
from tests.consent.support import consent, import_with, item, recorded, revoke
from tests.workflow.flow import POSITIVE, claim, pk, project_a, submit

ROUNDS = 12
# How long the revocation waits after the claims are sent, by round: at 0 it tends to win; later
# it lands while claims hold their items' row locks, or just after they committed.
HEADSTART_S = (0.0, 0.002, 0.005, 0.01, 0.02, 0.04)
ANNOTATORS = ("ann1", "ann2", "ann3")


async def open_tasks_on_withdrawn_items(api: Api) -> list[Any]:
    async with api.runtime.sessions() as session:
        rows = await session.execute(
            select(Assignment.id, Item.external_id)
            .join(Item, col(Item.id) == col(Assignment.item_id))
            .where(col(Item.status) == ItemStatus.WITHDRAWN, col(Assignment.status) == AssignmentStatus.ACTIVE)
        )
        return list(rows.all())


async def status_of(api: Api, assignment: str) -> AssignmentStatus:
    async with api.runtime.sessions() as session:
        found = await session.get(Assignment, pk(assignment))
        assert found is not None
        return found.status


async def late_revoke(api: Api, consent_id: str, headstart_s: float) -> dict[str, Any]:
    await asyncio.sleep(headstart_s)
    return await revoke(api, consentIds=[consent_id])


async def test_a_claim_and_a_revocation_at_the_same_moment(api: Api) -> None:
    project = project_a(api)
    raced = 0
    for n in range(ROUNDS):
        revoked_subject, other_subject = await recorded(api, consent(f"x-{n}"), consent(f"y-{n}"))
        rows = [item(f"x-{n}-{i}", revoked_subject, priority=10) for i in range(3)]
        rows += [item(f"y-{n}-{i}", other_subject) for i in range(3)]
        assert (await import_with(api, rows))["errors"] == []

        calls: list[Any] = [claim(api, project, as_=name) for name in ANNOTATORS]
        calls.append(late_revoke(api, revoked_subject, HEADSTART_S[n % len(HEADSTART_S)]))
        turn = n % len(calls)  # who is sent first changes from round to round
        results = await asyncio.gather(*(calls[turn:] + calls[:turn]))

        (revocation,) = [r for r in results if "itemsWithdrawn" in r]
        assert revocation["errors"] == [], revocation
        assert revocation["itemsWithdrawn"] == 3
        assert await open_tasks_on_withdrawn_items(api) == []
        for claimed in (r for r in results if "assignment" in r):
            assert claimed["errors"] == [], claimed
            task = claimed["assignment"]
            if task["item"]["externalId"].startswith(f"x-{n}-"):
                raced += 1  # handed out before the revocation committed: cancelled by it
                assert await status_of(api, task["id"]) is AssignmentStatus.CANCELLED

        # Afterwards: nobody is handed the subject's items; label what is handed out, for a clean next round.
        for name in ANNOTATORS:
            after = await claim(api, project, as_=name)
            assert after["errors"] == [], after
            assert after["assignment"]["item"]["externalId"].startswith(f"y-{n}-"), after
            assert (await submit(api, after["assignment"]["id"], POSITIVE, as_=name))["errors"] == []

    async with api.runtime.sessions() as session:
        withdrawn = (await session.scalars(select(Item).where(col(Item.status) == ItemStatus.WITHDRAWN))).all()
    assert len(withdrawn) == 3 * ROUNDS
    assert all(i.active_claims == 0 for i in withdrawn)
    assert 0 <= raced <= len(ANNOTATORS) * ROUNDS
