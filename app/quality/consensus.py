"""Majority consensus over independent labels. Pure: no I/O, nothing of ours imported."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Consensus:
    # The majority value per field, or None when some field has no strict majority.
    value: dict[str, Any] | None
    # Per field: the share of labels that hold the most common value.
    field_agreement: dict[str, float]

    @property
    def agreement(self) -> float:
        scores = self.field_agreement.values()
        return sum(scores) / len(scores) if scores else 1.0


def _key(value: Any) -> str:
    # Lists are choices, so their order carries no meaning.
    if isinstance(value, list):
        value = sorted(value, key=lambda v: json.dumps(v, sort_keys=True))
    return json.dumps(value, sort_keys=True)


def majority(values: Sequence[Mapping[str, Any]]) -> Consensus:
    """Strict majority per field over the labels' values (a missing field counts as null)."""
    if not values:
        return Consensus(value=None, field_agreement={})
    fields = sorted({name for v in values for name in v})
    result: dict[str, Any] = {}
    shares: dict[str, float] = {}
    decided = True
    for name in fields:
        counts = Counter(_key(v.get(name)) for v in values)
        top_key, top_count = counts.most_common(1)[0]
        shares[name] = top_count / len(values)
        if top_count * 2 > len(values):
            chosen = json.loads(top_key)
            if chosen is not None:
                result[name] = chosen
        else:
            decided = False
    return Consensus(value=result if decided else None, field_agreement=shares)


def agreement_with(values: Sequence[Mapping[str, Any]], final: Mapping[str, Any]) -> float:
    """Mean over fields of the share of labels that match the final value."""
    fields = sorted({name for v in values for name in v} | set(final))
    if not values or not fields:
        return 1.0
    target = {name: _key(final.get(name)) for name in fields}
    per_field = [sum(_key(v.get(name)) == target[name] for v in values) / len(values) for name in fields]
    return sum(per_field) / len(per_field)
