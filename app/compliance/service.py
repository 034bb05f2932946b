"""Reading the audit log: org-wide for admins and compliance officers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.compliance.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    project_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_events(
    session: AsyncSession,
    actor: Actor,
    where: AuditFilter,
    *,
    after: int | None,
    limit: int,
    newest_first: bool = False,
) -> Sequence[AuditEvent]:
    """Events in the order they were written (or the reverse), from the one after `after` in that order."""
    actor.require("audit", "read")
    sequence = col(AuditEvent.id)
    stmt = select(AuditEvent).order_by(sequence.desc() if newest_first else sequence).limit(limit)
    conditions = {
        AuditEvent.project_id: where.project_id,
        AuditEvent.actor_id: where.actor_id,
        AuditEvent.action: where.action,
        AuditEvent.entity_id: where.entity_id,
    }
    for column, value in conditions.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if where.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < where.until)
    if after is not None:
        stmt = stmt.where(sequence < after if newest_first else sequence > after)
    return (await session.scalars(stmt)).all()
