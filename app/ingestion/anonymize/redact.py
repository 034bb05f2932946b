"""The anonymizer: every string leaf of an item's JSON data, its found values replaced by typed
placeholders numbered per item and per kind.

- Keys are kept; numbers, booleans and nulls are left as they are.
- Overlapping finds are resolved the same way every time: the longest wins, then the one that
  starts first, then the detector listed first (built-ins before project rules).
- Placeholders are `[KIND_n]`, n counting from 1 per kind in the order values first appear in the
  item (document order of the JSON, left to right in a text); the same value (by its canonical
  form: an e-mail address in any case, a card number with or without spaces) gets the same
  placeholder wherever it appears in the item.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.ingestion.anonymize.detectors import Detector, Found

NAME = "labelgraph-anonymize"
VERSION = "1.0.0"


@dataclass(frozen=True)
class Anonymized:
    data: Any
    counts: dict[str, int]  # values replaced per kind (occurrences, not distinct values)


@dataclass
class _Item:
    """What one item's placeholders have been so far."""

    numbers: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, found: Found) -> str:
        kind = str(found.kind)
        seen = self.numbers.setdefault(kind, {})
        number = seen.get(found.canonical)
        if number is None:
            number = seen[found.canonical] = len(seen) + 1
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"[{kind}_{number}]"


class Anonymizer:
    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        self.name = NAME
        self.version = VERSION

    def anonymize(self, data: Any) -> Anonymized:
        item = _Item()
        return Anonymized(self._walk(data, item), item.counts)

    def spans(self, text: str) -> list[Found]:
        """The values to replace in a text, left to right, none overlapping."""
        ranked: list[tuple[int, int, int, Found]] = []
        for rank, detector in enumerate(self.detectors):
            ranked.extend((f.start - f.end, f.start, rank, f) for f in detector.find(text))
        if len(ranked) < 2:
            return [f for *_, f in ranked]
        ranked.sort(key=lambda r: r[:3])
        starts: list[int] = []
        chosen: list[Found] = []
        for *_, f in ranked:
            i = bisect.bisect_right(starts, f.start)
            if i and chosen[i - 1].end > f.start:  # the one before reaches into it
                continue
            if i < len(chosen) and chosen[i].start < f.end:  # it reaches into the one after
                continue
            starts.insert(i, f.start)
            chosen.insert(i, f)
        return chosen

    def _walk(self, value: Any, item: _Item) -> Any:
        if isinstance(value, str):
            return self._text(value, item)
        if isinstance(value, dict):
            return {key: self._walk(v, item) for key, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, item) for v in value]
        return value

    def _text(self, text: str, item: _Item) -> str:
        spans = self.spans(text)
        if not spans:
            return text
        parts: list[str] = []
        at = 0
        for f in spans:
            parts.append(text[at : f.start])
            parts.append(item.placeholder(f))
            at = f.end
        parts.append(text[at:])
        return "".join(parts)
