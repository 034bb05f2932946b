"""CSV: one row per item of the snapshot, streamed a batch at a time.

Columns (source.Columns): item_id, external_id, the item data's top-level keys (text as is,
anything else as JSON) and its metadata as JSON (both only for readers of item content), one
column per field of the schema in force with the final value in its terms (``active_value``;
lists and objects as JSON, an unanswered field empty), then the decision's version, method, the
schema version it was made under, the version in force, when it was decided, its confidence and
agreement, who decided it (only for readers of labels) and, last, the tombstone reason of an item
that may not go out again (its other cells are then empty).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from app.exports.source import Columns, Source, compact, data_columns


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return compact(value)


def values(columns: Columns, record: dict[str, Any]) -> dict[str, Any]:
    """A record's values by column name; a tombstone keeps only its item, version and reason."""
    if "tombstone" in record:
        return {name: record.get(name) for name in ("item_id", "decision_version", "tombstone")}
    data = record.get("data") or {}
    value = record.get("active_value") or {}
    found: dict[str, Any] = {name: record.get(name) for name in (*columns.head, *columns.tail)}
    found.update({name: data.get(key) for name, key, _ in columns.data})
    if columns.metadata and record.get("metadata") is not None:
        found[columns.metadata] = compact(record["metadata"])
    found.update({name: value.get(spec.name) for name, spec in columns.fields})
    return found


def row(columns: Columns, record: dict[str, Any]) -> list[str]:
    found = values(columns, record)
    return [cell(found.get(name)) for name in columns.names]


async def render(source: Source) -> AsyncIterator[bytes]:
    columns = Columns.of(source, await data_columns(source))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns.names)
    yield buffer.getvalue().encode()
    async for records in source.records():
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(row(columns, record) for record in records)
        yield buffer.getvalue().encode()
