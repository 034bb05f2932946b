"""A labeling project and the settings that steer its flow."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.ids import new_id


class Project(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str = Field(default="")
    # How many distinct annotators label each item.
    overlap: int = Field(default=1)
    lease_seconds: int = Field(default=600)
    # Version numbers of the label schema and guideline in force.
    schema_version: int = Field(default=1)
    guideline_version: int | None = Field(default=None)
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
