"""What every export format renders: a snapshot's records (exports/jsonl.export_records) as a
reader may read them, in the terms of the label schema in force when the snapshot was made.

The tabular formats (CSV, Parquet, Hugging Face) need their columns before the first row: the
item data keys come from one pass over the snapshot's items (``data_columns``), and the columns
are named once (``Columns``) so that CSV and Arrow agree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.exports.jsonl import Reader, export_records, tombstones
from app.ingestion.models import Item
from app.lineage.models import DatasetSnapshot, DatasetSnapshotItem
from app.taxonomy.schema_language import FieldSpec, LabelSchema

SCAN_BATCH = 2_000


@dataclass(frozen=True)
class Source:
    """One export's input: the snapshot, who reads it, the schema its active values are in, and the
    field a per-field format (COCO, CoNLL) renders."""

    session: AsyncSession
    snapshot: DatasetSnapshot
    reader: Reader
    schema: LabelSchema
    field: FieldSpec | None = None

    def records(self) -> AsyncIterator[list[dict[str, Any]]]:
        return export_records(self.session, self.snapshot, self.reader)


async def data_columns(source: Source) -> dict[str, bool]:
    """The top-level keys of the item data the export may show, in order of first appearance,
    each with whether every value under it is text (else it is written as JSON). Tombstoned items
    are not read: their content may not go out, not even as a column name."""
    if not source.reader.items:
        return {}
    textual: dict[str, bool] = {}
    after: uuid.UUID | None = None
    while True:
        stmt = (
            select(Item)
            .join(DatasetSnapshotItem, col(DatasetSnapshotItem.item_id) == col(Item.id))
            .where(col(DatasetSnapshotItem.snapshot_id) == source.snapshot.id)
            .order_by(col(Item.id))
            .limit(SCAN_BATCH)
        )
        if after is not None:
            stmt = stmt.where(col(Item.id) > after)
        items = (await source.session.scalars(stmt)).all()
        if not items:
            return textual
        after = items[-1].id
        ended = await tombstones(source.session, items, source.snapshot.purpose)
        for item in items:
            if item.id in ended or not isinstance(item.data, dict):
                continue
            for key, value in item.data.items():
                textual[key] = textual.get(key, True) and (value is None or isinstance(value, str))


# Columns of every tabular export, before and after the data and label columns.
HEAD = ("item_id", "external_id")
TAIL = (
    "decision_version",
    "method",
    "schema_version",
    "active_schema_version",
    "decided_at",
    "confidence",
    "agreement",
)
PEOPLE = ("decided_by",)  # only for a reader who may read labels and the people behind them
LAST = ("tombstone",)


@dataclass(frozen=True)
class Columns:
    """The column names of a tabular export. A label field keeps its own name and a data key its
    own, unless it collides with a column named before it: a field then becomes ``label.<name>``,
    a data key ``data.<key>``."""

    head: tuple[str, ...]
    data: tuple[tuple[str, str, bool], ...]  # (column, data key, textual)
    metadata: str | None  # the item metadata as JSON, for readers of item content
    fields: tuple[tuple[str, FieldSpec], ...]  # (column, field of the schema in force)
    tail: tuple[str, ...]

    @classmethod
    def of(cls, source: Source, data: dict[str, bool]) -> Columns:
        fixed = HEAD + TAIL + (PEOPLE if source.reader.labels else ()) + LAST
        fields = tuple((f"label.{f.name}" if f.name in fixed else f.name, f) for f in source.schema.fields)
        taken = set(fixed) | {name for name, _ in fields}
        keys = tuple((f"data.{k}" if k in taken else k, k, text) for k, text in data.items())
        taken |= {name for name, _, _ in keys}
        metadata = None if not source.reader.items else ("data.metadata" if "metadata" in taken else "metadata")
        return cls(HEAD, keys, metadata, fields, fixed[len(HEAD) :])

    @property
    def names(self) -> list[str]:
        return [
            *self.head,
            *(name for name, _, _ in self.data),
            *([self.metadata] if self.metadata else []),
            *(name for name, _ in self.fields),
            *self.tail,
        ]


def compact(value: Any) -> str:
    """JSON as a cell holds it: compact, Unicode kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
