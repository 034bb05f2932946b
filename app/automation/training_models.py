"""The built-in model's training runs and the uncertainty its versions give the undecided items.

A `training_run` is one attempt to train the built-in classifier of one single-choice field
(trainModel, or the background retrain every `retrain_every` decisions): SUCCEEDED with the model
version it registered and the fitted model's `.npz` bytes (app/automation/classifier.py `dumps`:
plain arrays, never a pickle), or FAILED with its TrainingCode. An `item_uncertainty` row is what
one model version predicted for one undecided item, as the queue's uncertainty sampling reads it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field
from app.ids import new_id


class SamplingStrategy(enum.StrEnum):
    """The order the queue hands items out in, after priority."""

    SEQUENTIAL = "SEQUENTIAL"  # oldest first (import order)
    UNCERTAINTY = "UNCERTAINTY"  # most uncertain first, by the project's uncertainty measure
    DIVERSE_UNCERTAINTY = "DIVERSE_UNCERTAINTY"  # uncertain and spread over the texts (sampling.diverse_order)


class UncertaintyMeasure(enum.StrEnum):
    """How UNCERTAINTY sampling scores an item (app/automation/sampling.py)."""

    LEAST_CONFIDENCE = "LEAST_CONFIDENCE"
    MARGIN = "MARGIN"
    ENTROPY = "ENTROPY"


class TrainingStatus(enum.StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class TrainingTrigger(enum.StrEnum):
    MANUAL = "MANUAL"  # trainModel
    RETRAIN = "RETRAIN"  # the background retrain after `retrain_every` decisions (or the CLI)


class TrainingRun(SQLModel, table=True):
    __tablename__ = "training_run"
    __table_args__ = (Index("ix_training_run_project", "project_id", "started_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    field: str = Field(max_length=100)
    status: TrainingStatus = enum_field(TrainingStatus)
    trigger: TrainingTrigger = enum_field(TrainingTrigger)
    # A TrainingCode (or FORBIDDEN for a retrain whose owner lost the right) and its message.
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=2000)
    requested_by: uuid.UUID = Field(foreign_key="user.id")
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime = Field(default_factory=utcnow)
    training_size: int = Field(default=0)  # decided items with a class of the field
    predicted: int = Field(default=0)  # undecided items given a suggestion
    model_version_id: uuid.UUID | None = Field(default=None, foreign_key="model_version.id")
    # The fitted model (classifier.dumps: a versioned .npz, loaded with allow_pickle=False).
    artifact: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ItemUncertainty(SQLModel, table=True):
    """What a model version's probabilities say about an undecided item: three uncertainties in
    [0, 1] (higher: the model knows less) and the item's place in the diversity-aware order
    (0 first) among the items that version scored."""

    __tablename__ = "item_uncertainty"

    item_id: uuid.UUID = Field(foreign_key="item.id", primary_key=True)
    model_version_id: uuid.UUID = Field(foreign_key="model_version.id", primary_key=True, index=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    least_confidence: float
    margin: float
    entropy: float
    diverse_rank: int
