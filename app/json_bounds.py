"""Bounds every stored JSON document keeps, so that what one client writes every client reads back.

- Depth: at most ``MAX_DEPTH`` (32) nested objects and lists. Every later reader (the JSON
  encoder, PostgreSQL's jsonb, a client's parser) recurses; a bound keeps them all far from
  their limits.
- Integers: within ``±MAX_SAFE_INTEGER`` (2^53 - 1), what a JSON client reading numbers as
  IEEE doubles (every browser) gets back exactly.
- Other numbers: finite. JSON has no NaN or Infinity, yet Python's parser reads them.
- Text (strings and object keys): no NUL character, no unpaired surrogate. PostgreSQL's text
  and jsonb cannot hold NUL, and a lone surrogate has no UTF-8 form; SQLite would store both,
  so refusing them keeps the two databases alike.

``check`` reports at most one Problem per rule, at the field given: the document's root,
not the nested path (which could be as long as the document).
"""

from __future__ import annotations

import enum
import math
import re
from typing import Any

from app.errors import Problem

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
# A NUL, or any surrogate code point: in a Python str every surrogate is unpaired.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why the text cannot be stored, or None when it can."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Text may not contain NUL characters."
    return "Text may not contain unpaired surrogate code points."


def check_text(text: str, at: str) -> list[Problem]:
    """The text-field form of the rule: an INVALID_TEXT problem at ``at``, or none."""
    reason = text_problem(text)
    return [Problem("INVALID_TEXT", reason, at)] if reason else []


def check(value: Any, at: str, *, max_depth: int = MAX_DEPTH) -> list[Problem]:
    """What breaks the bounds in a JSON value; empty when it may be stored.

    Walks with an explicit stack, so any nesting is checked without recursion; a value nested
    deeper than ``max_depth`` is reported once and not walked below the bound.
    """
    found: dict[str, Problem] = {}
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and len(found) < 3:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= max_depth:
                found.setdefault("TOO_DEEP", Problem("TOO_DEEP", f"JSON may nest at most {max_depth} levels deep.", at))
                continue
            if isinstance(node, dict):
                for key, child in node.items():
                    if isinstance(key, str) and "INVALID_TEXT" not in found and (reason := text_problem(key)):
                        found["INVALID_TEXT"] = Problem("INVALID_TEXT", reason, at)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            if "INVALID_TEXT" not in found and (reason := text_problem(node)):
                found["INVALID_TEXT"] = Problem("INVALID_TEXT", reason, at)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > MAX_SAFE_INTEGER:
                found.setdefault(
                    "OUT_OF_RANGE",
                    Problem("OUT_OF_RANGE", "Integers must lie within ±(2^53 - 1) to read back exactly.", at),
                )
        elif isinstance(node, float) and not math.isfinite(node):
            found.setdefault("OUT_OF_RANGE", Problem("OUT_OF_RANGE", "Numbers must be finite.", at))
    return list(found.values())


class JsonErrorCode(enum.StrEnum):
    """What a stored JSON document may not hold (depth, number range, text)."""

    TOO_DEEP = "TOO_DEEP"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    INVALID_TEXT = "INVALID_TEXT"
