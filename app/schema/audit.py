"""The audit log, for admins and compliance officers."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.compliance import models
from app.compliance.service import AuditFilter, list_events
from app.schema.connections import Connection, connection, decode_cursor, page_size
from app.schema.context import Info
from app.schema.errors import bad_input
from app.schema.identity import User, load_user
from app.schema.node import decode_id, global_id


@strawberry.type(description="One recorded decision: who did what to which entity, when, on what input.")
class AuditEvent:
    sequence: int = strawberry.field(description="Position in the log; events are never changed or removed.")
    occurred_at: datetime
    actor_kind: str
    action: str
    entity_type: str
    entity_id: str
    project_id: strawberry.ID | None
    input_digest: str = strawberry.field(description="SHA-256 of the canonical JSON of the operation's input.")
    details: JSON
    _row: strawberry.Private[models.AuditEvent]

    @classmethod
    def of(cls, row: models.AuditEvent) -> AuditEvent:
        assert row.id is not None
        return cls(
            sequence=row.id,
            occurred_at=row.occurred_at,
            actor_kind=row.actor_kind,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            project_id=global_id("Project", row.project_id) if row.project_id else None,
            input_digest=row.input_digest,
            details=JSON(row.details),
            _row=row,
        )

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self._row.actor_id)


@strawberry.enum(description="Which end of the log a page of auditEvents starts from.")
class AuditOrder(enum.Enum):
    OLDEST_FIRST = "OLDEST_FIRST"
    NEWEST_FIRST = "NEWEST_FIRST"


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The audit log, filtered: oldest first unless order says NEWEST_FIRST; `after` continues "
        "in the page's own order. Admins and compliance officers."
    )
    async def audit_events(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        order: AuditOrder = AuditOrder.OLDEST_FIRST,
        project_id: strawberry.ID | None = None,
        actor_id: strawberry.ID | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Connection[AuditEvent] | None:
        limit = page_size(first)
        raw = decode_cursor(after)
        if raw is not None and not raw.isdigit():
            raise bad_input("'after' is not a cursor from this API.")
        where = AuditFilter(
            project_id=decode_id(project_id, "Project", "projectId") if project_id else None,
            actor_id=decode_id(actor_id, "User", "actorId") if actor_id else None,
            action=action,
            since=since,
            until=until,
        )
        async with info.context.db() as session:
            rows = await list_events(
                session,
                info.context.actor,
                where,
                after=int(raw) if raw else None,
                limit=limit + 1,
                newest_first=order is AuditOrder.NEWEST_FIRST,
            )
        return connection(rows, limit, key=lambda r: r.id or 0, node=AuditEvent.of, after=after)
