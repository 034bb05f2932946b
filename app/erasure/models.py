"""The record of every erasure: who asked for it, why, what it reached."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class ErasureKind(enum.StrEnum):
    SUBJECT = "SUBJECT"  # eraseSubject: every item of a (pseudonymous) data subject
    USER = "USER"  # eraseUser: a person's name replaced by a pseudonym
    RETENTION = "RETENTION"  # `labelgraph retention apply`: a project's items past its retention period


class ErasureRequest(SQLModel, table=True):
    """One erasure, kept for accountability. Holds no erased content: the subject reference is a
    pseudonym already, the user is named by id, the counts are numbers."""

    __tablename__ = "erasure_request"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: ErasureKind = enum_field(ErasureKind)
    subject_ref: str | None = Field(default=None, max_length=200, index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id")
    reason: str = Field(default="")
    # Null: the system (the retention command).
    requested_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow)
    # What it reached: items, labels, reviews, decisions, comments, ... (numbers only).
    counts: dict[str, Any] = json_field(default={})
