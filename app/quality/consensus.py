"""Proposals over one item's labels: plurality vote, or the project's weighted / Dawid-Skene
estimates applied to the item. Pure: no I/O; of ours only app.quality."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.quality.aggregation import item_posterior, weighted_vote
from app.quality.ratings import FloatArray, IntArray, Ratings


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


_STRING = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str, in C


def canonical(value: Any) -> str:
    """A value's canonical JSON, the key votes and comparisons use: lists (choices, spans, boxes) are
    sorted, since their order carries no meaning. Strings and integers, most values, take a shortcut
    that writes exactly what json.dumps would."""
    if isinstance(value, str):
        return _STRING(value)
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
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
        counts = Counter(canonical(v.get(name)) for v in values)
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
    target = {name: canonical(final.get(name)) for name in fields}
    per_field = [sum(canonical(v.get(name)) == target[name] for v in values) / len(values) for name in fields]
    return sum(per_field) / len(per_field)


@dataclass(frozen=True)
class FieldProposal:
    value: Any  # the proposed value of the field (None: the field stays empty)
    confidence: float  # the proposal's share of the vote (majority) or posterior
    votes: dict[str, float]  # canonical value (JSON) -> its share of the vote or its posterior


@dataclass(frozen=True)
class Proposal:
    """What an aggregation proposes for one item: a value per field and how sure it is."""

    value: dict[str, Any]
    fields: dict[str, FieldProposal]
    method: str

    @property
    def confidence(self) -> float:
        """The least confident field's confidence: an item is only as settled as its weakest field."""
        return min((f.confidence for f in self.fields.values()), default=1.0)

    def detail(self) -> dict[str, Any]:
        return {
            name: {"value": f.value, "confidence": f.confidence, "votes": f.votes} for name, f in self.fields.items()
        }


def smallest_first(key: str) -> tuple[int, Any]:
    """Order of canonical values for tie-breaking: numbers as numbers, then strings, then the rest."""
    value = json.loads(key)
    if isinstance(value, bool):
        return (3, key)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, key)


def vote(shares: Mapping[str, float]) -> tuple[str, float]:
    """The winning canonical value and its share; ties go to the smallest value (smallest_first)."""
    total = sum(shares.values())
    best = min(shares, key=lambda key: (-shares[key], smallest_first(key)))
    return best, (shares[best] / total if total > 0 else 0.0)


def propose_majority(values: Sequence[Mapping[str, Any]]) -> Proposal:
    """Plurality vote per field over the labels' values (a missing field counts as null).

    The most frequent value wins even without a strict majority; ties go to the smallest value
    (numbers before strings, each in their natural order). Confidence is the winner's share.
    """
    fields: dict[str, FieldProposal] = {}
    for name in sorted({name for v in values for name in v}):
        counts = Counter(canonical(v.get(name)) for v in values)
        best, share = vote(counts)
        total = sum(counts.values())
        fields[name] = FieldProposal(
            json.loads(best), share, {key: n / total for key, n in sorted(counts.items(), key=lambda kv: kv[0])}
        )
    return Proposal({k: f.value for k, f in fields.items() if f.value is not None}, fields, "MAJORITY")


@dataclass(frozen=True)
class FieldModel:
    """What a project has learnt about its annotators on one field (app/workflow/estimates.py)."""

    classes: tuple[str, ...]  # canonical values, in the order of the prior and the confusion rows
    prior: FloatArray
    accuracy: Mapping[str, float]  # annotator -> estimated accuracy (WEIGHTED)
    confusion: Mapping[str, FloatArray]  # annotator -> K x K, row = true class (DAWID_SKENE)


def propose_modelled(
    labels: Sequence[tuple[str, Mapping[str, Any]]], models: Mapping[str, FieldModel], method: str
) -> Proposal:
    """WEIGHTED or DAWID_SKENE over one item's (annotator, value) labels, with the project's current
    estimates. A field without an estimate, or with a value the estimate never saw, is decided by
    plurality vote instead (so a new class or a field added later still gets a proposal). An
    annotator the estimate does not know counts with the average of the known ones."""
    plain = propose_majority([value for _, value in labels])
    fields: dict[str, FieldProposal] = {}
    for name, fallback in plain.fields.items():
        model = models.get(name)
        keys = [canonical(value.get(name)) for _, value in labels]
        index = {key: i for i, key in enumerate(model.classes)} if model else {}
        if model is None or not index or any(key not in index for key in keys):
            fields[name] = fallback
            continue
        observed = np.fromiter((index[key] for key in keys), dtype=np.intp, count=len(keys))
        authors = [author for author, _ in labels]
        if method == "DAWID_SKENE":
            posterior = _ds_posterior(model, authors, observed)
        else:
            posterior = _weighted_posterior(model, authors, observed)
        shares = {key: float(posterior[i]) for i, key in enumerate(model.classes) if posterior[i] > 0}
        best, share = vote(shares)
        fields[name] = FieldProposal(json.loads(best), share, shares)
    return Proposal({k: f.value for k, f in fields.items() if f.value is not None}, fields, method)


def _ds_posterior(model: FieldModel, authors: Sequence[str], observed: IntArray) -> FloatArray:
    known = list(model.confusion.values())
    mean = np.mean(known, axis=0) if known else np.full((len(model.classes),) * 2, 1 / len(model.classes))
    confusion = np.stack([model.confusion.get(author, mean) for author in authors])
    return item_posterior(np.arange(len(authors), dtype=np.intp), observed, confusion, model.prior)


def _weighted_posterior(model: FieldModel, authors: Sequence[str], observed: IntArray) -> FloatArray:
    known = list(model.accuracy.values())
    default = float(np.mean(known)) if known else 1 / len(model.classes)
    reliability = np.asarray([model.accuracy.get(author, default) for author in authors], dtype=np.float64)
    ratings = Ratings(
        item=np.zeros(len(authors), dtype=np.intp),
        annotator=np.arange(len(authors), dtype=np.intp),
        value=observed,
        item_ids=(0,),
        annotator_ids=tuple(range(len(authors))),
        classes=model.classes,
    )
    posterior: FloatArray = weighted_vote(ratings, reliability).posterior[0]
    return posterior
