"""Assignments (tasks), human labels, reviews, the versioned decisions on an item and escalations."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class AssignmentStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUBMITTED = "SUBMITTED"
    EXPIRED = "EXPIRED"
    RELEASED = "RELEASED"  # handed back by its annotator (releaseTask) before submitting
    CANCELLED = "CANCELLED"  # its item was withdrawn (consent revoked) while it was open


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


class DecisionMethod(enum.StrEnum):
    CONSENSUS_ACCEPTED = "CONSENSUS_ACCEPTED"  # the labels agreed and a reviewer accepted
    ADJUDICATED = "ADJUDICATED"  # the labels disagreed; a reviewer accepted one of them
    CORRECTED = "CORRECTED"  # a reviewer replaced the value
    AGGREGATED = "AGGREGATED"  # the project's aggregation decided it, confident enough, unreviewed
    EXPERT_RESOLVED = "EXPERT_RESOLVED"  # an expert settled an escalated disagreement
    AUDIT_OVERTURNED = "AUDIT_OVERTURNED"  # a QA auditor overturned the decision in force
    AUTO_ACCEPTED = "AUTO_ACCEPTED"  # a confident suggestion decided an unlabeled item (automation/auto_accept.py)


class AggregationMethod(enum.StrEnum):
    MAJORITY = "MAJORITY"
    WEIGHTED = "WEIGHTED"
    DAWID_SKENE = "DAWID_SKENE"


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
    # A question of a qualification set (app/expertise/qualification.py), answered with feedback.
    qualification_attempt_id: uuid.UUID | None = Field(default=None, foreign_key="qualification_attempt.id")


class Label(SQLModel, table=True):
    # By author: an annotator's own labels (viewer.feedback) without a scan of everyone's.
    __table_args__ = (Index("ix_label_item", "item_id"), Index("ix_label_author", "author_id"))

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
    # Whether the task this label was made on had returned model suggestions to its annotator
    # before the submit, and the model versions (ids, as text) they came from (app/automation).
    suggestions_shown: bool = Field(default=False)
    shown_model_versions: list[str] = json_field(default=[])
    # An imported label (app/interop/label_studio): where it was made ("label-studio") and its id
    # there. Null for a label submitted here. It entered through a claim and a submit of the item's
    # lifecycle like any other label, so it counts towards the decision as they do.
    imported_from: str | None = Field(default=None, max_length=32)
    external_id: str | None = Field(default=None, max_length=255)


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


class Decision(SQLModel, table=True):
    """One decision on an item's final value. A new decision supersedes the one in force, which
    stays readable: an item's decisions, oldest first, are its version history."""

    __table_args__ = (
        UniqueConstraint("item_id", "version"),
        # At most one decision in force per item.
        Index(
            "uq_decision_in_force",
            "item_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    item_id: uuid.UUID = Field(foreign_key="item.id")
    version: int
    value: dict[str, Any] = json_field()
    method: DecisionMethod = enum_field(DecisionMethod)
    # The aggregation that proposed the value (null for a reviewer's correction or an expert's value).
    aggregation: AggregationMethod | None = enum_field(AggregationMethod, nullable=True)
    # How sure the deciding method was (the aggregated confidence; 1.0 for a human's own value).
    confidence: float
    # Share of the counted labels that agree with the value, per field, averaged.
    agreement: float
    # Per field: the method's proposal, its confidence and the vote or posterior behind it.
    detail: dict[str, Any] = json_field(default={})
    rationale: str = Field(default="")
    review_id: uuid.UUID | None = Field(default=None, foreign_key="review.id")
    schema_version_id: uuid.UUID = Field(foreign_key="label_schema_version.id")
    guideline_version_id: uuid.UUID | None = Field(default=None, foreign_key="guideline_version.id")
    # The person who decided; null when the aggregation decided on its own.
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    # The model version whose suggestion was taken (AUTO_ACCEPTED); null for every other method.
    # No foreign key, as item.rework_for: SQLite cannot add one to a referenced table without a copy.
    model_version_id: uuid.UUID | None = Field(default=None)
    decided_at: datetime = Field(default_factory=utcnow)
    superseded_at: datetime | None = None


class DecisionLabel(SQLModel, table=True):
    """The labels a decision was made from."""

    __tablename__ = "decision_label"

    decision_id: uuid.UUID = Field(foreign_key="decision.id", primary_key=True)
    label_id: uuid.UUID = Field(foreign_key="label.id", primary_key=True, index=True)


class Escalation(SQLModel, table=True):
    """An item whose labels stayed unresolved at the project's maxOverlap, waiting for an expert."""

    __table_args__ = (Index("ix_escalation_queue", "project_id", "resolved_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    reason: str
    # The aggregation's best guess when it gave up, for the expert to weigh.
    confidence: float
    created_at: datetime = Field(default_factory=utcnow)
    claimed_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    lease_expires_at: datetime | None = None
    resolved_at: datetime | None = None
    decision_id: uuid.UUID | None = Field(default=None, foreign_key="decision.id")


class QualityModel(SQLModel, table=True):
    """A project's latest estimate of its annotators, per label field: what WEIGHTED and
    DAWID_SKENE aggregate with between full re-estimates (app/workflow/estimates.py)."""

    __tablename__ = "quality_model"

    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True)
    field: str = Field(primary_key=True, max_length=200)
    method: AggregationMethod = enum_field(AggregationMethod)
    # The field's values as canonical JSON, in class order; prior and confusion rows follow it.
    classes: list[str] = json_field(default=[])
    prior: list[float] = json_field(default=[])
    # annotator id -> {"accuracy": float, "labels": int, "confusion": K x K (DAWID_SKENE only)}
    annotators: dict[str, Any] = json_field(default={})
    labels_used: int = Field(default=0)
    iterations: int = Field(default=0)
    converged: bool = Field(default=True)
    estimated_at: datetime = Field(default_factory=utcnow)
