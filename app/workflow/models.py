"""Assignments (tasks), human labels, reviews and the final label of an item."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class AssignmentStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUBMITTED = "SUBMITTED"
    EXPIRED = "EXPIRED"
    RELEASED = "RELEASED"  # handed back by its annotator (releaseTask) before submitting


class LabelStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    CORRECTED = "CORRECTED"


class ReviewStage(enum.StrEnum):
    REVIEW = "REVIEW"
    QA_AUDIT = "QA_AUDIT"


class Verdict(enum.StrEnum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    CORRECT = "CORRECT"


class FinalMethod(enum.StrEnum):
    CONSENSUS_ACCEPTED = "CONSENSUS_ACCEPTED"  # the labels agreed and a reviewer accepted
    ADJUDICATED = "ADJUDICATED"  # the labels disagreed; a reviewer accepted one of them
    CORRECTED = "CORRECTED"  # a reviewer replaced the value


class Assignment(SQLModel, table=True):
    __table_args__ = (
        Index("ix_assignment_item_annotator", "item_id", "annotator_id"),
        Index("ix_assignment_lease", "project_id", "status", "lease_expires_at"),
        Index("ix_assignment_annotator", "annotator_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id")
    annotator_id: uuid.UUID = Field(foreign_key="user.id")
    status: AssignmentStatus = enum_field(AssignmentStatus, default=AssignmentStatus.ACTIVE)
    claimed_at: datetime = Field(default_factory=utcnow)
    lease_expires_at: datetime
    submitted_at: datetime | None = None


class Label(SQLModel, table=True):
    __table_args__ = (Index("ix_label_item", "item_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id")
    # One label per assignment: a second submit is a conflict, enforced here too.
    assignment_id: uuid.UUID = Field(foreign_key="assignment.id", unique=True)
    author_id: uuid.UUID = Field(foreign_key="user.id")
    value: dict[str, Any] = json_field()
    rationale: str = Field(default="")
    time_spent_ms: int | None = None
    status: LabelStatus = enum_field(LabelStatus, default=LabelStatus.SUBMITTED)
    schema_version_id: uuid.UUID = Field(foreign_key="label_schema_version.id")
    guideline_version_id: uuid.UUID | None = Field(default=None, foreign_key="guideline_version.id")
    created_at: datetime = Field(default_factory=utcnow)


class Review(SQLModel, table=True):
    __table_args__ = (Index("ix_review_item", "item_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id")
    label_id: uuid.UUID = Field(foreign_key="label.id")
    reviewer_id: uuid.UUID = Field(foreign_key="user.id")
    stage: ReviewStage = enum_field(ReviewStage, default=ReviewStage.REVIEW)
    verdict: Verdict = enum_field(Verdict)
    corrected_value: dict[str, Any] | None = json_field(nullable=True)
    comment: str = Field(default="")
    schema_version_id: uuid.UUID = Field(foreign_key="label_schema_version.id")
    created_at: datetime = Field(default_factory=utcnow)


class FinalLabel(SQLModel, table=True):
    __tablename__ = "final_label"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    item_id: uuid.UUID = Field(foreign_key="item.id", unique=True)
    value: dict[str, Any] = json_field()
    method: FinalMethod = enum_field(FinalMethod)
    # Share of the counted labels that agree with the final value, per field, averaged.
    agreement: float
    source_label_ids: list[str] = json_field(default=[])
    review_id: uuid.UUID = Field(foreign_key="review.id")
    schema_version_id: uuid.UUID = Field(foreign_key="label_schema_version.id")
    guideline_version_id: uuid.UUID | None = Field(default=None, foreign_key="guideline_version.id")
    decided_by: uuid.UUID = Field(foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow)
