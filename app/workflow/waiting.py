"""What waits for people, per project and stage: the one reading behind /metrics' queue gauges and
projectOperations' queue panel, so the two can never disagree.

Stages: the undecided items by status (QUEUED: to be labeled, IN_REVIEW: to be reviewed,
ESCALATED: for an expert; gold questions are not work and stay out) and the QA audits waiting for
an auditor (AUDIT). Each stage has how many wait and since when the oldest has: its item's
import, or the audit's creation (no column records when an item entered its current status).
Two grouped queries, whatever the number of items.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col, select

from app.audits.models import AuditStatus, QaAudit
from app.ingestion.models import Item, ItemStatus

WAITING = (ItemStatus.QUEUED, ItemStatus.IN_REVIEW, ItemStatus.ESCALATED)
AUDIT_STAGE = "AUDIT"
STAGES = (*(status.value for status in WAITING), AUDIT_STAGE)


@dataclass(frozen=True)
class Stage:
    project_id: uuid.UUID
    status: str  # one of STAGES
    count: int
    oldest: datetime | None  # when the oldest of them started waiting (see the module's note)


async def waiting(session: AsyncSession | AsyncConnection, project_id: uuid.UUID | None = None) -> list[Stage]:
    """The stages with something waiting, of one project or of every project."""
    items: list[ColumnElement[bool]] = [col(Item.status).in_(WAITING), ~col(Item.gold)]
    audits: list[ColumnElement[bool]] = [col(QaAudit.status) == AuditStatus.PENDING]
    if project_id is not None:
        items.append(col(Item.project_id) == project_id)
        audits.append(col(QaAudit.project_id) == project_id)
    by_status = await session.execute(
        select(col(Item.project_id), col(Item.status), func.count(), func.min(col(Item.created_at)))
        .where(*items)
        .group_by(col(Item.project_id), col(Item.status))
    )
    pending = await session.execute(
        select(col(QaAudit.project_id), func.count(), func.min(col(QaAudit.created_at)))
        .where(*audits)
        .group_by(col(QaAudit.project_id))
    )
    return [
        *(Stage(project, ItemStatus(status).value, int(n), oldest) for project, status, n, oldest in by_status),
        *(Stage(project, AUDIT_STAGE, int(n), oldest) for project, n, oldest in pending),
    ]
