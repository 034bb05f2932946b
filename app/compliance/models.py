"""The audit log: one append-only row per decision, written in the decision's transaction, hash-chained."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import json_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_project", "project_id", "id"),
        Index("ix_audit_event_actor", "actor_id", "id"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        # The chain's position: gapless from 1, one event per seq (app/compliance/chain.py).
        Index("uq_audit_event_seq", "seq", unique=True),
    )

    # A sequence, so events read back in the order they were written.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    occurred_at: datetime = Field(default_factory=utcnow)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    actor_kind: str = Field(max_length=16)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: str = Field(max_length=64)
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id")
    # SHA-256 of the canonical JSON of the operation's input: what was asked, without storing it.
    input_digest: str = Field(max_length=64)
    details: dict[str, Any] = json_field(default={})
    # The hash chain (app/compliance/chain.py): assigned when the event is appended, at commit.
    seq: int = Field(sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
