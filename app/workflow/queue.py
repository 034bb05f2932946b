"""Handing out tasks: the next item by priority, then (under uncertainty sampling) the built-in model's
uncertainty, then age; never more leases than the labels it still needs."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.automation.training_models import SamplingStrategy
from app.clock import utcnow
from app.compliance import audit
from app.consent import lapse as consent_lapse
from app.db import is_postgres, serialize_on
from app.errors import DomainError
from app.expertise import qualification
from app.expertise import service as expertise
from app.guidelines.service import require_acknowledged
from app.ingestion.models import Item, ItemStatus
from app.metrics import registry as metrics
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.workflow import lifecycle
from app.workflow.lifecycle import Move
from app.workflow.models import Assignment, AssignmentStatus

CLAIM_NEXT_TASK = Operation("claimNextTask", Permission("task", "claim"), audit="task.claim")

LOCKED_RETRY_PAUSES_S = (0.005, 0.02, 0.05)
# Counter updates run as plain SQL: nothing in the session needs their new values, and
# synchronising the identity map costs more than the statement.
NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class Claim:
    assignment: Assignment
    item: Item
    resumed: bool


async def claim_next(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> Claim:
    """The caller's live assignment in the project if it has one, else a new one.

    Runs in a write transaction: on SQLite BEGIN IMMEDIATE serialises claims; on PostgreSQL
    the candidate item row is locked (SKIP LOCKED), and the overlap test reads counters on
    that same row, so a concurrent claim re-checks them after the lock. Claims of one annotator
    in one project also take a transaction-scoped advisory lock there: without it two of them
    in flight both find no live task and each leases an item. Before any item is looked at, the
    claimant passes the gate of app/expertise/qualification.py (suspension, certificates); one
    taking a qualification set is served its questions instead of work.
    """
    project = await find_project(session, actor, project_id)
    CLAIM_NEXT_TASK.require(actor, project.id)
    await require_acknowledged(session, actor, project, "projectId")
    await serialize_on(session, qualification.claim_key(project.id, actor.id))
    qualifying = await qualification.claim_gate(session, actor, project)
    now = utcnow()
    await expire_leases(session, project.id, now)
    await consent_lapse.take_effect(session, project.id, now)

    live = await session.scalar(
        select(Assignment)
        .where(
            Assignment.project_id == project.id,
            Assignment.annotator_id == actor.id,
            Assignment.status == AssignmentStatus.ACTIVE,
        )
        .order_by(col(Assignment.id))
        .limit(1)
    )
    if live is not None:
        held = await session.get(Item, live.item_id)
        assert held is not None
        return Claim(live, held, resumed=True)

    if qualifying is not None:
        item: Item | None = await qualification.question(session, project, qualifying)
    else:
        item = await expertise.gold_task(session, project, actor.id) or await _find_item(session, project, actor.id)
    if item is None:
        raise DomainError.single("QUEUE_EMPTY", "No item is waiting for you in this project.", "projectId")
    assignment = Assignment(
        project_id=project.id,
        item_id=item.id,
        annotator_id=actor.id,
        claimed_at=now,
        lease_expires_at=now + timedelta(seconds=project.lease_seconds),
        qualification_attempt_id=qualifying.id if qualifying else None,
    )
    session.add(assignment)
    await lifecycle.move(session, item.id, Move.CLAIM_GOLD if item.gold else Move.CLAIM)
    await audit.record(
        session,
        actor,
        CLAIM_NEXT_TASK.audit,
        "Assignment",
        assignment.id,
        project_id=project.id,
        request={"projectId": str(project.id)},
        details={"item": str(item.id), "leaseExpiresAt": assignment.lease_expires_at.isoformat()},
    )
    await session.flush()
    metrics.count(session, lambda m: m.claims, "task")
    return Claim(assignment, item, resumed=False)


async def _find_item(session: AsyncSession, project: Project, annotator_id: uuid.UUID) -> Item | None:
    """Items the annotator never held come first; an item it released (releaseTask) comes back to it
    only once nothing else waits for it, so releasing is a way to skip, not a way to lose an item.
    Before all of them: an item a reviewer sent back from this annotator's label (rework)."""
    rework = select(Item).where(
        Item.rework_for == annotator_id,
        Item.project_id == project.id,
        Item.status == ItemStatus.QUEUED,
        Item.active_claims < Item.labels_required,
        ~col(Item.gold),
    )
    if is_postgres(session):
        rework = rework.with_for_update(skip_locked=True)
    found = await session.scalar(rework.limit(1).execution_options(populate_existing=True))
    if found is not None:
        return found
    for skip_released in (True, False):
        item = await _next_item(session, project, annotator_id, skip_released=skip_released)
        if item is None and is_postgres(session):
            item = await _after_locked_items(session, project, annotator_id, skip_released=skip_released)
        if item is not None:
            return item
    return None


async def _after_locked_items(
    session: AsyncSession, project: Project, annotator_id: uuid.UUID, *, skip_released: bool
) -> Item | None:
    """SKIP LOCKED passes over items that other claims hold for an instant. While such items
    exist, give those claims the moment they need to commit and look again, rather than
    answering QUEUE_EMPTY to an annotator with work still waiting."""
    for pause_s in LOCKED_RETRY_PAUSES_S:
        if await _next_item(session, project, annotator_id, lock=False, skip_released=skip_released) is None:
            return None  # nothing is held either: the queue is empty for this annotator
        await asyncio.sleep(pause_s)
        item = await _next_item(session, project, annotator_id, skip_released=skip_released)
        if item is not None:
            return item
    return None


async def _next_item(
    session: AsyncSession, project: Project, annotator_id: uuid.UUID, *, lock: bool = True, skip_released: bool
) -> Item | None:
    # Held now or labeled: never again. Lapsed: at once. Released: as skip_released says.
    passed = [AssignmentStatus.EXPIRED] if skip_released else [AssignmentStatus.EXPIRED, AssignmentStatus.RELEASED]
    already_mine = exists().where(
        col(Assignment.item_id) == col(Item.id),
        col(Assignment.annotator_id) == annotator_id,
        col(Assignment.status).not_in(passed),
    )
    stmt = (
        select(Item)
        .where(
            Item.project_id == project.id,
            Item.status == ItemStatus.QUEUED,
            Item.active_claims < Item.labels_required,
            ~col(Item.gold),  # gold items come only by the gold draw (app/expertise)
            ~already_mine,
        )
        .order_by(*_queue_order(project))
        .limit(1)
    )
    if lock and is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=Item)
    return await session.scalar(stmt.execution_options(populate_existing=True))


def _queue_order(project: Project) -> list[Any]:
    """Priority first; under uncertainty sampling the item's queue score next (the built-in model's
    most uncertain first, unscored items at -1 after the scored ones: app/automation/training.py),
    then the oldest. Each order is an index's (ix_item_queue, ix_item_queue_uncertain)."""
    if project.sampling_strategy is SamplingStrategy.SEQUENTIAL:
        return [col(Item.priority).desc(), col(Item.id)]
    return [col(Item.priority).desc(), col(Item.queue_score).desc(), col(Item.id)]


async def expire_leases(session: AsyncSession, project_id: uuid.UUID, now: datetime) -> int:
    """Return the items of lapsed leases to the queue; cheap when none lapsed (indexed)."""
    lapsed = await session.scalars(
        update(Assignment)
        .where(
            col(Assignment.project_id) == project_id,
            col(Assignment.status) == AssignmentStatus.ACTIVE,
            col(Assignment.lease_expires_at) < now,
        )
        .values(status=AssignmentStatus.EXPIRED)
        .returning(col(Assignment.item_id)),
        execution_options=NO_SYNC,
    )
    per_item = Counter(lapsed.all())
    for item_id, n in per_item.items():
        await lifecycle.move(session, item_id, Move.LET_GO, n=n)
    return sum(per_item.values())
