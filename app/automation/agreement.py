"""Agreement of human labels with a model's suggestions, apart for tasks that showed the model and
tasks that showed no suggestion (pure: rows in, figures out).

An annotator shown a suggestion may follow it (anchoring); the figure that measures the model is
the agreement on tasks that showed nothing. Both are given so the gap can be read off.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LabelRow:
    item_id: uuid.UUID
    value: Mapping[str, Any]
    suggestions_shown: bool
    shown_versions: Sequence[uuid.UUID]


@dataclass
class FieldFigure:
    field: str
    labels: int = 0
    agreeing: int = 0

    @property
    def rate(self) -> float | None:
        return self.agreeing / self.labels if self.labels else None


@dataclass
class Figure:
    """Labels compared with the suggestion, and those that agree on every single-choice field both give."""

    labels: int = 0
    agreeing: int = 0
    fields: dict[str, FieldFigure] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.agreeing / self.labels if self.labels else None

    def add(self, label: Mapping[str, Any], suggestion: Mapping[str, Any], names: Sequence[str]) -> None:
        common = [n for n in names if _given(label.get(n)) and _given(suggestion.get(n))]
        if not common:
            return
        self.labels += 1
        self.agreeing += all(label[n] == suggestion[n] for n in common)
        for n in common:
            figure = self.fields.setdefault(n, FieldFigure(n))
            figure.labels += 1
            figure.agreeing += label[n] == suggestion[n]


@dataclass
class ModelAgreement:
    model: str
    version: str | None
    shown: Figure
    not_shown: Figure
    other_models_shown: int  # labels whose task showed other models' suggestions only: not compared


def _given(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def compare(
    model: str,
    version: str | None,
    fields: Sequence[str],
    labels: Sequence[LabelRow],
    suggested: Mapping[uuid.UUID, Mapping[uuid.UUID, Mapping[str, Any]]],
    versions: set[uuid.UUID],
) -> ModelAgreement:
    """`suggested`: item -> model version -> value, for the model's `versions` (ids order as registered)."""
    result = ModelAgreement(model, version, Figure(), Figure(), 0)
    for row in labels:
        of_item = suggested.get(row.item_id, {})
        if not of_item:
            continue
        shown = sorted(v for v in row.shown_versions if v in versions and v in of_item)
        if shown:
            result.shown.add(row.value, of_item[shown[-1]], fields)
        elif row.suggestions_shown:
            result.other_models_shown += 1
        else:
            result.not_shown.add(row.value, of_item[max(of_item)], fields)
    return result
