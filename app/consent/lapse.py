"""Consent that runs out: an item whose consent record's `expires_at` has passed leaves every queue
as a revoked one does (WITHDRAWN, its open assignments CANCELLED), without anyone revoking it.

An import copies the record's expiry onto the item (`item.consent_lapse_at`, indexed with the
project). The lapse takes effect lazily, where it matters, in the transaction that would otherwise
hand the item out: every claim (task, QA audit, escalation) first runs `take_effect` for its project,
as it returns lapsed leases, so no claim after the moment of expiry can serve the item. Submitting a
label or a review on an item whose consent lapsed is refused even before a claim has swept it.
A claim that ends QUEUE_EMPTY rolls its sweep back with it (the item still is not served), so the
server also sweeps every project on its own every minute (`Sweeper`, LABELGRAPH_CONSENT_SWEEP_S), and
`labelgraph consent expire [--dry-run]` does the same once, from the command line.

Each sweep clears the column on the items it took (one SELECT on the index when nothing is due),
locks them first (SKIP LOCKED on PostgreSQL: an item another sweep holds is that sweep's) and
records one audit event (actor SYSTEM) per project with the numbers.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.clock import utcnow
from app.compliance import audit
from app.db import is_postgres, unit_of_work
from app.ingestion.models import Item
from app.periodic import Periodic
from app.projects.models import Project
from app.workflow import lifecycle
from app.workflow.models import Assignment, AssignmentStatus

AUDIT_ACTION = "consent.expire"
logger = logging.getLogger("labelgraph.consent")


@dataclass(frozen=True)
class Lapsed:
    project_id: uuid.UUID
    items: int  # whose consent lapsed, now taken care of
    withdrawn: int  # of them, moved to WITHDRAWN (the others were withdrawn already)
    cancelled: int  # open assignments on them, now CANCELLED


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(col(Item.consent_lapse_at).is_not(None), col(Item.consent_lapse_at) <= now)


async def take_effect(session: AsyncSession, project_id: uuid.UUID, now: datetime) -> Lapsed | None:
    """Withdraw the project's items whose consent lapsed by `now`; None when none was due."""
    due = select(Item.id).where(col(Item.project_id) == project_id, _due(now)).order_by(col(Item.id))
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    ids = list(await session.scalars(due))
    if not ids:
        return None
    withdrawn = cancelled = 0
    for start in range(0, len(ids), lifecycle.CHUNK):
        chunk = ids[start : start + lifecycle.CHUNK]
        withdrawn += await lifecycle.withdraw_lapsed(session, chunk)
        cancelled += (
            await session.execute(
                update(Assignment)
                .where(col(Assignment.item_id).in_(chunk), col(Assignment.status) == AssignmentStatus.ACTIVE)
                .values(status=AssignmentStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
        ).rowcount  # type: ignore[attr-defined]
        await session.execute(
            update(Item)
            .where(col(Item.id).in_(chunk))
            .values(consent_lapse_at=None)
            .execution_options(synchronize_session=False)
        )
    lapsed = Lapsed(project_id, len(ids), withdrawn, cancelled)
    await audit.record(
        session,
        None,
        AUDIT_ACTION,
        "Project",
        project_id,
        project_id=project_id,
        details={"items": lapsed.items, "itemsWithdrawn": withdrawn, "assignmentsCancelled": cancelled},
    )
    return lapsed


async def due_by_project(session: AsyncSession, now: datetime) -> dict[uuid.UUID, int]:
    """Per project, the items whose consent lapsed by `now` and that no sweep took yet (a dry run)."""
    rows = await session.execute(select(Item.project_id, func.count()).where(_due(now)).group_by(col(Item.project_id)))
    return {project_id: int(n) for project_id, n in rows.all()}


@dataclass(frozen=True)
class Swept:
    project_name: str
    items: int
    withdrawn: int | None  # None in a dry run
    cancelled: int | None


async def sweep(sessions: async_sessionmaker[AsyncSession], *, dry_run: bool) -> list[Swept]:
    """`labelgraph consent expire`: every project's lapsed items, one transaction per project (a dry
    run counts them in one read transaction and writes nothing)."""
    now = utcnow()
    async with unit_of_work(sessions, write=False) as session:
        due = await due_by_project(session, now)
        names = dict(
            (await session.execute(select(Project.id, Project.name).where(col(Project.id).in_(list(due))))).all()
        )
    report: list[Swept] = []
    for project_id in sorted(due, key=lambda p: names[p]):
        if dry_run:
            report.append(Swept(names[project_id], due[project_id], None, None))
            continue
        async with unit_of_work(sessions, write=True) as session:
            taken = await take_effect(session, project_id, now)
        if taken is not None:
            report.append(Swept(names[project_id], taken.items, taken.withdrawn, taken.cancelled))
    return report


class Sweeper(Periodic):
    """The server's own `consent expire`, every `interval_s` seconds: a claim that ends QUEUE_EMPTY
    rolls its sweep back with it, and figures (queue depth, item counts) should not wait for the
    next claim that succeeds. Several processes may run one each: the sweeps skip each other's rows.
    A failed sweep is logged (numbers only) and tried again at the next tick; it never stops the server."""

    name = "consent-lapse"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval_s: float) -> None:
        super().__init__(interval_s)
        self._sessions = sessions

    async def tick(self) -> None:
        for entry in await sweep(self._sessions, dry_run=False):
            logger.info("consent lapsed: %d items in %s", entry.items, entry.project_name)
