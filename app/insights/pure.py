"""The math behind projectOperations, apart from the database: periods cut into buckets, medians
and percentiles, the classes a value gives, class distributions and their Jensen-Shannon distance,
agreement, and when an annotator needs attention. Pure: numpy and scipy, nothing read or written."""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.quality.consensus import canonical
from app.quality.ratings import Ratings

MAX_BUCKETS = 1000
# An annotator whose labels reviewers rejected this often (after at least MIN_REVIEWS reviews in
# the period) needs attention; so does one whose certificate lapses within CERTIFICATE_WARNING_DAYS.
HIGH_REJECTION_RATE = 0.3
MIN_REVIEWS = 3
CERTIFICATE_WARNING_DAYS = 14
NULL = "null"


class AttentionReason(enum.StrEnum):
    SUSPENDED = "SUSPENDED"
    CERTIFICATE_EXPIRING = "CERTIFICATE_EXPIRING"
    LOW_GOLD_ACCURACY = "LOW_GOLD_ACCURACY"
    HIGH_REJECTION_RATE = "HIGH_REJECTION_RATE"


@dataclass(frozen=True)
class Buckets:
    """[start, end) in epoch seconds cut into `count` buckets of `width` seconds (the last one may
    run past `end`: it still only counts what happened before `end`)."""

    start: float
    end: float
    width: float

    @property
    def count(self) -> int:
        return max(1, math.ceil((self.end - self.start) / self.width))

    def index(self, moment: float) -> int | None:
        """The bucket of a moment, or None outside [start, end)."""
        if not self.start <= moment < self.end:
            return None
        return min(int((moment - self.start) // self.width), self.count - 1)

    def starts(self) -> list[float]:
        return [self.start + i * self.width for i in range(self.count)]


@dataclass(frozen=True)
class Latency:
    count: int
    median: float | None
    p90: float | None


def latency(seconds: Sequence[float]) -> Latency:
    """Count, median and 90th percentile (linear interpolation, numpy's default) of durations."""
    if not seconds:
        return Latency(0, None, None)
    import numpy as np

    values = np.asarray(seconds, dtype=np.float64)
    return Latency(len(seconds), float(np.median(values)), float(np.percentile(values, 90)))


def median(seconds: Sequence[float]) -> float | None:
    return latency(seconds).median


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def classes_of(value: Any) -> set[str]:
    """The classes a field's value gives, as canonical JSON: each choice of a list, else the value
    itself; a missing or null value gives none (as projectQuality's audit classes)."""
    given = {canonical(v) for v in value} if isinstance(value, list) else {canonical(value)}
    return given - {NULL}


def class_keys(value: dict[str, Any] | None, fields: Sequence[str]) -> set[tuple[str, str]]:
    """(field, class) of every class a label or decision value gives on the class fields."""
    if not isinstance(value, dict):
        return set()
    return {(name, cls) for name in fields for cls in classes_of(value.get(name))}


def distribution(values: Iterable[dict[str, Any] | None], fields: Sequence[str]) -> dict[tuple[str, str], float]:
    """Per field, the share of each class among the classes the values give on it (a multi-choice
    value counts once per class it gives); shares of a field sum to 1."""
    counts: Counter[tuple[str, str]] = Counter()
    for value in values:
        counts.update(class_keys(value, fields))
    per_field: Counter[str] = Counter()
    for (name, _cls), n in counts.items():
        per_field[name] += n
    return {key: n / per_field[key[0]] for key, n in sorted(counts.items())}


def divergence(p: dict[tuple[str, str], float], q: dict[tuple[str, str], float]) -> float | None:
    """The Jensen-Shannon distance (base 2, in [0, 1]) between two distributions, averaged over the
    fields both have; None when they share no field."""
    from scipy.spatial.distance import jensenshannon

    fields = sorted({name for name, _ in p} & {name for name, _ in q})
    if not fields:
        return None
    distances = []
    for name in fields:
        keys = sorted({k for k in (*p, *q) if k[0] == name})
        distance = float(jensenshannon([p.get(k, 0.0) for k in keys], [q.get(k, 0.0) for k in keys], base=2))
        distances.append(0.0 if math.isnan(distance) else distance)
    return sum(distances) / len(distances)


def pairwise(labels: Iterable[tuple[Hashable, Hashable, dict[str, Any] | None]], fields: Sequence[str]) -> float | None:
    """Agreement among labels of the same items: per class field, the share of agreeing label pairs
    on items with two labels or more (app/quality's pairwise agreement, a value compared whole, a
    multi-choice one as a set), averaged over the fields that have pairs; None without overlap."""
    from app.quality.agreement import pairwise_agreement

    rows = list(labels)
    shares = []
    for name in fields:
        triples = [(item, who, canonical(v.get(name) if isinstance(v, dict) else None)) for item, who, v in rows]
        if not triples:
            continue
        share = pairwise_agreement(Ratings.from_rows(triples))
        if share is not None:
            shares.append(share)
    return sum(shares) / len(shares) if shares else None


def agreement_with(
    pairs: Iterable[tuple[dict[str, Any] | None, dict[str, Any] | None]], fields: Sequence[str]
) -> float | None:
    """The share of (label, decided value) pairs that agree, per class field, averaged over fields:
    how often one person's labels matched what was decided."""
    rows = list(pairs)
    if not rows or not fields:
        return None
    shares = []
    for name in fields:

        def of(value: dict[str, Any] | None, name: str = name) -> str:
            return canonical(value.get(name) if isinstance(value, dict) else None)

        shares.append(sum(of(label) == of(decided) for label, decided in rows) / len(rows))
    return sum(shares) / len(shares)


def attention(
    *,
    suspended: bool,
    certificate_days_left: float | None,
    gold_answered: int,
    gold_accuracy: float | None,
    gold_floor: float,
    gold_min_answers: int,
    reviews: int,
    rejection_rate: float | None,
) -> list[AttentionReason]:
    """Why an annotator needs attention, in the enum's order; empty when it does not.

    Low gold accuracy uses the project's own suspension rule (its floor, after its minimum of
    answers; a floor of 0 turns it off), on the period's gold answers."""
    reasons = []
    if suspended:
        reasons.append(AttentionReason.SUSPENDED)
    if certificate_days_left is not None and certificate_days_left < CERTIFICATE_WARNING_DAYS:
        reasons.append(AttentionReason.CERTIFICATE_EXPIRING)
    if (
        gold_floor > 0
        and gold_accuracy is not None
        and gold_answered >= max(1, gold_min_answers)
        and gold_accuracy < gold_floor
    ):
        reasons.append(AttentionReason.LOW_GOLD_ACCURACY)
    if rejection_rate is not None and reviews >= MIN_REVIEWS and rejection_rate >= HIGH_REJECTION_RATE:
        reasons.append(AttentionReason.HIGH_REJECTION_RATE)
    return reasons
