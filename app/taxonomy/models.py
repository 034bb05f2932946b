"""Label-schema versions: a label always points at the one it was made under."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import json_field
from app.ids import new_id


class LabelSchemaVersion(SQLModel, table=True):
    __tablename__ = "label_schema_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    version: int
    definition: dict[str, Any] = json_field()
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
