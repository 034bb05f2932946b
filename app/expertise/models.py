"""Gold questions, the answers they got, and suspensions from claiming (app/expertise/service.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, Index, SQLModel

from app.clock import utcnow
from app.columns import json_field
from app.ids import new_id


class GoldAnswer(SQLModel, table=True):
    """The known answer of a gold item (the item row carries `gold` too, for the queue)."""

    __tablename__ = "gold_answer"

    item_id: uuid.UUID = Field(foreign_key="item.id", primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    value: dict[str, Any] = json_field()
    set_by: uuid.UUID = Field(foreign_key="user.id")
    set_at: datetime = Field(default_factory=utcnow)


class GoldResponse(SQLModel, table=True):
    """One annotator's answer to a gold item, scored against the known answer (0..1, the mean over
    the gold answer's fields of each field kind's own measure)."""

    __tablename__ = "gold_response"
    __table_args__ = (Index("ix_gold_response_annotator", "project_id", "annotator_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    annotator_id: uuid.UUID = Field(foreign_key="user.id")
    label_id: uuid.UUID = Field(foreign_key="label.id", unique=True)
    score: float
    fields: dict[str, Any] = json_field()  # field -> its score
    created_at: datetime = Field(default_factory=utcnow)


class Suspension(SQLModel, table=True):
    """An annotator barred from claiming in a project until a manager lifts it."""

    __table_args__ = (Index("ix_suspension_open", "project_id", "user_id", "lifted_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    user_id: uuid.UUID = Field(foreign_key="user.id")
    reason: str
    gold_accuracy: float | None = None
    created_at: datetime = Field(default_factory=utcnow)
    lifted_at: datetime | None = None
    lifted_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    lift_reason: str | None = None
