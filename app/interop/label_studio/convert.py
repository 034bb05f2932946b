"""Label Studio export rows as Labelgraph rows: a task as an item, a result list as a label value.

Pure. Label Studio's JSON export is a list of tasks
``{"id", "data", "meta"?, "annotations": [...], "predictions": [...]}``; an annotation or a
prediction holds ``result``, a list of regions ``{"from_name", "to_name", "type", "value",
"original_width"?, "original_height"?}``. Values convert per control kind:

- choices ``{"choices": [..]}`` -> a class name (single) or the list (multiple);
- labels ``{"start", "end", "text", "labels": [..]}`` -> one span per label. Label Studio's offsets
  count UTF-16 code units (JavaScript strings); Labelgraph's count code points, so they are
  converted, and the region's ``text`` must be the task's text there (else SPAN_TEXT_MISMATCH);
- rectanglelabels ``{"x", "y", "width", "height", "rotation", "rectanglelabels": [..]}`` in percent
  of the image -> one box per label in pixels of ``original_width`` x ``original_height`` (which
  also become the item's metadata ``width``/``height``); a rotated one is BOX_ROTATED;
- rating ``{"rating"}``, number ``{"number"}``, textarea ``{"text": [..]}`` (lines joined),
  taxonomy ``{"taxonomy": [[path], ..]}`` -> the classes of every path.

Results of dropped controls (and relations) are counted, not converted; a result from a control
the config does not have is UNKNOWN_CONTROL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import Problem
from app.interop.label_studio.config import ConfigMapping, Control

# Box coordinates are kept to this many decimals (pixels); a corner past the image edge by less
# than EDGE_SLACK pixels (percent arithmetic) is put on the edge.
DECIMALS = 6
EDGE_SLACK = 1e-3
# The key of a region's value per result type (where it is not the type itself).
VALUE_KEY = {"textarea": "text"}


@dataclass
class Converted:
    value: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)  # control name -> results dropped


def image_size(task: Mapping[str, Any], at: str) -> tuple[tuple[float, float] | None, list[Problem]]:
    """The task's image size from its regions' original_width/height (the same in every one)."""
    sizes: set[tuple[float, float]] = set()
    for kind in ("annotations", "predictions"):
        rows = task.get(kind)
        for row in rows if isinstance(rows, list) else ():
            results = row.get("result") if isinstance(row, Mapping) else None
            for region in results if isinstance(results, list) else ():
                if isinstance(region, Mapping) and "original_width" in region:
                    w, h = region.get("original_width"), region.get("original_height")
                    if _positive(w) and _positive(h):
                        sizes.add((float(w), float(h)))  # type: ignore[arg-type]
    if len(sizes) > 1:
        return None, [Problem("IMAGE_SIZE_CONFLICT", "The task's regions give its image two sizes.", f"{at}.result")]
    return (next(iter(sizes)) if sizes else None), []


def _positive(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def value_of(
    results: Any, mapping: ConfigMapping, data: Mapping[str, Any], size: tuple[float, float] | None, at: str
) -> Converted:
    """A result list as a label value keyed by field name; `at` names the annotation or prediction."""
    out = Converted({})
    if not isinstance(results, list):
        out.problems.append(Problem("INVALID_ANNOTATION", "result must be a list of regions.", f"{at}.result"))
        return out
    for k, region in enumerate(results):
        here = f"{at}.result.{k}"
        if not isinstance(region, Mapping):
            out.problems.append(Problem("INVALID_RESULT", "A region is an object.", here))
            continue
        name = region.get("from_name")
        if region.get("type") == "relation" or name in mapping.dropped:
            out.dropped[str(name) if name is not None else "relations"] += 1
            continue
        control = mapping.controls.get(name) if isinstance(name, str) else None
        if control is None:
            out.problems.append(
                Problem("UNKNOWN_CONTROL", "from_name names no control of the labeling config.", f"{here}.from_name")
            )
            continue
        value = region.get("value")
        if not isinstance(value, Mapping):
            out.problems.append(Problem("INVALID_RESULT", "A region's value is an object.", f"{here}.value"))
            continue
        _convert(out, control, value, data, size, here)
    return out


def _convert(
    out: Converted,
    control: Control,
    value: Mapping[str, Any],
    data: Mapping[str, Any],
    size: tuple[float, float] | None,
    at: str,
) -> None:
    kind, key = control.kind, VALUE_KEY.get(control.result_type, control.result_type)
    raw = value.get(key)
    here = f"{at}.value.{key}"
    if kind in ("spans", "boxes"):
        entries = _span(control, value, data, at) if kind == "spans" else _box(control, value, size, at)
        if isinstance(entries, Problem):
            out.problems.append(entries)
        else:
            out.value.setdefault(control.field, []).extend(entries)
        return
    if control.field in out.value:
        out.problems.append(
            Problem("DUPLICATE_RESULT", f"A second answer of '{control.name}' in one annotation.", f"{at}.from_name")
        )
        return
    converted: Any
    if kind == "single_choice":
        if not isinstance(raw, list) or len(raw) != 1:
            out.problems.append(Problem("INVALID_RESULT", f"'{control.name}' takes exactly one choice.", here))
            return
        converted = raw[0]
    elif kind in ("multi_choice", "rating", "number"):
        converted = raw
    elif kind == "text":
        lines = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(line, str) for line in lines):
            out.problems.append(Problem("INVALID_RESULT", f"'{control.name}' takes text.", here))
            return
        converted = "\n".join(str(line) for line in lines)
    else:  # taxonomy: each chosen path spells its classes out, root first
        if not isinstance(raw, list) or not all(isinstance(path, list) for path in raw):
            out.problems.append(Problem("INVALID_RESULT", f"'{control.name}' takes a list of class paths.", here))
            return
        converted = list(dict.fromkeys(c for path in raw for c in path))
    out.value[control.field] = converted


def _labels(control: Control, value: Mapping[str, Any], at: str) -> list[Any] | Problem:
    labels = value.get(control.result_type)
    if not isinstance(labels, list) or not labels:
        return Problem("INVALID_RESULT", f"A region of '{control.name}' names its labels.", f"{at}.value")
    return labels


def _span(control: Control, value: Mapping[str, Any], data: Mapping[str, Any], at: str) -> list[Any] | Problem:
    labels = _labels(control, value, at)
    if isinstance(labels, Problem):
        return labels
    text = data.get(control.source) if control.source is not None else None
    start, end = value.get("start"), value.get("end")
    if not isinstance(text, str) or not all(isinstance(o, int) and not isinstance(o, bool) for o in (start, end)):
        return Problem("INVALID_RESULT", "A text region has integer start and end over the task's text.", f"{at}.value")
    assert isinstance(start, int)
    assert isinstance(end, int)
    cp_start, cp_end = _code_points(text, start), _code_points(text, end)
    if cp_start is None or cp_end is None:
        return Problem("INVALID_RESULT", "The region's offsets lie outside the task's text.", f"{at}.value")
    quoted = value.get("text")
    if quoted is not None and quoted != text[cp_start:cp_end]:
        return Problem(
            "SPAN_TEXT_MISMATCH", "The region's text is not the task's text at its offsets.", f"{at}.value.text"
        )
    return [{"start": cp_start, "end": cp_end, "label": label} for label in labels]


def utf16_offset(text: str, index: int) -> int:
    """A Python (code point) index into the text as the JavaScript (UTF-16) offset Label Studio uses:
    characters outside the Basic Multilingual Plane (emoji) count twice there."""
    return index + sum(1 for c in text[:index] if ord(c) >= 0x10000)


def _code_points(text: str, utf16: int) -> int | None:
    """A JavaScript (UTF-16) offset into the text as a Python (code point) index."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return utf16 if 0 <= utf16 <= len(text) else None
    units = 0
    for i, char in enumerate(text):
        if units == utf16:
            return i
        if units > utf16:
            return None  # inside a surrogate pair
        units += 2 if ord(char) >= 0x10000 else 1
    return len(text) if units == utf16 else None


def _box(control: Control, value: Mapping[str, Any], size: tuple[float, float] | None, at: str) -> list[Any] | Problem:
    labels = _labels(control, value, at)
    if isinstance(labels, Problem):
        return labels
    if size is None:
        return Problem(
            "MISSING_IMAGE_SIZE", "A rectangle needs original_width and original_height to become pixels.", at
        )
    rotation = value.get("rotation", 0)
    if rotation not in (0, None) and not (isinstance(rotation, int | float) and rotation % 360 == 0):
        return Problem("BOX_ROTATED", "A rotated rectangle cannot become an axis-aligned box.", f"{at}.value.rotation")
    numbers = [value.get(k) for k in ("x", "y", "width", "height")]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        return Problem("INVALID_RESULT", "A rectangle has numeric x, y, width and height.", f"{at}.value")
    image_w, image_h = size
    x, y, w, h = (float(n) for n in numbers)  # type: ignore[arg-type]
    px, py = round(x / 100 * image_w, DECIMALS), round(y / 100 * image_h, DECIMALS)
    pw, ph = round(w / 100 * image_w, DECIMALS), round(h / 100 * image_h, DECIMALS)
    if 0 < px + pw - image_w <= EDGE_SLACK:
        pw = image_w - px
    if 0 < py + ph - image_h <= EDGE_SLACK:
        ph = image_h - py
    return [{"x": px, "y": py, "width": pw, "height": ph, "label": label} for label in labels]
