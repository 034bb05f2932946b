"""Model suggestions: automated outputs, stored apart from human labels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import json_field
from app.ids import new_id


class Suggestion(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    model_name: str = Field(max_length=200)
    model_version: str = Field(max_length=100)
    value: dict[str, Any] = json_field()
    confidence: float
    schema_version_id: uuid.UUID = Field(foreign_key="label_schema_version.id")
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
