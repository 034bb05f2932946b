"""Guideline versions (the written instructions a label was made under) and who acknowledged them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class GuidelineStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class GuidelineVersion(SQLModel, table=True):
    __tablename__ = "guideline_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    version: int
    status: GuidelineStatus = enum_field(GuidelineStatus, default=GuidelineStatus.DRAFT)
    body: str = Field(default="")
    # Definitions, examples, edge cases and decision tree: app.guidelines.content's normalized JSON.
    content: dict[str, Any] = json_field(default={})
    changelog: str = Field(default="")
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    published_at: datetime | None = None


class GuidelineAcknowledgement(SQLModel, table=True):
    __tablename__ = "guideline_acknowledgement"
    __table_args__ = (UniqueConstraint("guideline_version_id", "user_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    guideline_version_id: uuid.UUID = Field(foreign_key="guideline_version.id")
    user_id: uuid.UUID = Field(foreign_key="user.id")
    acknowledged_at: datetime = Field(default_factory=utcnow)
