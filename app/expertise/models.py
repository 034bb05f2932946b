"""Gold questions, the answers they got, suspensions from claiming, qualification attempts and
certificates (app/expertise/service.py, app/expertise/qualification.py)."""

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
    # Set for an answer given in a qualification set (not blind: it never counts in the rolling accuracy).
    attempt_id: uuid.UUID | None = Field(default=None, foreign_key="qualification_attempt.id")
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


class QualificationAttempt(SQLModel, table=True):
    """One run of an annotator through a project's qualification set: gold items answered with
    feedback after each, ended by passing (a certificate) or failing (a retry after the cool-down)."""

    __tablename__ = "qualification_attempt"
    __table_args__ = (Index("ix_qualification_attempt_user", "project_id", "user_id", "started_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    user_id: uuid.UUID = Field(foreign_key="user.id")
    field: str = ""  # the label set it certifies ("" for the whole schema)
    size: int  # the policy in force when it started
    pass_mark: float
    answered: int = 0
    score_sum: float = 0.0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    passed: bool | None = None
    retry_after: datetime | None = None  # set when it failed


class Certificate(SQLModel, table=True):
    """An annotator certified in a project (for one label set, or the whole schema when field is "")
    until it expires."""

    __table_args__ = (Index("ix_certificate_holder", "project_id", "user_id", "field", "expires_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    user_id: uuid.UUID = Field(foreign_key="user.id")
    field: str = ""
    attempt_id: uuid.UUID = Field(foreign_key="qualification_attempt.id", unique=True)
    score: float
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class CertificateRequirement(SQLModel, table=True):
    """A certificate from another project that claims here need: a reliable pool for the project's
    tasks or for its escalations."""

    __tablename__ = "certificate_requirement"

    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True)
    stage: str = Field(primary_key=True)  # RequirementStage
    from_project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True)
    field: str = Field(default="", primary_key=True)
