"""Parquet: the snapshot as one Parquet file, typed as the Hugging Face features of exports/arrow.py
(their description is in the file's schema metadata, so ``datasets`` reads ClassLabels back;
pandas and pyarrow read the class indexes). Written a batch at a time in a worker thread into a
temporary file, then streamed out."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.exports.arrow import batches, features, stream_file, write_batches
from app.exports.source import Source

if TYPE_CHECKING:
    import pyarrow as pa


async def render(source: Source) -> AsyncIterator[bytes]:
    columns, rows = await batches(source)
    schema = (await asyncio.to_thread(features, columns)).arrow_schema
    with tempfile.TemporaryDirectory(prefix="labelgraph-parquet-") as tmp:
        path = Path(tmp) / "export.parquet"
        await write_parquet(path, schema, rows)
        async for chunk in stream_file(path):
            yield chunk


async def write_parquet(path: Path, schema: pa.Schema, rows: AsyncIterator[list[dict[str, Any]]]) -> None:
    """The rows into one Parquet file, each batch converted and written in a worker thread."""
    import pyarrow.parquet as pq

    writer = await asyncio.to_thread(pq.ParquetWriter, str(path), schema)

    try:
        await write_batches(writer, schema, rows)
    finally:
        await asyncio.to_thread(writer.close)
