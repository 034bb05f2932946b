"""Items to label, as imported."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class ItemStatus(enum.StrEnum):
    """Where an item is in its lifecycle; app/workflow/lifecycle.py holds the moves between them."""

    QUEUED = "QUEUED"  # collecting labels: labels_required more
    IN_REVIEW = "IN_REVIEW"  # has its labels and a proposal; awaits a reviewer
    ESCALATED = "ESCALATED"  # still unresolved at the project's maxOverlap; awaits an expert
    FINAL = "FINAL"  # a decision is in force
    WITHDRAWN = "WITHDRAWN"  # its subject revoked the consent it was imported under: out of every queue


class Item(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        # Listing a project's items oldest first (keyset pages).
        Index("ix_item_project", "project_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    external_id: str = Field(max_length=255)
    data: dict[str, Any] = json_field()
    meta: dict[str, Any] = json_field(default={})
    # HMAC-SHA256 (the content hash key, app/settings.py) of the canonical JSON of `data` as the
    # client sent it, before anonymization: for lineage and de-duplication without the raw data.
    # (Items imported before migration 0012 hold a plain SHA-256.)
    content_hash: str = Field(max_length=64)
    # Who anonymized `data` (name and version of app/ingestion/anonymize) and how many values of
    # each kind it replaced; null when the project's anonymization was off at import.
    anonymizer: str | None = Field(default=None, max_length=64)
    anonymizer_version: str | None = Field(default=None, max_length=32)
    redactions: dict[str, Any] | None = json_field(nullable=True)
    priority: float = Field(default=0.0)
    status: ItemStatus = enum_field(ItemStatus, default=ItemStatus.QUEUED)
    # Labels that count (submitted, not rejected) and live leases: kept on the row so a claim
    # decides from the row it locks.
    label_count: int = Field(default=0)
    active_claims: int = Field(default=0)
    # Labels the item still needs before it can be decided (live leases included): the project's
    # overlap at import, one more each time the aggregation is not confident enough.
    labels_required: int = Field(default=1)
    # After a reviewer's rejection: the annotator whose label it was gets the rework first. A user
    # id without a foreign key: a routing hint, cleared by the next label (SQLite adds no FK columns).
    rework_for: uuid.UUID | None = Field(default=None)
    # A gold question (its answer in gold_answer): served blind at the project's gold rate, never
    # decided. Never shown to those who label; the queue of ordinary items leaves it out.
    gold: bool = Field(default=False)
    # The queue's uncertainty score under the project's sampling strategy (app/automation/training.py
    # writes it from item_uncertainty): higher is handed out first after priority; -1: not scored.
    queue_score: float = Field(default=-1.0)
    # The consent record the item was imported under (app/consent), and its subject copied from it,
    # so erasure and lineage find a subject's items without a join. Null: imported without consent
    # (a project that does not require it).
    consent_id: uuid.UUID | None = Field(default=None, foreign_key="consent_record.id")
    subject_ref: str | None = Field(default=None, max_length=200)
    # When that consent lapses (its record's expires_at, copied: records are never edited), until the
    # lapse has taken effect (app/consent/lapse.py withdrew the item); then null again, so the sweep
    # on every claim reads only what is due. The record keeps the time.
    consent_lapse_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finalized_at: datetime | None = None
    # Set when its content was erased (app/erasure): data and meta are a tombstone since, and the
    # erasure request says why (a subject's erasure or the project's retention).
    erased_at: datetime | None = None
    erasure_id: uuid.UUID | None = Field(default=None, foreign_key="erasure_request.id")


# The annotation queue, in hand-out order: highest priority first, then oldest (ids are time-ordered).
Index("ix_item_queue", col(Item.project_id), col(Item.status), col(Item.priority).desc(), col(Item.id))
# The same under uncertainty sampling: after priority, the most uncertain first.
Index(
    "ix_item_queue_uncertain",
    col(Item.project_id),
    col(Item.status),
    col(Item.priority).desc(),
    col(Item.queue_score).desc(),
    col(Item.id),
)
# De-duplication: is this content already in the project?
Index("ix_item_content", col(Item.project_id), col(Item.content_hash))
Index("ix_item_rework", col(Item.rework_for), col(Item.project_id))
Index("ix_item_consent", col(Item.consent_id))
Index("ix_item_subject", col(Item.subject_ref))
Index("ix_item_consent_lapse", col(Item.project_id), col(Item.consent_lapse_at))
