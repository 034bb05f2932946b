"""`labelgraph export` and `labelgraph quality report`: a download route streamed to a file.

The bytes go to a temporary file beside the target and are renamed into place once complete, so an
interrupted download never leaves a truncated file under the name asked for. `hf` (a zip archive of
a `datasets` save_to_disk directory) is unpacked into a directory instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

from app.client.api import Api, ProjectRef
from app.client.errors import ApiError

# The export formats of the contract (GET /export/{project}/{format}) and their file extensions.
EXPORT_FORMATS = {
    "jsonl": "jsonl",
    "csv": "csv",
    "parquet": "parquet",
    "hf": "zip",
    "label-studio": "json",
    "coco": "json",
    "conll": "conll",
    "spacy": "spacy.jsonl",  # not .jsonl: the default name must not be the jsonl export's
}
REPORT_FORMATS = ("html", "pdf")
CHUNK = 1 << 16


@dataclass(frozen=True)
class Downloaded:
    path: Path
    bytes: int
    snapshot: str | None  # the dataset snapshot the export recorded (Labelgraph-Snapshot)


def export_path(project: ProjectRef | None, snapshot: str | None, fmt: str) -> str:
    """The route of an export (a project's, recording a new snapshot) or of a snapshot again."""
    target = f"snapshots/{quote(snapshot, safe='')}" if snapshot else quote(project.id if project else "", safe="")
    return f"/export/{target}/{fmt}"


def default_name(stem: str, fmt: str) -> Path:
    """The file (or, for hf, the directory) an export is written to when no --out is given."""
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem).strip("-") or "export"
    return Path(f"{safe}-hf") if fmt == "hf" else Path(f"{safe}.{EXPORT_FORMATS[fmt]}")


async def download(
    api: Api,
    path: str,
    params: dict[str, str],
    out: Path,
    *,
    on_start: Callable[[int | None], None],
    advance: Callable[[int], None],
    unzip: bool = False,
) -> Downloaded:
    """Stream `path` to `out` (unpacked into the directory `out` when `unzip`)."""
    partial = out.with_name(f".{out.name}.part")
    async with api.download(path, params) as response:
        length = response.headers.get("content-length")
        on_start(int(length) if length and length.isdigit() else None)
        written = 0
        with _writing(partial) as handle:
            async for chunk in response.aiter_bytes(CHUNK):
                handle.write(chunk)
                written += len(chunk)
                advance(len(chunk))
        snapshot = response.headers.get("labelgraph-snapshot")
    if unzip:
        try:
            _unzip(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    else:
        os.replace(partial, out)
    return Downloaded(out, written, snapshot)


@contextlib.contextmanager
def _writing(partial: Path) -> Iterator[BinaryIO]:
    """The partial file open for writing; removed when the download fails."""
    try:
        with partial.open("wb") as handle:
            yield handle
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _unzip(archive: Path, directory: Path) -> None:
    """Unpack into `directory` (made fresh): every member must stay inside it."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise ApiError(f"the archive names a path outside its directory: {member.filename}")
            staging = directory.with_name(f".{directory.name}.unpacking")  # beside the archive (.part)
            shutil.rmtree(staging, ignore_errors=True)
            zipped.extractall(staging)
    except zipfile.BadZipFile:
        raise ApiError("the hf export is not a zip archive") from None
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(staging, directory)
