"""Label-schema versions and the change requests that create them.

A label always points at the version it was made under. Versions are written once, by the
approval of a change request; each carries the mapping that carries values of the version
before it forward, so any label can be shown in the terms of the schema in force.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class LabelSchemaVersion(SQLModel, table=True):
    __tablename__ = "label_schema_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    version: int
    definition: dict[str, Any] = json_field()
    # SchemaMapping JSON from version - 1 into this one; None for a project's first version.
    mapping: dict[str, Any] | None = json_field(nullable=True)
    change_request_id: uuid.UUID | None = Field(default=None, foreign_key="schema_change_request.id")
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ChangeStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class SchemaChangeRequest(SQLModel, table=True):
    __tablename__ = "schema_change_request"
    __table_args__ = (Index("ix_schema_change_request_project", "project_id", "status"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    # The active version when proposed; approving is a conflict once another version took its place.
    base_version: int
    definition: dict[str, Any] = json_field()
    mapping: dict[str, Any] = json_field()
    rationale: str
    status: ChangeStatus = enum_field(ChangeStatus, default=ChangeStatus.PENDING)
    diff: dict[str, Any] = json_field()
    impact: dict[str, Any] = json_field()
    proposed_by: uuid.UUID = Field(foreign_key="user.id")
    proposed_at: datetime = Field(default_factory=utcnow)
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = None
    decision_note: str = Field(default="")
    resulting_version: int | None = None
