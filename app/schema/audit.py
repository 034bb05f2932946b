"""The audit log and its hash chain, for admins and compliance officers."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.compliance import models
from app.compliance.chain import CheckpointError, Reason
from app.compliance.service import AuditFilter, Verification, checkpoint_as, list_events, verify_as
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
    details: JSON = strawberry.field(
        description="Not covered by the hash chain: it may hold free text, which erasure rewrites."
    )
    chain_seq: int = strawberry.field(description="Position in the hash chain: 1, 2, 3, ... with no gaps.")
    prev_hash: str = strawberry.field(description="The previous event's hash (64 zeros before the first).")
    hash: str = strawberry.field(
        description="SHA-256 of prevHash and the event's canonical encoding (docs/ARCHITECTURE.md, Audit chain)."
    )
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
            chain_seq=row.seq,
            prev_hash=row.prev_hash,
            hash=row.hash,
            _row=row,
        )

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self._row.actor_id)


@strawberry.enum(description="Which end of the log a page of auditEvents starts from.")
class AuditOrder(enum.Enum):
    OLDEST_FIRST = "OLDEST_FIRST"
    NEWEST_FIRST = "NEWEST_FIRST"


AuditChainBreak = strawberry.enum(Reason, name="AuditChainBreak", description="What is wrong with a link.")


@strawberry.type(description="The first link of the audit chain that does not hold.")
class AuditChainLink:
    seq: int = strawberry.field(description="The chain position where it breaks (for a gap: the missing one).")
    reason: AuditChainBreak  # type: ignore[valid-type]
    message: str


@strawberry.type(description="The audit chain recomputed from the first event to the head.")
class AuditChainVerification:
    ok: bool
    checked_events: int = strawberry.field(description="Events that hold, from seq 1 (up to the first broken one).")
    head_seq: int = strawberry.field(description="The last event that holds (0 for an empty log).")
    head_hash: str
    first_broken: AuditChainLink | None

    @classmethod
    def of(cls, result: Verification) -> AuditChainVerification:
        broken = result.broken
        return cls(
            ok=result.ok,
            checked_events=result.checked,
            head_seq=result.head_seq,
            head_hash=result.head_hash,
            first_broken=AuditChainLink(seq=broken.seq, reason=broken.reason, message=broken.describe())
            if broken
            else None,
        )


@strawberry.type(description="The chain's head, signed: keep `signed` where whoever can write the database cannot.")
class AuditCheckpoint:
    seq: int
    hash: str
    created_at: datetime
    signed: str = strawberry.field(description="The checkpoint as JSON with its HMAC-SHA256, for verifyAuditChain.")


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

    @strawberry.field(
        description="Recompute the audit hash chain. With a checkpoint (auditCheckpoint's `signed`), a log cut "
        "short of it or rewritten up to it is detected too. Admins and compliance officers."
    )
    async def verify_audit_chain(self, info: Info, checkpoint: str | None = None) -> AuditChainVerification | None:
        key = info.context.runtime.settings.audit_key_bytes()
        async with info.context.db() as session:
            try:
                result = await verify_as(session, info.context.actor, key, checkpoint)
            except CheckpointError as exc:  # a bad argument of a query: BAD_USER_INPUT
                raise bad_input(f"checkpoint: {exc}") from None
        return AuditChainVerification.of(result)

    @strawberry.field(description="The audit chain's head, signed. Admins and compliance officers.")
    async def audit_checkpoint(self, info: Info) -> AuditCheckpoint | None:
        key = info.context.runtime.settings.audit_key_bytes()
        async with info.context.db() as session:
            found, signed = await checkpoint_as(session, info.context.actor, key)
        return AuditCheckpoint(seq=found.seq, hash=found.hash, created_at=found.created_at, signed=signed)
