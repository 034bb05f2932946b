"""A project's quality figures from its labels and decisions: pure, no I/O.

The agreement statistic follows the field's kind: Krippendorff's alpha at the nominal level for
choices and taxonomy classes, ordinal for ratings, interval for numbers; multi-choice per class
(binary presence, the mean over classes overall); spans by mean pairwise span F1 (overlap
match) and boxes by mean pairwise box F1 (IoU >= 0.5), since neither is a class; text by exact
pairwise agreement. Annotators are judged against the final labels (the decisions in force).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.quality import agreement, metrics, regions
from app.quality.consensus import canonical
from app.quality.ratings import Ratings

LEVELS: dict[str, str] = {"single_choice": "nominal", "taxonomy": "nominal", "rating": "ordinal", "number": "interval"}


@dataclass(frozen=True, eq=False)  # rows are told apart by identity: a value is a dict
class LabelRow:
    item: Hashable
    annotator: str
    value: dict[str, Any]
    time_spent_ms: int | None


@dataclass(frozen=True)
class ClassFigures:
    value: str  # canonical JSON of the class
    agreement: float | None
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class FieldFigures:
    name: str
    kind: str
    statistic: str
    agreement: float | None
    pairwise_agreement: float | None
    classes: list[ClassFigures]
    # rows: the final label's class, columns: the annotator's (over every label of a decided item)
    confusion_classes: list[str]
    confusion: list[list[int]]


@dataclass(frozen=True)
class AnnotatorFigures:
    annotator: str
    labels: int
    accuracy: float | None  # share of its labels on decided items matching the final value (all fields)
    agreement: float | None  # share of its pairs with other annotators, on shared items, that agree
    median_time_ms: float | None


@dataclass(frozen=True)
class Figures:
    labels: int
    items: int
    fields: list[FieldFigures]
    annotators: list[AnnotatorFigures] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    start: float  # seconds since the epoch, the window's first instant
    labels: int
    # Per choice-like field: canonical value -> share of the window's labels giving it.
    distribution: dict[str, dict[str, float]]
    # Per field: Jensen-Shannon divergence (base 2) from the previous window with labels.
    drift: dict[str, float | None]


def windows(rows: Sequence[LabelRow], times: Sequence[float], width_s: float, names: Sequence[str]) -> list[Window]:
    """Labels per time window of `width_s` seconds (windows without labels are left out), each
    field's label distribution, and its drift from the previous window."""
    buckets: dict[int, list[LabelRow]] = defaultdict(list)
    for row, at in zip(rows, times, strict=True):
        buckets[int(at // width_s)].append(row)
    result: list[Window] = []
    previous: dict[str, dict[str, float]] | None = None
    for bucket in sorted(buckets):
        group = buckets[bucket]
        distribution: dict[str, dict[str, float]] = {}
        for name in names:
            keys = [canonical(r.value.get(name)) for r in group if r.value.get(name) is not None]
            counts: dict[str, float] = defaultdict(float)
            for key in keys:
                counts[key] += 1 / len(keys)
            distribution[name] = dict(sorted(counts.items()))
        drift: dict[str, float | None] = {}
        for name in names:
            before = previous.get(name) if previous else None
            now = distribution[name]
            if not before or not now:
                drift[name] = None
                continue
            support = sorted(set(before) | set(now))
            drift[name] = metrics.jensen_shannon(
                [before.get(k, 0.0) for k in support], [now.get(k, 0.0) for k in support]
            )
        result.append(Window(bucket * width_s, len(group), distribution, drift))
        previous = distribution
    return result


def figures(
    rows: Sequence[LabelRow], final: dict[Hashable, dict[str, Any]], fields: Sequence[tuple[str, str]]
) -> Figures:
    """Figures over `rows` (one per label), `final` (item -> value in force) and the schema's
    (field name, kind) pairs."""
    return Figures(
        labels=len(rows),
        items=len({r.item for r in rows}),
        fields=[_field(rows, final, name, kind) for name, kind in fields],
        annotators=_annotators(rows, final, [name for name, _ in fields]),
    )


def _field(rows: Sequence[LabelRow], final: dict[Hashable, dict[str, Any]], name: str, kind: str) -> FieldFigures:
    present = [r for r in rows if r.value.get(name) is not None]
    if kind in ("spans", "boxes"):
        return _regions(present, name, kind)
    if kind == "multi_choice":
        cells = [(r.item, r.annotator, tuple(r.value[name])) for r in present]
        per_class = agreement.multi_choice_agreement(cells) if cells else {}
        known = [v for v in per_class.values() if v is not None]
        classes = [_presence(c, a, cells, final, name) for c, a in per_class.items()]
        return FieldFigures(name, kind, "krippendorff_alpha_binary_per_class", _mean(known), None, classes, [], [])
    keys = [(r.item, r.annotator, canonical(r.value.get(name))) for r in rows]
    if not keys:
        return FieldFigures(name, kind, "none", None, None, [], [], [])
    level: agreement.Level = LEVELS.get(kind, "nominal")  # type: ignore[assignment]
    encoded = level == "nominal"
    if encoded:
        ratings = Ratings.from_rows(keys)
    else:
        ratings = Ratings.from_rows([(i, a, json.loads(k)) for i, a, k in keys if k != "null"])
    if not ratings.n_labels:
        return FieldFigures(name, kind, "none", None, None, [], [], [])
    text = kind == "text"
    return FieldFigures(
        name,
        kind,
        "pairwise_exact" if text else f"krippendorff_alpha_{level}",
        None if text else agreement.krippendorff_alpha(ratings, level),
        agreement.pairwise_agreement(ratings),
        *_against_final(ratings, final, name, encoded, text),
    )


def _presence(
    c: Any,
    alpha: float | None,
    cells: list[tuple[Hashable, str, tuple[Any, ...]]],
    final: dict[Hashable, Any],
    name: str,
) -> ClassFigures:
    """One multi-choice class as a yes/no question, over the labels on decided items: precision and
    recall of the labels ticking it against the final label ticking it; support = labels on items
    whose final label ticks it."""
    tp = fp = fn = 0
    for item, _, ticked in cells:
        if item not in final:
            continue
        truth = c in (final[item].get(name) or ())
        given = c in ticked
        tp += truth and given
        fp += given and not truth
        fn += truth and not given
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassFigures(json.dumps(c), alpha, precision, recall, f1, tp + fn)


def _against_final(
    ratings: Ratings, final: dict[Hashable, dict[str, Any]], name: str, encoded: bool, text: bool
) -> tuple[list[ClassFigures], list[str], list[list[int]]]:
    """Per class: agreement (one-vs-rest alpha), and annotators' precision/recall/F1 against the final
    labels with the confusion matrix. `encoded`: the classes are canonical JSON, not raw numbers."""
    index = {c: i for i, c in enumerate(ratings.classes)}
    reference = np.full(ratings.n_items, -1, dtype=np.intp)
    for i, item in enumerate(ratings.item_ids):
        if item in final:
            value = final[item].get(name)
            reference[i] = index.get(canonical(value) if encoded else value, -1)
    truth = reference[ratings.item]
    compared = truth >= 0
    cm = metrics.confusion_matrix(truth[compared], ratings.value[compared], ratings.n_classes)
    report = metrics.precision_recall_f1(cm)
    per_class = {} if text else agreement.per_class_agreement(ratings)
    shown = [c if encoded else json.dumps(c) for c in ratings.classes]
    classes = [
        ClassFigures(
            shown[k],
            per_class.get(c),
            float(report.precision[k]),
            float(report.recall[k]),
            float(report.f1[k]),
            int(report.support[k]),
        )
        for k, c in enumerate(ratings.classes)
    ]
    return classes, shown, cm.tolist()


def _regions(rows: Sequence[LabelRow], name: str, kind: str) -> FieldFigures:
    by_item: dict[Hashable, list[Any]] = defaultdict(list)
    for r in rows:
        by_item[r.item].append(r.value[name])
    if kind == "spans":
        scores = [regions.mean_pairwise(v, lambda a, b: regions.span_f1(a, b, "overlap")) for v in by_item.values()]
        statistic = "mean_pairwise_span_f1_overlap"
    else:
        scores = [regions.mean_pairwise(v, lambda a, b: regions.box_match(a, b).f1) for v in by_item.values()]
        statistic = "mean_pairwise_box_f1_iou_0.5"
    return FieldFigures(name, kind, statistic, _mean([s for s in scores if s is not None]), None, [], [], [])


def _annotators(
    rows: Sequence[LabelRow], final: dict[Hashable, dict[str, Any]], names: list[str]
) -> list[AnnotatorFigures]:
    """Whole labels (every field at once) against the final labels and against each other, vectorised
    over a Ratings of whole values: agreeing pairs of a label = same values on its item - 1."""
    if not rows:
        return []

    def whole(value: dict[str, Any]) -> str:
        return "\x1f".join(canonical(value.get(n)) for n in names)

    r = Ratings.from_rows([(row.item, row.annotator, whole(row.value)) for row in rows])
    index = {c: i for i, c in enumerate(r.classes)}
    reference = np.fromiter(
        (index.get(whole(final[item]), -2) if item in final else -1 for item in r.item_ids), dtype=np.intp
    )
    truth = reference[r.item]
    judged = truth != -1
    correct = np.bincount(r.annotator, weights=judged & (truth == r.value), minlength=r.n_annotators)
    compared = np.bincount(r.annotator, weights=judged, minlength=r.n_annotators)
    counts = r.counts()
    agreeing = np.bincount(r.annotator, weights=counts[r.item, r.value] - 1, minlength=r.n_annotators)
    pairs = np.bincount(r.annotator, weights=r.labels_per_item()[r.item] - 1, minlength=r.n_annotators)
    labels = np.bincount(r.annotator, minlength=r.n_annotators)
    times: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.time_spent_ms is not None:
            times[row.annotator].append(row.time_spent_ms)
    return [
        AnnotatorFigures(
            annotator=str(annotator),
            labels=int(labels[a]),
            accuracy=float(correct[a] / compared[a]) if compared[a] else None,
            agreement=float(agreeing[a] / pairs[a]) if pairs[a] else None,
            median_time_ms=float(statistics.median(times[str(annotator)])) if times[str(annotator)] else None,
        )
        for a, annotator in enumerate(r.annotator_ids)
    ]


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None
