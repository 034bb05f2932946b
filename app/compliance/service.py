"""Reading the audit log and verifying its hash chain: org-wide for admins and compliance officers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance.chain import (
    GENESIS,
    Broken,
    Checkpoint,
    Link,
    Verifier,
    read_checkpoint,
    sign_checkpoint,
)
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


# Events read per statement while verifying: memory stays bounded whatever the log's length.
VERIFY_BATCH = 5000
CHAIN_COLUMNS = (
    col(AuditEvent.id),
    col(AuditEvent.seq),
    col(AuditEvent.occurred_at),
    col(AuditEvent.actor_id),
    col(AuditEvent.actor_kind),
    col(AuditEvent.action),
    col(AuditEvent.entity_type),
    col(AuditEvent.entity_id),
    col(AuditEvent.project_id),
    col(AuditEvent.input_digest),
    col(AuditEvent.prev_hash),
    col(AuditEvent.hash),
)


@dataclass(frozen=True)
class Verification:
    checked: int
    head_seq: int
    head_hash: str
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def summary(self) -> str:
        if self.broken is not None:
            return f"audit chain broken at {self.broken.describe()} ({self.checked} events before it hold)"
        return f"audit chain holds: {self.checked} events, head seq {self.head_seq}, hash {self.head_hash}"


async def verify_chain(
    session: AsyncSession, checkpoint: Checkpoint | None = None, *, batch: int = VERIFY_BATCH
) -> Verification:
    """Recompute the whole chain in seq order, a batch at a time (for the CLI, which is trusted;
    the API goes through verify_as)."""
    verifier = Verifier(checkpoint)
    connection = await session.connection()  # Core rows: the ORM's loading adds nothing here
    after: tuple[int, int] | None = None
    while True:
        stmt: Select[*tuple[Any, ...]] = sa_select(*CHAIN_COLUMNS)
        stmt = stmt.order_by(col(AuditEvent.seq), col(AuditEvent.id)).limit(batch)
        if after is not None:
            # (seq, id) keyset: a repeated seq (only once the unique index is gone) is still read.
            # The first condition alone is what both databases' index on seq serves.
            stmt = stmt.where(
                col(AuditEvent.seq) >= after[0],
                or_(col(AuditEvent.seq) > after[0], col(AuditEvent.id) > after[1]),
            )
        rows = (await connection.execute(stmt)).all()
        if not verifier.feed(_link(row) for row in rows) or len(rows) < batch:
            break
        after = (rows[-1].seq, rows[-1].id)
    broken = verifier.finish()
    return Verification(verifier.checked, verifier.head_seq, verifier.head_hash, broken)


def _link(row: Any) -> Link:
    _id, *fields = row  # CHAIN_COLUMNS' order, Link's fields' order
    return Link(*fields)


async def verify_as(session: AsyncSession, actor: Actor, key: bytes, checkpoint: str | None) -> Verification:
    """verifyAuditChain: for those who read the audit log. A checkpoint that is malformed or
    signed with another key raises CheckpointError (a bad argument)."""
    actor.require("audit", "read")
    return await verify_chain(session, read_checkpoint(checkpoint, key) if checkpoint is not None else None)


async def head(session: AsyncSession) -> Checkpoint:
    """The chain's head now (seq 0 and the genesis hash for an empty log)."""
    row = (
        await session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.hash)).order_by(col(AuditEvent.seq).desc()).limit(1)
        )
    ).first()
    seq, digest = (row[0], row[1]) if row is not None else (0, GENESIS)
    return Checkpoint(seq, digest, utcnow())


async def checkpoint_as(session: AsyncSession, actor: Actor, key: bytes) -> tuple[Checkpoint, str]:
    """auditCheckpoint: the head, signed; keep it where whoever can write the database cannot."""
    actor.require("audit", "read")
    found = await head(session)
    return found, sign_checkpoint(found, key)
