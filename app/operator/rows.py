"""Reading an import file one record at a time (JSON Lines or CSV), never the whole file at once.

Each record becomes a `Row`: the importItems input of one item, or the problem that keeps it from
being one (found here, before anything is sent). Rows are numbered from 1 in file order (blank
JSONL lines are not records; a CSV header is not one).

JSON Lines: one object per line with `externalId` (or `external_id`), `data` (an object), and
optionally `metadata`, `priority`, `gold`, `consentId` (or `consent_id`). A line without `data`
takes every other key as its data: `{"externalId": "a1", "text": "..."}` imports `{"text": "..."}`.

CSV (a header row; UTF-8): `external_id` is required; `data` holds the item's data as a JSON object,
or, when there is no `data` column, every column not named below is a text field of the data;
`metadata` (a JSON object), `priority` (a number), `gold` (JSON) and `consent_id` are optional, and
empty cells of those mean absent.

Problems found here (codes beside importItems' own): INVALID_JSON, MISSING_EXTERNAL_ID, MISSING_DATA,
INVALID_CSV_ROW, INVALID_CSV_CELL; and, with importItems' codes, what the server would refuse the
whole request for rather than the row (INVALID_EXTERNAL_ID, INVALID_PRIORITY, INVALID_CONSENT_ID for
a value of the wrong type; INVALID_TEXT, TOO_DEEP, OUT_OF_RANGE from app/json_bounds.py).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import json_bounds

FORMATS = ("jsonl", "csv")
# Keys of a JSONL object (either spelling) and CSV columns that are not data.
ALIASES = {
    "externalId": "externalId",
    "external_id": "externalId",
    "data": "data",
    "metadata": "metadata",
    "priority": "priority",
    "gold": "gold",
    "consentId": "consentId",
    "consent_id": "consentId",
}
# An item's data may be 256 KiB as JSON; a CSV cell holding it must be readable.
CSV_FIELD_LIMIT = 4 * 1024 * 1024
CHUNK = 1 << 20


@dataclass(frozen=True)
class Row:
    number: int  # 1-based, in file order
    external_id: str | None
    item: dict[str, Any] | None  # ItemInput, as GraphQL variables
    code: str | None = None  # why there is no item
    message: str | None = None


def format_of(path: Path, given: str | None) -> str | None:
    """The file's format: given, or from its extension (.jsonl, .ndjson, .csv); None when unknown."""
    if given:
        return given if given in FORMATS else None
    suffix = path.suffix.lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}.get(suffix)


def count_records(path: Path, fmt: str) -> int:
    """About how many records the file holds, by counting line ends (fast: no parsing). Exact for
    JSON Lines without blank lines and for CSV without line breaks inside cells; only the progress
    bar's total depends on it."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0) if fmt == "csv" else lines


def read_rows(path: Path, fmt: str) -> Iterator[Row]:
    """The file's records in order. Raises ValueError (one line) when the file itself is unusable
    (not UTF-8, a CSV without an external_id column)."""
    return _jsonl(path) if fmt == "jsonl" else _csv(path)


def _jsonl(path: Path) -> Iterator[Row]:
    number = 0
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            number += 1
            try:
                value = json.loads(raw, parse_constant=_no_constant)
            except (ValueError, UnicodeDecodeError):
                yield Row(number, None, None, "INVALID_JSON", f"line {line_number} is not valid JSON")
                continue
            if not isinstance(value, dict):
                yield Row(number, None, None, "INVALID_JSON", f"line {line_number} is not a JSON object")
                continue
            yield _from_mapping(number, value, data_rest=True)


def _csv(path: Path) -> Iterator[Row]:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            columns = reader.fieldnames or []
        except UnicodeDecodeError:
            raise ValueError(f"{path} is not UTF-8 text") from None
        except csv.Error as exc:
            raise ValueError(f"{path}: {exc}") from None
        if "external_id" not in columns:
            raise ValueError(f"{path} has no external_id column (its header: {', '.join(columns) or 'empty'})")
        number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ValueError(f"{path} is not UTF-8 text (after row {number})") from None
            except csv.Error as exc:
                raise ValueError(f"{path}: row {number + 1}: {exc}") from None
            number += 1
            yield _from_csv(number, record)


def _from_csv(number: int, record: dict[str | Any, Any]) -> Row:
    external_id = record.get("external_id") or None
    if None in record:  # more cells than the header has columns
        return Row(number, external_id, None, "INVALID_CSV_ROW", "the row has more cells than the header")
    value: dict[str, Any] = {}
    for column, cell in record.items():
        if cell is None:
            return Row(number, external_id, None, "INVALID_CSV_ROW", "the row has fewer cells than the header")
        key = ALIASES.get(column)
        if key is None:
            continue
        if key == "externalId":
            value[key] = cell
            continue
        if cell == "":
            continue
        if key in ("data", "metadata", "gold"):
            try:
                value[key] = json.loads(cell, parse_constant=_no_constant)
            except ValueError:
                return Row(number, external_id, None, "INVALID_CSV_CELL", f"the {column} cell is not valid JSON")
        elif key == "priority":
            try:
                value[key] = float(cell)
            except ValueError:
                value[key] = math.nan
            if not math.isfinite(value[key]):
                return Row(number, external_id, None, "INVALID_CSV_CELL", "the priority cell is not a finite number")
        else:
            value[key] = cell
    if "data" not in record:
        value["data"] = {column: cell for column, cell in record.items() if column not in ALIASES}
    return _from_mapping(number, value, data_rest=False)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's reader accepts them; the server would refuse the batch)."""
    raise ValueError(f"{name} is not JSON")


def _from_mapping(number: int, value: dict[str, Any], *, data_rest: bool) -> Row:
    item: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, field in value.items():
        name = ALIASES.get(key)
        if name is None:
            rest[key] = field
        elif field is not None:
            item[name] = field
    if data_rest and "data" not in item and rest:
        item["data"] = rest
    external_id = item.get("externalId")
    shown = external_id if isinstance(external_id, str) else None
    if external_id is None or (isinstance(external_id, str) and not external_id.strip()):
        return Row(number, shown, None, "MISSING_EXTERNAL_ID", "the row has no externalId")
    if "data" not in item:
        return Row(number, shown, None, "MISSING_DATA", "the row has no data")
    problem = _shape_problem(item)
    if problem is not None:
        return Row(number, shown, None, *problem)
    return Row(number, shown, item)


def _shape_problem(item: dict[str, Any]) -> tuple[str, str] | None:
    """What would make the server refuse the whole request rather than this row (a GraphQL type
    that does not coerce, text or nesting its body decoder rejects), as the row's own problem;
    the rest importItems checks and reports per row."""
    if not isinstance(item["externalId"], str):
        return "INVALID_EXTERNAL_ID", "externalId must be a string"
    priority = item.get("priority", 0.0)
    if not isinstance(priority, int | float) or isinstance(priority, bool):
        return "INVALID_PRIORITY", "priority must be a number"
    consent = item.get("consentId")
    if isinstance(consent, int) and not isinstance(consent, bool):
        item["consentId"] = str(consent)
    elif consent is not None and not isinstance(consent, str):
        return "INVALID_CONSENT_ID", "consentId must be a string"
    texts = [("externalId", item["externalId"])] + ([("consentId", item["consentId"])] if consent is not None else [])
    problems = [p for name, text in texts for p in json_bounds.check_text(text, name)]
    problems += [
        p for name in ("data", "metadata", "gold") if name in item for p in json_bounds.check(item[name], name)
    ]
    if problems:
        return problems[0].code, f"{problems[0].field}: {problems[0].message}"
    return None
