"""Labels from elsewhere: a JSON Lines or CSV file of (item_id, annotator_id, label) rows, checked.

JSON Lines: one object per line, `{"item_id": str, "annotator_id": str, "label": int | str | null}`
(other keys are ignored, blank lines skipped). CSV (a name ending in `.csv`): a header naming the
columns `item_id`, `annotator_id` and `label` (in any order; other columns ignored), then one row per
label; a label cell that is an integer (optional minus sign, ASCII digits) is an integer, an empty
cell is null, anything else is a string.

A null label is dropped (the annotator saw the item but gave nothing). The same annotator giving
an item the same label twice is a harmless duplicate and counts once; giving it two different labels
is an error. Every problem is a `LabelsFileError` whose message starts with the file's name and the
line ("labels.jsonl:3: ..."). Pure apart from reading the file: nothing of ours imported.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Label = int | str
KEYS = ("item_id", "annotator_id", "label")
_INTEGER = re.compile(r"-?[0-9]+")


class LabelsFileError(ValueError):
    """A labels file that cannot be read; the message names the file and, when there is one, the line."""


@dataclass(frozen=True)
class LabelRow:
    item_id: str
    annotator_id: str
    label: Label


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction or exponent"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _check_row(row: dict[str, Any], where: str) -> LabelRow | None:
    """The row as a LabelRow, None for a null label; LabelsFileError for a missing key or a wrong type."""
    missing = [key for key in KEYS if key not in row]
    if missing:
        raise LabelsFileError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    for key in ("item_id", "annotator_id"):
        if not isinstance(row[key], str):
            raise LabelsFileError(f"{where}: {key} must be a string, got {_json_type(row[key])}")
        if row[key] == "":
            raise LabelsFileError(f"{where}: {key} is empty")
    label = row["label"]
    if label is None:
        return None
    if isinstance(label, bool) or not isinstance(label, int | str):
        raise LabelsFileError(f"{where}: label must be an integer, a string or null, got {_json_type(label)}")
    return LabelRow(row["item_id"], row["annotator_id"], label)


def _jsonl_rows(text: str, name: str) -> Iterator[tuple[int, LabelRow | None]]:
    # Lines end at "\n" only: JSON strings may hold other line separators (U+2028) raw.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelsFileError(f"{where}: not JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(row, dict):
            raise LabelsFileError(f"{where}: a row must be a JSON object, got {_json_type(row)}")
        yield number, _check_row(row, where)


def _csv_cell(cell: str) -> Label | None:
    if cell == "":
        return None
    return int(cell) if _INTEGER.fullmatch(cell) else cell


def _csv_rows(text: str, name: str) -> Iterator[tuple[int, LabelRow | None]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header: list[str] | None = None
        for record in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                missing = [key for key in KEYS if key not in header]
                if missing:
                    raise LabelsFileError(
                        f"{name}:{number}: the first line must be the header item_id,annotator_id,label "
                        f"(missing {', '.join(missing)})"
                    )
                continue
            where = f"{name}:{number}"
            if len(record) != len(header):
                raise LabelsFileError(f"{where}: {len(record)} fields, the header has {len(header)}")
            cells = dict(zip(header, record, strict=True))
            row = {key: cells[key] for key in ("item_id", "annotator_id")} | {"label": _csv_cell(cells["label"])}
            yield number, _check_row(row, where)
    except csv.Error as exc:
        raise LabelsFileError(f"{name}:{reader.line_num}: not CSV: {exc}") from None


def parse_labels(text: str, name: str, *, csv_format: bool = False) -> list[LabelRow]:
    """The labels of a file's text (`name` is what error messages call the file), in file order.

    Returns one row per (item, annotator) with a non-null label: null labels are dropped, and a
    repeat of the same (item, annotator, label) is kept once (at its first line). LabelsFileError
    when a line is not a well-formed row, an annotator gives an item two different labels (naming
    both lines), the text holds no rows at all ("the file is empty"), or every row's label is null.
    """
    rows = _csv_rows(text, name) if csv_format else _jsonl_rows(text, name)
    first: dict[tuple[str, str], tuple[int, Label]] = {}
    kept: list[LabelRow] = []
    seen_any = False
    for number, row in rows:
        seen_any = True
        if row is None:
            continue
        key = (row.item_id, row.annotator_id)
        earlier = first.get(key)
        if earlier is None:
            first[key] = (number, row.label)
            kept.append(row)
        elif earlier[1] != row.label:
            raise LabelsFileError(
                f"{name}:{number}: annotator {row.annotator_id!r} labeled item {row.item_id!r} twice with "
                f"different labels ({earlier[1]!r} on line {earlier[0]}, {row.label!r} here)"
            )
    if not seen_any:
        raise LabelsFileError(f"{name}: the file is empty (no rows)")
    if not kept:
        raise LabelsFileError(f"{name}: no labels (every row's label is null)")
    return kept


def read_labels(path: Path) -> list[LabelRow]:
    """The labels of the file at `path` (`parse_labels`; CSV when its name ends in .csv, else JSON Lines).

    LabelsFileError, naming the file as given, when it cannot be read (missing, a folder, not UTF-8)
    or its content is bad.
    """
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LabelsFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise LabelsFileError(f"{name}: is a directory, not a labels file") from None
    except OSError as exc:
        raise LabelsFileError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LabelsFileError(f"{name}:{line}: not UTF-8 text") from None
    return parse_labels(text, name, csv_format=path.suffix.lower() == ".csv")
