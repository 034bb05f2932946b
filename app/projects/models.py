"""A labeling project and the settings that steer its flow."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.automation.models import ShowSuggestions
from app.automation.training_models import SamplingStrategy, UncertaintyMeasure
from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id
from app.ingestion.anonymize.policy import DuplicateContent
from app.workflow.models import AggregationMethod


class Project(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str = Field(default="")
    # The quality policy (app/workflow/policy.py). How many distinct annotators label each item
    # to start with, and at most (dynamic overlap adds one at a time while confidence is low).
    overlap: int = Field(default=1)
    max_overlap: int = Field(default=1)
    aggregation: AggregationMethod = enum_field(AggregationMethod, default=AggregationMethod.MAJORITY)
    # An item whose aggregated confidence reaches this is decided; below it, it needs another label.
    accept_confidence: float = Field(default=0.0)
    # Share of decided items a reviewer sees (a seeded sample), plus every one decided under
    # review_below_confidence; the rest are decided by the aggregation alone.
    review_rate: float = Field(default=1.0)
    review_below_confidence: float = Field(default=0.0)
    review_seed: int = Field(default=0)
    # The audit policy (app/audits/rules.py): a seeded sample of decided items (the review seed,
    # salted), decisions under a confidence, giving a high-impact class (field -> class values) or
    # a class rarer than a share of the project's decisions, and experts' decisions.
    audit_rate: float = Field(default=0.0)
    audit_below_confidence: float = Field(default=0.0)
    high_impact_classes: dict[str, Any] = json_field(default={})
    rare_class_share: float = Field(default=0.0)
    audit_expert_decisions: bool = Field(default=False)
    # How many of a label-issue run's ranked issues it flags for audit when detectLabelIssues names no `top`.
    label_issues_top: int = Field(default=20)
    # Auto-accept (app/automation/auto_accept.py): field -> confidence threshold a suggestion must
    # reach on every field it gives (and every required field) for an unlabeled item to be decided
    # at once ({}: off); a seeded share of such items stays with humans as spot checks, and when the
    # spot checks' agreement falls under the floor (after at least min_checks) auto-accept turns
    # itself off (off_at and the reason set, the thresholds kept). The epoch counts the times it was
    # turned on: a spot check counts towards the accuracy of its epoch only.
    auto_accept_confidence: dict[str, Any] = json_field(default={})
    spot_check_rate: float = Field(default=0.1)
    auto_accept_floor: float = Field(default=0.9)
    auto_accept_min_checks: int = Field(default=20)
    auto_accept_epoch: int = Field(default=0)
    auto_accept_off_at: datetime | None = Field(default=None)
    auto_accept_off_reason: str = Field(default="")
    # Re-estimate annotator reliability after this many new labels (WEIGHTED, DAWID_SKENE).
    refresh_every: int = Field(default=200)
    # Gold questions (app/expertise/): the share of claims served a gold item, how many of an
    # annotator's latest gold answers its rolling accuracy spans, and the floor under which (after
    # at least gold_min_answers) it is suspended from claiming here; 0 turns suspension off.
    gold_rate: float = Field(default=0.0)
    gold_window: int = Field(default=20)
    gold_floor: float = Field(default=0.0)
    gold_min_answers: int = Field(default=5)
    gold_seed: int = Field(default=0)
    # Certification (app/expertise/qualification.py): claims need a certificate earned by passing a
    # qualification set of `qualification_size` gold items at `qualification_pass_mark` (scored on
    # `qualification_field` only when set); it lasts `certificate_days`; a failed attempt may be
    # retried after `qualification_cooldown_minutes`.
    certification_required: bool = Field(default=False)
    qualification_size: int = Field(default=10)
    qualification_pass_mark: float = Field(default=0.8)
    qualification_field: str = Field(default="")
    certificate_days: int = Field(default=180)
    qualification_cooldown_minutes: int = Field(default=1440)
    # Consent (app/consent): every imported item names a consent record covering `annotation`;
    # `consent_purposes` are the purposes beyond the standard ones (annotation, model_training) that
    # this project accepts on records and exports for.
    consent_required: bool = Field(default=False)
    consent_purposes: list[str] = json_field(default=[])
    # Anonymization at import (app/ingestion/anonymize/): on or off; the built-in detectors and the
    # project's own rules ({"detectors": [...], "rules": [...]}, empty: every built-in, no rules);
    # what an import does with content the project already holds (ALLOW, REJECT).
    anonymize: bool = Field(default=False)
    anonymization: dict[str, Any] = json_field(default={})
    duplicate_content: DuplicateContent = enum_field(DuplicateContent, default=DuplicateContent.ALLOW)
    # Days an item's content is kept after its import; null keeps it forever (app/erasure/retention.py).
    retention_days: int | None = Field(default=None)
    # Suggestions (app/automation): when an annotator's task shows them (NEVER, ALWAYS,
    # AFTER_FIRST_ANSWER); the project's heuristic rules, run at import as the `heuristics` model,
    # whose version is `heuristics_version` (bumped by every change of the rules; 0: never set).
    show_suggestions: ShowSuggestions = enum_field(ShowSuggestions, default=ShowSuggestions.NEVER)
    heuristic_rules: list[dict[str, Any]] = json_field(default=[])
    heuristics_version: int = Field(default=0)
    # Active learning (app/automation/training.py): retrain the built-in model after this many new
    # decisions (null: never on its own), on behalf of `retrain_as` (who set it; a user id without
    # a foreign key, as SQLite adds no FK columns to a referenced table); the queue's order after
    # priority (SEQUENTIAL, UNCERTAINTY by `uncertainty_measure`, DIVERSE_UNCERTAINTY).
    retrain_every: int | None = Field(default=None)
    retrain_as: uuid.UUID | None = Field(default=None)
    sampling_strategy: SamplingStrategy = enum_field(SamplingStrategy, default=SamplingStrategy.SEQUENTIAL)
    uncertainty_measure: UncertaintyMeasure = enum_field(
        UncertaintyMeasure, default=UncertaintyMeasure.LEAST_CONFIDENCE
    )
    # Bumped by every stored re-estimate: a process keeps the parsed estimates while it matches.
    estimates_version: int = Field(default=0)
    lease_seconds: int = Field(default=600)
    # Version numbers of the label schema and guideline in force.
    schema_version: int = Field(default=1)
    guideline_version: int | None = Field(default=None)
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
