"""Models, their versions, and their suggestions: automated outputs, stored apart from human labels.

A model is a project's (its name unique there) and of one kind: EXTERNAL (pushed by an ML
service or a manager through submitSuggestions), BUILT_IN (trained by Labelgraph itself) or
HEURISTIC (the project's own rules, run at import). A suggestion belongs to one model version and
one item, at most one per (item, model version): a push again replaces it in place. What an
annotator's task actually showed is a `suggestion_exposure` row; the label submitted on that task
carries the result (`label.suggestions_shown`, `label.shown_model_versions`).
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


class ModelKind(enum.StrEnum):
    """Where a model's suggestions come from."""

    EXTERNAL = "EXTERNAL"  # pushed through submitSuggestions (an ML service, a manager)
    BUILT_IN = "BUILT_IN"  # trained by Labelgraph from the project's decided labels
    HEURISTIC = "HEURISTIC"  # the project's own rules (regular expressions, keywords), run at import


class ShowSuggestions(enum.StrEnum):
    """When an annotator's task shows the models' suggestions."""

    NEVER = "NEVER"
    ALWAYS = "ALWAYS"
    # Only once the task's annotator has answered the item on its own: on a rework of the item, or
    # when it reads its task again after submitting (app/automation/reads.py: shows_suggestions).
    AFTER_FIRST_ANSWER = "AFTER_FIRST_ANSWER"


class Model(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    name: str = Field(max_length=100)
    kind: ModelKind = enum_field(ModelKind)
    registered_by: uuid.UUID = Field(foreign_key="user.id")
    registered_at: datetime = Field(default_factory=utcnow)


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    model_id: uuid.UUID = Field(foreign_key="model.id")
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    version: str = Field(max_length=100)
    registered_by: uuid.UUID = Field(foreign_key="user.id")
    registered_at: datetime = Field(default_factory=utcnow)
    # What the version was measured at (a built-in model's cross-validated accuracy, calibration).
    metrics: dict[str, Any] | None = json_field(nullable=True)
    # What the version is (the heuristic rules it runs; a built-in model's settings).
    parameters: dict[str, Any] | None = json_field(nullable=True)


class Suggestion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("item_id", "model_version_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    model_version_id: uuid.UUID = Field(foreign_key="model_version.id", index=True)
    # A label value (the fields the model predicts), checked against `schema_version_id`.
    value: dict[str, Any] = json_field()
    confidence: float
    # field name -> confidence in [0, 1], for fields of the value.
    per_field: dict[str, Any] = json_field(default={})
    # Free text from the model about this item: erased with the item's content (app/erasure/scrub.py).
    explanation: str | None = Field(default=None, max_length=2000)
    schema_version_id: uuid.UUID = Field(foreign_key="label_schema_version.id")
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    # When a push of the same version replaced the value (null: as first pushed).
    updated_at: datetime | None = None


class SuggestionExposure(SQLModel, table=True):
    """A suggestion an annotator's task returned to its annotator (once per task and suggestion)."""

    __tablename__ = "suggestion_exposure"

    assignment_id: uuid.UUID = Field(foreign_key="assignment.id", primary_key=True)
    suggestion_id: uuid.UUID = Field(foreign_key="suggestion.id", primary_key=True)
    model_version_id: uuid.UUID = Field(foreign_key="model_version.id")
    shown_at: datetime = Field(default_factory=utcnow)


class IssueSource(enum.StrEnum):
    """Where a label-issue run's out-of-fold probabilities came from."""

    BUILT_IN = "BUILT_IN"  # the built-in classifier, cross-validated on the decided items (classifier.py)
    MODEL_VERSION = "MODEL_VERSION"  # a model version's pushed suggestions and their confidences


class IssueOutcome(enum.StrEnum):
    """What a run did with one of its ranked issues."""

    FLAGGED = "FLAGGED"  # in the top K: queued for a QA audit (FLAGGED) by this run
    ALREADY_PENDING = "ALREADY_PENDING"  # in the top K, but its item was already pending audit: skipped
    NOT_FLAGGED = "NOT_FLAGGED"  # ranked below the top K


class LabelIssueRun(SQLModel, table=True):
    """One run of label-issue detection (detectLabelIssues) over a single-choice field's decided items."""

    __tablename__ = "label_issue_run"
    __table_args__ = (Index("ix_label_issue_run_project", "project_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    field: str = Field(max_length=200)
    source: IssueSource = enum_field(IssueSource)
    # The model version whose suggestions gave the probabilities (MODEL_VERSION).
    model_version_id: uuid.UUID | None = Field(default=None, foreign_key="model_version.id")
    # The decided items ranked, and those of the field left out (a class with one decided item,
    # no text, or, for a model version, no suggestion on the item).
    item_count: int
    left_out: int
    issue_count: int
    top: int  # K: how many of the ranked issues the run flagged for audit (at most)
    flagged: int
    # What the probabilities were worth: the built-in model's cross-validated accuracy (null for a model version).
    cv_accuracy: float | None = None
    class_counts: dict[str, Any] = json_field(default={})
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class LabelIssue(SQLModel, table=True):
    """One ranked issue of a run: the item, the class decided, the class the model believes, how likely
    mislabeled (1 - normalized margin), and the audit it fed."""

    __tablename__ = "label_issue"

    run_id: uuid.UUID = Field(foreign_key="label_issue_run.id", primary_key=True)
    rank: int = Field(primary_key=True)  # 1 = most likely mislabeled
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    given: str = Field(max_length=1000)
    suggested: str = Field(max_length=1000)
    score: float
    self_confidence: float
    outcome: IssueOutcome = enum_field(IssueOutcome)
    audit_id: uuid.UUID | None = Field(default=None, foreign_key="qa_audit.id")


class SpotCheck(SQLModel, table=True):
    """An item auto-accept would have decided, left with humans to measure it (once per item).

    `value` is the suggestion's value when the item was marked (a later push may replace the
    suggestion in place); when the item's first decision comes, `agreed` says whether it gave
    that value on every field the suggestion gave."""

    __tablename__ = "spot_check"
    __table_args__ = (Index("ix_spot_check_project_epoch", "project_id", "epoch"),)

    item_id: uuid.UUID = Field(foreign_key="item.id", primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    suggestion_id: uuid.UUID = Field(foreign_key="suggestion.id")
    model_version_id: uuid.UUID = Field(foreign_key="model_version.id")
    value: dict[str, Any] = json_field()
    confidence: float
    # The project's auto_accept_epoch when marked: the accuracy that can turn it off is its epoch's.
    epoch: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    decision_id: uuid.UUID | None = Field(default=None, foreign_key="decision.id")
    decided_at: datetime | None = None
    agreed: bool | None = None
