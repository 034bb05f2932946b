"""Hugging Face ``datasets``: a zip of the directory ``Dataset.save_to_disk`` writes, so that
``datasets.load_from_disk`` on the unzipped folder gives the snapshot with its features
(exports/arrow.py: ClassLabels for the choice fields).

The rows are written a batch at a time in a worker thread to an Arrow stream file in a temporary
directory; the dataset is that file memory-mapped (never the whole table in memory), saved and
zipped in the thread. The fingerprint is the snapshot's id and every zip entry carries the
snapshot's time, so rendering a snapshot again gives the same archive.
"""

from __future__ import annotations

import asyncio
import tempfile
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.exports.arrow import batches, features, stream_file, write_batches
from app.exports.source import Source

if TYPE_CHECKING:
    import pyarrow as pa
    from datasets import Features


async def render(source: Source) -> AsyncIterator[bytes]:
    columns, rows = await batches(source)
    typed = await asyncio.to_thread(features, columns)
    with tempfile.TemporaryDirectory(prefix="labelgraph-hf-") as tmp:
        work = Path(tmp)
        table = work / "table.arrow"
        await write_stream(table, typed.arrow_schema, rows)
        archive = work / "dataset.zip"
        fingerprint = source.snapshot.id.hex
        await asyncio.to_thread(save, table, typed, fingerprint, work / "dataset", archive, source.snapshot.created_at)
        async for chunk in stream_file(archive):
            yield chunk


async def write_stream(path: Path, schema: pa.Schema, rows: AsyncIterator[list[dict[str, Any]]]) -> None:
    import pyarrow as pa

    sink = await asyncio.to_thread(pa.OSFile, str(path), "wb")
    writer = await asyncio.to_thread(pa.ipc.new_stream, sink, schema)

    try:
        await write_batches(writer, schema, rows)
    finally:
        await asyncio.to_thread(writer.close)
        await asyncio.to_thread(sink.close)


def save(table: Path, typed: Features, fingerprint: str, directory: Path, archive: Path, made: datetime) -> None:
    """save_to_disk of the memory-mapped table, zipped with fixed entry times (in a worker thread)."""
    import datasets
    from datasets.table import MemoryMappedTable

    datasets.disable_progress_bars()  # a server's stderr is no terminal
    dataset = datasets.Dataset(
        MemoryMappedTable.from_file(str(table)), info=datasets.DatasetInfo(features=typed), fingerprint=fingerprint
    )
    dataset.save_to_disk(str(directory))
    stamp = (made.year, made.month, made.day, made.hour, made.minute, made.second)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as handle, zipped.open(entry, "w") as out:
                while chunk := handle.read(1 << 20):
                    out.write(chunk)
