"""Reading consent: records are org-wide (consent is about a subject, not a project), readable
with (consent, read) held org-wide; the import's lookup of the records its rows name; and the
rule of whether a record covers a purpose at a given time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import aware
from app.consent.models import ConsentRecord, ConsentRevocation, ConsentStatus
from app.db import is_postgres

ANNOTATION = "annotation"
MODEL_TRAINING = "model_training"
STANDARD_PURPOSES = (ANNOTATION, MODEL_TRAINING)
# Well under SQLite's bound-parameter limit, and a sane IN () list for PostgreSQL.
LOOKUP_CHUNK = 900


@dataclass(frozen=True)
class Consent:
    """A record with its revocation, if any."""

    record: ConsentRecord
    revocation: ConsentRevocation | None

    def status(self, now: datetime) -> ConsentStatus:
        return status_of(self.record, self.revocation, now)

    def covers(self, purpose: str | None, now: datetime) -> bool:
        """In force now (not revoked, not expired) and, when a purpose is named, listing it."""
        return self.status(now) is ConsentStatus.ACTIVE and (purpose is None or purpose in self.record.purposes)


def status_of(record: ConsentRecord, revocation: ConsentRevocation | None, now: datetime) -> ConsentStatus:
    if revocation is not None:
        return ConsentStatus.REVOKED
    if record.expires_at is not None and aware(record.expires_at) <= now:
        return ConsentStatus.EXPIRED
    return ConsentStatus.ACTIVE


def _readable(actor: Actor) -> Any:  # a select of (record, revocation or None) rows
    allowed = true() if actor.can("consent", "read") else false()
    return (
        select(ConsentRecord, ConsentRevocation)
        .outerjoin(ConsentRevocation, col(ConsentRevocation.consent_id) == col(ConsentRecord.id))
        .where(allowed)
    )


async def get_consent(session: AsyncSession, actor: Actor, consent_id: uuid.UUID) -> Consent | None:
    """The record, or None when it does not exist or the actor may not read consent (the same answer)."""
    row = (await session.execute(_readable(actor).where(col(ConsentRecord.id) == consent_id))).one_or_none()
    return Consent(row[0], row[1]) if row else None


async def list_consents(
    session: AsyncSession,
    actor: Actor,
    *,
    subject_ref: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[Consent]:
    """Records oldest first, of one subject when named; the list needs (consent, read) (FORBIDDEN)."""
    actor.require("consent", "read")
    stmt = _readable(actor).order_by(col(ConsentRecord.id)).limit(limit)
    if subject_ref is not None:
        stmt = stmt.where(col(ConsentRecord.subject_ref) == subject_ref)
    if after is not None:
        stmt = stmt.where(col(ConsentRecord.id) > after)
    return [Consent(record, revocation) for record, revocation in (await session.execute(stmt)).all()]


async def find_for_change(
    session: AsyncSession, actor: Actor, *, ids: Sequence[uuid.UUID] = (), subject_ref: str | None = None
) -> list[Consent]:
    """Readable records by id or by subject, locked against a concurrent import's share lock on
    PostgreSQL (SQLite writers are serialised already), so a revocation and an import naming the
    same record queue behind each other."""
    found: list[Consent] = []
    if subject_ref is not None:
        chunks: list[Sequence[uuid.UUID] | None] = [None]
    else:
        chunks = [ids[i : i + LOOKUP_CHUNK] for i in range(0, len(ids), LOOKUP_CHUNK)]
    for chunk in chunks:
        stmt = _readable(actor).order_by(col(ConsentRecord.id))
        stmt = (
            stmt.where(col(ConsentRecord.subject_ref) == subject_ref)
            if chunk is None
            else stmt.where(col(ConsentRecord.id).in_(chunk))
        )
        if is_postgres(session):
            stmt = stmt.with_for_update(of=ConsentRecord)
        found += [Consent(record, revocation) for record, revocation in (await session.execute(stmt)).all()]
    return found


async def for_import(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Consent]:
    """The records an import's rows name, by id, whoever imports: a row's consent is checked, not read
    (the importer learns only whether the record it was given covers annotation). Share-locked on
    PostgreSQL first, then read with their revocations: a revocation of one of them either commits
    before (and is seen here) or waits until the import has committed (and withdraws its items)."""
    found: dict[uuid.UUID, Consent] = {}
    unique = sorted(set(ids), key=uuid.UUID.__str__)
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        if is_postgres(session):
            await session.execute(
                select(ConsentRecord.id).where(col(ConsentRecord.id).in_(chunk)).with_for_update(read=True)
            )
        rows = await session.execute(
            select(ConsentRecord, ConsentRevocation)
            .outerjoin(ConsentRevocation, col(ConsentRevocation.consent_id) == col(ConsentRecord.id))
            .where(col(ConsentRecord.id).in_(chunk))
        )
        found.update({record.id: Consent(record, revocation) for record, revocation in rows.all()})
    return found


async def of_items(session: AsyncSession, consent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Consent]:
    """The records of a batch of exported items (no lock: an export reads a snapshot)."""
    if not consent_ids:
        return {}
    rows = await session.execute(
        select(ConsentRecord, ConsentRevocation)
        .outerjoin(ConsentRevocation, col(ConsentRevocation.consent_id) == col(ConsentRecord.id))
        .where(col(ConsentRecord.id).in_(sorted(set(consent_ids), key=uuid.UUID.__str__)))
    )
    return {record.id: Consent(record, revocation) for record, revocation in rows.all()}
