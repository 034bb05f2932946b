"""Dataset snapshots: one row per export, one row per (item, decision version) it contained.

A snapshot is written before the export streams a byte, and the export streams exactly its rows,
so re-rendering a snapshot from these rows gives the same bytes (decision rows are immutable
versions; only `superseded_at` is ever set on them). Nothing here holds item content or label text.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, Index, SQLModel

from app.clock import utcnow
from app.columns import json_field
from app.ids import new_id


class DatasetSnapshot(SQLModel, table=True):
    __tablename__ = "dataset_snapshot"
    __table_args__ = (Index("ix_dataset_snapshot_project", "project_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    purpose: str | None = Field(default=None, max_length=64)
    # What selected the rows: {"purpose": ...}; the consent in force and the decisions in force then.
    filters: dict[str, Any] = json_field(default={})
    format: str = Field(default="jsonl", max_length=16)
    item_count: int = Field(default=0)
    # SHA-256 (hex) of the bytes first streamed; set when that stream ended (null if it broke off).
    content_digest: str | None = Field(default=None, max_length=64)
    # The schema version in force: the terms of every line's active_value.
    active_schema_version: int
    # What the exporter could read (the line's shape): item content, labels and people.
    with_items: bool
    with_labels: bool


class DatasetSnapshotItem(SQLModel, table=True):
    __tablename__ = "dataset_snapshot_item"
    # "Which datasets contain item X": by item, newest snapshot first.
    __table_args__ = (Index("ix_dataset_snapshot_item_item", "item_id", "snapshot_id"),)

    snapshot_id: uuid.UUID = Field(foreign_key="dataset_snapshot.id", primary_key=True)
    item_id: uuid.UUID = Field(foreign_key="item.id", primary_key=True)
    decision_id: uuid.UUID = Field(foreign_key="decision.id")
    decision_version: int
    schema_version: int
