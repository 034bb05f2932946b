"""`labelgraph import`: a file of items into a project through importItems, batch by batch.

Resumable. The state file (JSON, replaced atomically) records how many records are settled (sent
and committed, or reported as failed) and, while a batch is in flight, where it ends. Every batch:

1. the state says the batch [done, end) is pending;
2. importItems (all or nothing) commits it; a batch with bad rows is sent again without them;
3. the bad rows are appended to the error report (flushed to disk);
4. the state says done = end, with the report's length.

Killed anywhere, a re-run skips the settled records without sending them, cuts the report back to
the recorded length (a batch's errors are never listed twice), and treats EXTERNAL_ID_EXISTS on a
row of the pending batch as "already imported": importItems committed it before the kill, or the
project held it already; either way the item is there once. Outside the pending batch the code is
an error like any other (the file repeats an id the project holds).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from app.client.api import Api, ProjectRef
from app.client.errors import ApiError
from app.operator.rows import Row, read_rows

STATE_VERSION = 1
ROW_FIELD = re.compile(r"^items\.(\d+)(?:\.|$)")
ALREADY_THERE = "EXTERNAL_ID_EXISTS"

IMPORT_ITEMS = """
mutation CliImportItems($input: ImportItemsInput!) {
  importItems(input: $input) { importedCount errors { code message field } }
}
"""


@dataclass
class State:
    """What the state file holds (camelCase on disk would be nicer; these names are stable too)."""

    project: str
    input: str
    size: int
    done: int = 0  # records settled, in file order
    pending: int | None = None  # the end of the batch in flight
    imported: int = 0
    already: int = 0  # rows that were in the project already (a resumed batch)
    failed: int = 0
    errors_at: int = 0  # the error report's length when `done` was written
    version: int = STATE_VERSION

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            raw = json.loads(path.read_text())
            return cls(**raw) if raw.get("version") == STATE_VERSION else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise ApiError(f"cannot read the state file {path} ({exc}): delete it to start over") from None

    def save(self, path: Path) -> None:
        """Replace the file whole (write, fsync, rename): a kill leaves the old state or the new one."""
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("w") as handle:
            json.dump(asdict(self), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)


@dataclass
class Report:
    imported: int = 0
    already: int = 0
    failed: int = 0
    resumed_at: int = 0  # records skipped as settled by an earlier run


class ErrorReport:
    """The per-row error file: JSON Lines of {row, external_id, code, message} (a line per problem,
    so a row may have several), flushed to disk before the state counts its batch as settled."""

    def __init__(self, path: Path, keep: int) -> None:
        self.path = path
        mode = "r+b" if keep and path.exists() else "wb"
        self._handle = path.open(mode)
        self._handle.truncate(keep if mode == "r+b" else 0)
        self._handle.seek(0, os.SEEK_END)

    def add(self, row: Row, code: str, message: str) -> None:
        line = {"row": row.number, "external_id": row.external_id, "code": code, "message": message}
        self._handle.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")

    def sync(self) -> int:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    def close(self) -> None:
        self._handle.close()


def open_state(state_path: Path, project: ProjectRef, source: Path) -> State:
    """The state of an earlier run of this file into this project, or a fresh one."""
    size = source.stat().st_size
    state = State.load(state_path)
    if state is None:
        return State(project=project.id, input=str(source.resolve()), size=size)
    if state.project != project.id:
        raise ApiError(f"{state_path} is the state of an import into another project: give another --state")
    if state.size != size:
        raise ApiError(f"{source} changed since the run {state_path} records: delete that file to start over")
    return state


async def run_import(
    api: Api,
    project: ProjectRef,
    source: Path,
    fmt: str,
    *,
    state_path: Path,
    errors_path: Path,
    batch: int,
    advance: Callable[[int], None],
    resumed: Callable[[int], None],
) -> Report:
    """Import `source` into `project`; `resumed(n)` once with the records an earlier run settled,
    `advance(n)` after every n records settled here (the progress bar)."""
    state = open_state(state_path, project, source)
    report = Report(resumed_at=state.done)
    resumed(state.done)
    resumed_until = state.pending or 0  # rows below it may be in the project already
    errors = ErrorReport(errors_path, state.errors_at)
    try:
        rows = read_rows(source, fmt)
        _skip(rows, state.done)
        while True:
            chunk = _take(rows, batch)
            if not chunk:
                break
            end = chunk[-1].number
            state.pending = end
            state.save(state_path)
            imported, already = await _send(api, project, chunk, errors, resumed_until)
            failed = len(chunk) - imported - already
            state.errors_at = errors.sync()
            state.done, state.pending = end, None
            state.imported += imported
            state.already += already
            state.failed += failed
            state.save(state_path)
            report.imported += imported
            report.already += already
            advance(len(chunk))
    finally:
        errors.close()
    report.failed = state.failed
    return report


def _skip(rows: Iterator[Row], count: int) -> None:
    for _ in range(count):
        if next(rows, None) is None:
            return


def _take(rows: Iterator[Row], count: int) -> list[Row]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == count:
            break
    return chunk


async def _send(
    api: Api, project: ProjectRef, chunk: list[Row], errors: ErrorReport, resumed_until: int
) -> tuple[int, int]:
    """Import the good rows of a batch; (imported, already in the project). Bad rows go to the
    report, in row order."""
    bad: list[tuple[Row, str, str]] = [
        (row, row.code or "INVALID_ROW", row.message or "") for row in chunk if not row.item
    ]
    sending = [row for row in chunk if row.item]
    imported = already = 0
    # Each refusal removes at least one row: a refusal that names none stops the import.
    while sending:
        payload = (
            await api.graphql(
                IMPORT_ITEMS, {"input": {"projectId": project.id, "items": [row.item for row in sending]}}
            )
        )["importItems"]
        if payload is None:
            raise ApiError("importItems answered nothing")
        if not payload["errors"]:
            imported = int(payload["importedCount"])
            break
        faulty: dict[int, list[tuple[str, str]]] = {}
        for error in payload["errors"]:
            match = ROW_FIELD.match(error.get("field") or "")
            if match is None or int(match.group(1)) >= len(sending):
                raise ApiError(f"{error['code']}: {error['message']}")
            faulty.setdefault(int(match.group(1)), []).append((error["code"], error["message"]))
        for index, problems in faulty.items():
            row = sending[index]
            if row.number <= resumed_until and all(code == ALREADY_THERE for code, _ in problems):
                already += 1
            else:
                bad += [(row, code, message) for code, message in problems]
        sending = [row for index, row in enumerate(sending) if index not in faulty]
    for row, code, message in sorted(bad, key=lambda found: found[0].number):
        errors.add(row, code, message)
    return imported, already
