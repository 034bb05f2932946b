"""Scoring an answer against a gold answer, field by field, with each field kind's own measure.

Pure. Choices, taxonomy, ratings, numbers and text: 1 when the canonical values are equal, else 0.
Multi-choice: F1 of the two sets (1 when both are empty). Spans: span F1 with overlap matching;
boxes: box F1 at IoU >= 0.5. A field the gold answer leaves out is not scored; an answer that
leaves out a field the gold answer has scores 0 there. The answer's score is the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.quality import regions
from app.quality.consensus import canonical


def score_field(kind: str, gold: Any, given: Any) -> float:
    if given is None:
        return 0.0
    if kind == "multi_choice":
        a = {canonical(v) for v in gold or ()}
        b = {canonical(v) for v in given or ()}
        return 1.0 if not a and not b else 2 * len(a & b) / (len(a) + len(b))
    if kind == "spans":
        return 1.0 if not gold and not given else regions.span_f1(gold, given, "overlap")
    if kind == "boxes":
        return 1.0 if not gold and not given else regions.box_match(gold, given).f1
    return 1.0 if canonical(gold) == canonical(given) else 0.0


def score(fields: Sequence[tuple[str, str]], gold: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, float]:
    """Per field of the schema's (name, kind) pairs that the gold answer has: its score."""
    return {name: score_field(kind, gold[name], given.get(name)) for name, kind in fields if name in gold}


def mean(per_field: Mapping[str, float]) -> float:
    return sum(per_field.values()) / len(per_field) if per_field else 1.0
