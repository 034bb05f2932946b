"""Consent records and their revocations: append-only facts about a (pseudonymous) subject.

A record is never updated: a revocation is a row of its own (one per record), and a changed
consent is a new record. Consent is about a subject, not a project: records are org-wide, and an
item names the record it was imported under (`item.consent_id`, with `item.subject_ref` copied).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlmodel import Field, Index, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class LegalBasis(enum.StrEnum):
    """The lawful bases of processing, GDPR Art. 6(1)(a)-(f)."""

    CONSENT = "CONSENT"
    CONTRACT = "CONTRACT"
    LEGAL_OBLIGATION = "LEGAL_OBLIGATION"
    VITAL_INTERESTS = "VITAL_INTERESTS"
    PUBLIC_TASK = "PUBLIC_TASK"
    LEGITIMATE_INTERESTS = "LEGITIMATE_INTERESTS"


class ConsentStatus(enum.StrEnum):
    """Read from the facts at a given time, never stored."""

    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


class ConsentRecord(SQLModel, table=True):
    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_subject", "subject_ref", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # A pseudonym of the person (never a name or an address): what erasure and lineage look for.
    subject_ref: str = Field(max_length=200)
    purposes: list[str] = json_field(default=[])
    legal_basis: LegalBasis = enum_field(LegalBasis)
    granted_at: datetime
    expires_at: datetime | None = None
    jurisdiction: str = Field(max_length=6)  # ISO 3166-1 alpha-2, or a 3166-2 subdivision ("US-CA")
    collector: str = Field(max_length=200)
    evidence_ref: str = Field(max_length=500)
    notice_version: str = Field(max_length=100)
    recorded_by: uuid.UUID = Field(foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow)


class ConsentRevocation(SQLModel, table=True):
    """A record's revocation: at most one per record (the primary key), never undone."""

    __tablename__ = "consent_revocation"

    consent_id: uuid.UUID = Field(foreign_key="consent_record.id", primary_key=True)
    revoked_at: datetime = Field(default_factory=utcnow)
    revoked_by: uuid.UUID = Field(foreign_key="user.id")
    reason: str = Field(max_length=1000)
