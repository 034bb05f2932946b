"""An annotator's own tasks: listing them, keeping a lease alive, handing an item back.

Only the annotator an assignment was leased to may change it. Under the one denial rule, an id
the caller cannot read is NOT_FOUND like an unknown one; a task it can read (an item reader's
view of someone's task) but may not work on is FORBIDDEN, or NOT_ASSIGNEE for another
annotator's task, as in submitting a label.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError
from app.operations import Operation, Permission
from app.projects.models import Project
from app.workflow import lifecycle
from app.workflow.lifecycle import Move
from app.workflow.models import Assignment, AssignmentStatus
from app.workflow.reads import find_own_task

RENEW_LEASE = Operation("renewLease", Permission("task", "claim"), audit="task.renew")
RELEASE_TASK = Operation("releaseTask", Permission("task", "claim"), audit="task.release")

# A task is held at most this long after its claim, renewals included: a lease cannot be kept
# alive forever by a forgotten browser tab, and the item returns to the queue in the end.
MAX_HOLD = timedelta(hours=24)
MAX_REASON = 1_000


def effective_status(row: Assignment, now: datetime) -> AssignmentStatus:
    """The status a reader must see: a lapsed lease is EXPIRED even before the next claim sweeps it."""
    if row.status is AssignmentStatus.ACTIVE and row.lease_expires_at < now:
        return AssignmentStatus.EXPIRED
    return row.status


@dataclass(frozen=True)
class TaskFilter:
    project_id: uuid.UUID | None = None
    status: AssignmentStatus | None = AssignmentStatus.ACTIVE


async def list_my_tasks(
    session: AsyncSession, actor: Actor, where: TaskFilter, *, before: uuid.UUID | None, limit: int
) -> Sequence[Assignment]:
    """The actor's own assignments, newest claim first, in projects where it may claim tasks.

    Statuses are read as effective_status says: ACTIVE means a lease that is still running.
    """
    # One's own tasks, in projects where one still claims: a project one may not claim in (or
    # cannot read, or that does not exist) simply holds none of them.
    projects = actor.projects_where("task", "claim")
    if where.project_id is not None:
        if projects is not None and where.project_id not in projects:
            return []
        projects = {where.project_id}
    if projects == set():
        return []
    stmt = (
        select(Assignment).where(Assignment.annotator_id == actor.id).order_by(col(Assignment.id).desc()).limit(limit)
    )
    if projects is not None:
        stmt = stmt.where(col(Assignment.project_id).in_(projects))
    now = utcnow()
    live = and_(col(Assignment.status) == AssignmentStatus.ACTIVE, col(Assignment.lease_expires_at) >= now)
    if where.status is AssignmentStatus.ACTIVE:
        stmt = stmt.where(live)
    elif where.status is AssignmentStatus.EXPIRED:
        lapsed = and_(col(Assignment.status) == AssignmentStatus.ACTIVE, col(Assignment.lease_expires_at) < now)
        stmt = stmt.where(or_(col(Assignment.status) == AssignmentStatus.EXPIRED, lapsed))
    elif where.status is not None:
        stmt = stmt.where(col(Assignment.status) == where.status)
    if before is not None:
        stmt = stmt.where(col(Assignment.id) < before)
    return (await session.scalars(stmt)).all()


async def renew_lease(session: AsyncSession, actor: Actor, assignment_id: uuid.UUID) -> Assignment:
    """Extend the caller's running lease to the project's lease length from now, never past MAX_HOLD
    after the claim (RENEWAL_LIMIT once it is there)."""
    assignment = await _own_live_assignment(session, actor, assignment_id, RENEW_LEASE)
    project = await session.get(Project, assignment.project_id)
    assert project is not None
    now = utcnow()
    previous = assignment.lease_expires_at
    renewed = min(now + timedelta(seconds=project.lease_seconds), assignment.claimed_at + MAX_HOLD)
    if renewed <= previous:
        raise DomainError.single(
            "RENEWAL_LIMIT",
            "A task is held at most 24 hours after its claim: submit or release it.",
            "assignmentId",
        )
    assignment.lease_expires_at = renewed
    await audit.record(
        session,
        actor,
        RENEW_LEASE.audit,
        "Assignment",
        assignment.id,
        project_id=project.id,
        request={"assignmentId": str(assignment_id)},
        details={
            "item": str(assignment.item_id),
            "previousLeaseExpiresAt": previous.isoformat(),
            "leaseExpiresAt": renewed.isoformat(),
        },
    )
    await session.flush()
    return assignment


CANCELLED_MESSAGE = (
    "This task was cancelled: its item was withdrawn (consent revoked or expired) or decided by auto-accept."
)
LAPSED_MESSAGE = "This task is cancelled: the consent its item was imported under has expired."


async def release_task(session: AsyncSession, actor: Actor, assignment_id: uuid.UUID, reason: str) -> Assignment:
    """Hand the item back to the queue: another annotator may claim it at once, and the releasing
    one again once nothing else is waiting for it (app/workflow/queue.py)."""
    # The task first: on an id the caller cannot read even a bad reason answers NOT_FOUND.
    assignment = await _own_live_assignment(session, actor, assignment_id, RELEASE_TASK)
    if len(reason) > MAX_REASON:
        raise DomainError.single("TOO_LONG", f"reason allows {MAX_REASON} characters.", "reason")
    now = utcnow()
    assignment.status = AssignmentStatus.RELEASED
    # The lease ended now; for a released task leaseExpiresAt reads as when it was handed back.
    assignment.lease_expires_at = now
    await lifecycle.move(session, assignment.item_id, Move.LET_GO)
    await audit.record(
        session,
        actor,
        RELEASE_TASK.audit,
        "Assignment",
        assignment.id,
        project_id=assignment.project_id,
        request={"assignmentId": str(assignment_id), "reason": reason},
        # The reason is free text about an item, and audit events are never erased (app/erasure):
        # the event keeps its digest only.
        details={"item": str(assignment.item_id), "reasonDigest": audit.digest(reason) if reason else None},
    )
    await session.flush()
    return assignment


async def _own_live_assignment(
    session: AsyncSession, actor: Actor, assignment_id: uuid.UUID, operation: Operation
) -> Assignment:
    """The caller's assignment with a running lease, locked (see find_own_task)."""
    assignment = await find_own_task(session, actor, assignment_id, operation)
    status = effective_status(assignment, utcnow())
    if status is AssignmentStatus.SUBMITTED:
        raise DomainError.single("ALREADY_SUBMITTED", "This task already has its label.", "assignmentId")
    if status is AssignmentStatus.RELEASED:
        raise DomainError.single("NOT_ACTIVE", "This task was released; claim again.", "assignmentId")
    if status is AssignmentStatus.CANCELLED:
        raise DomainError.single("ASSIGNMENT_CANCELLED", CANCELLED_MESSAGE, "assignmentId")
    if status is AssignmentStatus.EXPIRED:
        raise DomainError.single("LEASE_EXPIRED", "The lease on this task ran out; claim again.", "assignmentId")
    return assignment


@dataclass(frozen=True)
class ReturnedWork:
    """What a deactivated person held, handed back: tasks, escalations and QA audits."""

    tasks: int
    escalations: int
    audits: int


async def return_open_work(session: AsyncSession, user_id: uuid.UUID) -> ReturnedWork:
    """Everything the person holds goes back to its queue at once (a deactivated account): live
    and lapsed tasks become RELEASED and their items LET_GO, as releaseTask does; escalation and
    QA audit leases end, so the next expert or auditor claims them."""
    from app.audits.models import AuditStatus, QaAudit
    from app.workflow.models import Escalation

    now = utcnow()
    released = await session.scalars(
        update(Assignment)
        .where(col(Assignment.annotator_id) == user_id, col(Assignment.status) == AssignmentStatus.ACTIVE)
        .values(status=AssignmentStatus.RELEASED, lease_expires_at=now)
        .returning(col(Assignment.item_id)),
        execution_options={"synchronize_session": False},
    )
    per_item = Counter(released.all())
    for item_id, n in per_item.items():
        await lifecycle.move(session, item_id, Move.LET_GO, n=n)
    escalations = await session.execute(
        update(Escalation)
        .where(
            col(Escalation.claimed_by) == user_id,
            col(Escalation.resolved_at).is_(None),
            col(Escalation.lease_expires_at) > now,
        )
        .values(lease_expires_at=now)
        .execution_options(synchronize_session=False)
    )
    audits = await session.execute(
        update(QaAudit)
        .where(
            col(QaAudit.claimed_by) == user_id,
            col(QaAudit.status) == AuditStatus.PENDING,
            col(QaAudit.lease_expires_at) > now,
        )
        .values(lease_expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return ReturnedWork(
        tasks=sum(per_item.values()),
        escalations=int(escalations.rowcount),  # type: ignore[attr-defined]
        audits=int(audits.rowcount),  # type: ignore[attr-defined]
    )
