"""The Arrow table behind the Parquet and Hugging Face exports: the CSV's columns (source.Columns),
typed from the label schema as Hugging Face ``datasets`` features.

A single_choice field is a ``ClassLabel`` over its classes (an integer in the file, the class
names in the features), multi_choice and taxonomy fields lists of ``ClassLabel``, spans and boxes
lists of structs whose label is a ``ClassLabel``; rating is int64, number float64, text a string.
A value that is not a class of the schema in force (none should be: active values are in its
terms) is null rather than a wrong class. Item data keys whose values are all text are strings,
other keys JSON text, as the metadata.

pyarrow and datasets are imported in the worker thread that builds the file, never at start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.exports.csv_rows import values
from app.exports.source import Columns, Source, data_columns
from app.taxonomy.schema_language import FieldSpec

if TYPE_CHECKING:
    import pyarrow as pa
    from datasets import Features

CHUNK = 1 << 20  # bytes per chunk when the built file is streamed out

INTEGERS = ("decision_version", "schema_version", "active_schema_version")
FLOATS = ("confidence", "agreement")


def features(columns: Columns) -> Features:
    from datasets import ClassLabel, Features, List, Value

    def field_feature(spec: FieldSpec) -> Any:
        label = ClassLabel(names=list(spec.classes)) if spec.classes else Value("string")
        if spec.kind == "single_choice":
            return label
        if spec.kind in ("multi_choice", "taxonomy"):
            return List(label)
        if spec.kind == "spans":
            return List({"start": Value("int64"), "end": Value("int64"), "label": label})
        if spec.kind == "boxes":
            coordinate = Value("float64")
            return List({"x": coordinate, "y": coordinate, "width": coordinate, "height": coordinate, "label": label})
        return Value({"rating": "int64", "number": "float64"}.get(spec.kind, "string"))

    typed: dict[str, Any] = {}
    for name in columns.names:
        typed[name] = Value("int64" if name in INTEGERS else "float64" if name in FLOATS else "string")
    for name, spec in columns.fields:
        typed[name] = field_feature(spec)
    return Features(typed)


def encoder(columns: Columns) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A record as the row of the features: class names as ClassLabel indexes, JSON where untyped."""
    from app.exports.source import compact

    indexes = {name: {c: i for i, c in enumerate(spec.classes)} for name, spec in columns.fields}
    kinds = {name: spec.kind for name, spec in columns.fields}
    untyped = {name for name, _, textual in columns.data if not textual}

    def encode_field(name: str, value: Any) -> Any:
        index, kind = indexes[name], kinds[name]
        if value is None:
            return None
        if kind == "single_choice":
            return index.get(value) if isinstance(value, str) else None
        if kind in ("multi_choice", "taxonomy"):
            return [index.get(v) for v in value] if isinstance(value, list) else None
        if kind in ("spans", "boxes"):
            return (
                [{**entry, "label": index.get(entry.get("label"))} for entry in value]
                if isinstance(value, list)
                else None
            )
        if kind == "rating":
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        if kind == "number":
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        return value if isinstance(value, str) else compact(value)

    def encode(record: dict[str, Any]) -> dict[str, Any]:
        row = values(columns, record)
        for name in kinds:
            row[name] = encode_field(name, row.get(name))
        for name in untyped:
            if row.get(name) is not None:
                row[name] = compact(row[name])
        return row

    return encode


async def batches(source: Source) -> tuple[Columns, AsyncIterator[list[dict[str, Any]]]]:
    """The columns and the encoded rows, a batch at a time (the arrays are made in the writer's thread)."""
    columns = Columns.of(source, await data_columns(source))
    encode = encoder(columns)

    async def rows() -> AsyncIterator[list[dict[str, Any]]]:
        async for records in source.records():
            yield [encode(record) for record in records]

    return columns, rows()


def record_batch(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist(rows, schema=schema)


async def write_batches(writer: Any, schema: pa.Schema, rows: AsyncIterator[list[dict[str, Any]]]) -> None:
    """Each batch of rows converted to Arrow and handed to `writer` (a Parquet or IPC stream writer)
    in a worker thread: the event loop never converts or writes."""

    def write(batch: list[dict[str, Any]]) -> None:
        writer.write_batch(record_batch(schema, batch))

    async for batch in rows:
        if batch:
            await asyncio.to_thread(write, batch)


async def stream_file(path: Path) -> AsyncIterator[bytes]:
    """A built file's bytes, read in a thread a chunk at a time."""
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)
