"""A project's quality figures from its labels and decisions: pure, no I/O.

The agreement statistic follows the field's kind: Krippendorff's alpha at the nominal level for
choices and taxonomy classes, ordinal for ratings, interval for numbers; multi-choice per class
(binary presence, the mean over classes overall); spans by mean pairwise span F1 (overlap
match) and boxes by mean pairwise box F1 (IoU >= 0.5), since neither is a class; text by exact
pairwise agreement. Annotators are judged against the final labels (the decisions in force).

Gold answers (labels on gold questions, app/expertise/) are not labels here: they never enter the
agreement, the comparison with final labels or the time series' distributions, which are about the
items to decide. They come as their stored scores (`GoldAnswers`), and give each annotator, each
field and each annotator on a field a gold accuracy: the mean score of its gold answers.

The labels arrive as a `LabelTable`: columns of integer codes, one row per label, so that a
project's 100,000 labels are counted by numpy rather than walked in Python. Each field's values
are coded by their canonical JSON (`consensus.canonical`), computed once per distinct value.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress
from typing import Any

import numpy as np
import numpy.typing as npt

from app.quality import agreement, metrics, regions
from app.quality.consensus import FieldModel, canonical
from app.quality.ratings import FloatArray, IntArray, Ratings, class_order

LEVELS: dict[str, str] = {"single_choice": "nominal", "taxonomy": "nominal", "rating": "ordinal", "number": "interval"}
CLASS_KINDS = ("single_choice", "taxonomy", "rating", "multi_choice")  # the kinds whose values are classes
MAX_PAIRS = 500  # annotator pairs per field, those sharing the most items
MAX_CONFUSION_CLASSES = 50  # per-annotator confusion matrices only for fields with at most this many classes
NULL = "null"

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Column:
    """One field over the table: per label an index into `keys`, the field's distinct values as
    canonical JSON in sorted order ("null" for a label without the field)."""

    codes: IntArray
    keys: tuple[str, ...]
    final: IntArray  # per item of the table: index into keys of the decision in force, -1 undecided

    def parsed(self) -> list[Any]:
        return [json.loads(k) for k in self.keys]


@dataclass(frozen=True)
class GoldAnswers:
    """The scored gold answers of a report, one row per answer, in its table's item and annotator
    codes: the answer's score (0..1, the mean over the gold answer's fields) and per field name its
    score there (NaN where the gold answer has no such field)."""

    item: IntArray
    annotator: IntArray
    at: FloatArray  # seconds since the epoch
    score: FloatArray
    fields: dict[str, FloatArray]

    @property
    def n(self) -> int:
        return int(self.item.size)

    def subset(self, keep: BoolArray) -> GoldAnswers:
        return GoldAnswers(
            self.item[keep],
            self.annotator[keep],
            self.at[keep],
            self.score[keep],
            {name: v[keep] for name, v in self.fields.items()},
        )


@dataclass(frozen=True)
class LabelTable:
    """The labels of a report, one row per label, the decisions in force on their items, and the
    gold answers (kept apart: they are not labels of the items to decide)."""

    item: IntArray  # per label: index into item_ids
    annotator: IntArray  # per label: index into annotator_ids
    item_ids: tuple[str, ...]  # sorted; the gold answers' items too
    annotator_ids: tuple[str, ...]  # sorted; the gold answers' authors too
    columns: dict[str, Column]
    time_spent_ms: FloatArray  # per label, NaN when not reported
    at: FloatArray  # per label, seconds since the epoch
    decided: BoolArray  # per item: a decision is in force
    gold: GoldAnswers

    @property
    def n_labels(self) -> int:
        return int(self.item.size)

    def subset(self, keep: BoolArray, keep_gold: BoolArray) -> LabelTable:
        """The same table over the labels `keep` marks and the gold answers `keep_gold` marks
        (items, annotators and decisions unchanged)."""
        return LabelTable(
            self.item[keep],
            self.annotator[keep],
            self.item_ids,
            self.annotator_ids,
            {name: Column(c.codes[keep], c.keys, c.final) for name, c in self.columns.items()},
            self.time_spent_ms[keep],
            self.at[keep],
            self.decided,
            self.gold.subset(keep_gold),
        )


def label_table(
    names: Sequence[str],
    labels: Sequence[Sequence[Any]],
    decisions: Sequence[Sequence[Any]],
    annotator_name: Callable[[str], str] = str,
    gold: Sequence[Sequence[Any]] | None = None,
    gold_items: Collection[Any] = (),
) -> LabelTable:
    """A table from label columns `[item, annotator, time_spent_ms (None: not reported), epoch
    seconds, *one per name of names: the field's JSON text or None]` and decision columns `[item,
    *field JSON texts]`. JSON may come in any formatting: each distinct text is parsed and made
    canonical once. Decisions on items without a label are left out. `annotator_name` turns an
    annotator id as the columns give it into its name in the report (once per annotator).
    `gold_items`: the gold items, whose labels (gold answers) are dropped from the labels; `gold`:
    the gold answers' columns `[item, annotator, epoch seconds, score, per-field scores (a mapping
    from field name to score)]`. Reading the gold answers among the labels and dropping them here
    costs less than leaving them out in SQL (a probe per label)."""
    gold = gold if gold is not None and len(gold[0]) else [[], [], [], [], []]
    n_gold = len(gold[0])
    item, item_ids = _encode(labels[0])
    annotator, raw_annotators = _encode(labels[1])
    item_at = {v: i for i, v in enumerate(item_ids)}
    if any(i not in item_at for i in gold[0]):  # gold answers whose labels were not passed
        codes, item_ids = _encode([*labels[0], *gold[0]])
        item, item_at = codes[: len(labels[0])], {v: i for i, v in enumerate(item_ids)}
    annotator_at = {v: i for i, v in enumerate(raw_annotators)}
    if any(a not in annotator_at for a in gold[1]):
        codes, raw_annotators = _encode([*labels[1], *gold[1]])
        annotator, annotator_at = codes[: len(labels[1])], {v: i for i, v in enumerate(raw_annotators)}
    time_spent_ms = np.array(labels[2], dtype=np.float64)  # None reads as NaN
    at = np.array(labels[3], dtype=np.float64)
    values: list[Sequence[Any]] = list(labels[4 : 4 + len(names)])
    is_gold = np.zeros(len(item_ids), dtype=np.bool_)
    is_gold[[item_at[i] for i in gold_items if i in item_at]] = True
    if is_gold.any():
        keep = ~is_gold[item]
        item, annotator, time_spent_ms, at = item[keep], annotator[keep], time_spent_ms[keep], at[keep]
        values = [list(compress(texts, keep.tolist())) for texts in values]
    n_labels = int(item.size)
    named = [annotator_name(a) for a in raw_annotators]
    order = sorted(range(len(named)), key=named.__getitem__)
    rank = np.empty(len(named), dtype=np.intp)
    rank[order] = np.arange(len(named), dtype=np.intp)
    kept = [j for j, d in enumerate(decisions[0]) if d in item_at] if decisions else []
    decided_item = np.fromiter((item_at[decisions[0][j]] for j in kept), dtype=np.intp, count=len(kept))
    decided = np.zeros(len(item_ids), dtype=np.bool_)
    decided[decided_item] = True
    columns: dict[str, Column] = {}
    for f, name in enumerate(names):
        codes, keys = _encode_json([*values[f], *(decisions[1 + f][j] for j in kept)])
        final = np.full(len(item_ids), -1, dtype=np.intp)
        final[decided_item] = codes[n_labels:]
        columns[name] = Column(codes[:n_labels], keys, final)
    gold_annotator = np.fromiter(map(annotator_at.__getitem__, gold[1]), dtype=np.intp, count=n_gold)
    per_field = gold[4]
    answers = GoldAnswers(
        item=np.fromiter(map(item_at.__getitem__, gold[0]), dtype=np.intp, count=n_gold),
        annotator=rank[gold_annotator] if named else gold_annotator,
        at=np.array(gold[2], dtype=np.float64),
        score=np.array(gold[3], dtype=np.float64),
        fields={
            name: np.fromiter(
                (np.nan if (v := (scores or {}).get(name)) is None else float(v) for scores in per_field),
                dtype=np.float64,
                count=n_gold,
            )
            for name in names
        },
    )
    return LabelTable(
        item=item,
        annotator=rank[annotator] if named else annotator,
        item_ids=item_ids,
        annotator_ids=tuple(named[j] for j in order),
        columns=columns,
        time_spent_ms=time_spent_ms,
        at=at,
        decided=decided,
        gold=answers,
    )


def _encode(values: Sequence[Any]) -> tuple[IntArray, tuple[Any, ...]]:
    """Codes into the sorted distinct values (maps and dicts of C speed: no bytecode per value)."""
    distinct = sorted(dict.fromkeys(values), key=str)
    position = {v: i for i, v in enumerate(distinct)}
    return np.fromiter(map(position.__getitem__, values), dtype=np.intp, count=len(values)), tuple(distinct)


def _encode_json(texts: Sequence[str | None]) -> tuple[IntArray, tuple[str, ...]]:
    """Codes into the sorted distinct canonical forms of JSON texts (None reads as null)."""
    canon = {t: NULL if t is None else canonical(json.loads(t)) for t in dict.fromkeys(texts)}
    keys = sorted(set(canon.values()))
    position = {k: i for i, k in enumerate(keys)}
    code_of = {t: position[c] for t, c in canon.items()}
    return np.fromiter(map(code_of.__getitem__, texts), dtype=np.intp, count=len(texts)), tuple(keys)


@dataclass(frozen=True)
class ClassFigures:
    value: str  # canonical JSON of the class
    agreement: float | None
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class PairFigures:
    first: str  # annotator ids, first < second
    second: str
    items: int
    agreement: float
    kappa: float | None


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
    pairs: list[PairFigures] = field(default_factory=list)
    gold_answers: int = 0  # gold answers scored on this field
    gold_accuracy: float | None = None  # their mean score on it


@dataclass(frozen=True)
class AnnotatorField:
    """One annotator on one class field: its labels against the final labels, and what the
    project's estimate (Dawid-Skene) believes about it."""

    name: str
    accuracy: float | None
    classes: list[str]  # the field's confusion_classes
    confusion: list[list[int]]  # rows: the final label's class, columns: the annotator's
    estimated_classes: list[str]
    estimated_confusion: list[list[float]] | None  # rows: true class, P(annotator gives column)
    estimated_accuracy: float | None
    gold_answers: int  # its gold answers scored on this field
    gold_accuracy: float | None  # their mean score on it


@dataclass(frozen=True)
class AnnotatorFigures:
    annotator: str
    labels: int
    accuracy: float | None  # share of its labels on decided items matching the final value (all fields)
    agreement: float | None  # share of its pairs with other annotators, on shared items, that agree
    median_time_ms: float | None
    labels_per_active_hour: float | None  # labels / clock hours in which it submitted at least one
    fields: list[AnnotatorField] = field(default_factory=list)
    gold_answers: int = 0
    gold_accuracy: float | None = None  # the mean score of its gold answers


@dataclass(frozen=True)
class Figures:
    labels: int  # labels of items to decide (gold answers apart)
    items: int
    fields: list[FieldFigures]
    annotators: list[AnnotatorFigures] = field(default_factory=list)
    gold_answers: int = 0
    gold_accuracy: float | None = None  # the mean score of the gold answers


@dataclass(frozen=True)
class Window:
    start: float  # seconds since the epoch, the window's first instant
    labels: int
    # Per choice-like field: canonical value -> share of the window's labels giving it.
    distribution: dict[str, dict[str, float]]
    # Per field: Jensen-Shannon divergence (base 2) from the previous window with labels.
    drift: dict[str, float | None]
    gold_answers: int = 0
    gold_accuracy: float | None = None  # the mean score of the window's gold answers


def windows(table: LabelTable, width_s: float, names: Sequence[str]) -> list[Window]:
    """Labels per time window of `width_s` seconds (windows with neither labels nor gold answers
    are left out), each field's label distribution (labels without the field left out), its drift
    from the previous window with labels, and the window's gold answers with their mean score."""
    gold = table.gold
    if not table.n_labels and not gold.n:
        return []
    at = np.concatenate([table.at, gold.at]) if gold.n else table.at
    buckets, slot = np.unique(np.floor_divide(at, width_s).astype(np.int64), return_inverse=True)
    bucket_of, gold_bucket = slot[: table.n_labels], slot[table.n_labels :]
    sizes = np.bincount(bucket_of, minlength=buckets.size)
    gold_sizes = np.bincount(gold_bucket, minlength=buckets.size)
    gold_sums = np.bincount(gold_bucket, weights=gold.score, minlength=buckets.size)
    shares: dict[str, FloatArray] = {}
    for name in names:
        column = table.columns[name]
        k = len(column.keys)
        counts = np.bincount(bucket_of * k + column.codes, minlength=buckets.size * k).reshape(buckets.size, k)
        counts = counts.astype(np.float64)
        if NULL in column.keys:
            counts[:, column.keys.index(NULL)] = 0.0
        totals = counts.sum(axis=1, keepdims=True)
        shares[name] = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    result: list[Window] = []
    last: int | None = None  # the previous window with labels
    for b in range(buckets.size):
        distribution = {
            name: {key: float(s) for key, s in zip(table.columns[name].keys, shares[name][b], strict=True) if s > 0}
            for name in names
        }
        drift: dict[str, float | None] = {}
        for name in names:
            now = shares[name][b]
            before = shares[name][last] if last is not None else None
            comparable = before is not None and before.any() and now.any()
            drift[name] = metrics.jensen_shannon(before, now) if before is not None and comparable else None
        answered = int(gold_sizes[b])
        result.append(
            Window(
                float(buckets[b] * width_s),
                int(sizes[b]),
                distribution,
                drift,
                answered,
                float(gold_sums[b] / answered) if answered else None,
            )
        )
        if sizes[b]:
            last = b
    return result


def figures(
    table: LabelTable, fields: Sequence[tuple[str, str]], estimates: Mapping[str, FieldModel] | None = None
) -> Figures:
    """Figures over the table and the schema's (field name, kind) pairs; `estimates` (field ->
    the project's stored Dawid-Skene model) adds each annotator's estimated confusion matrix."""
    gold = table.gold
    per_field = []
    for name, kind in fields:
        scored = gold.fields[name][~np.isnan(gold.fields[name])]
        per_field.append(
            replace(_field(table, name, kind), gold_answers=int(scored.size), gold_accuracy=_mean(scored.tolist()))
        )
    return Figures(
        labels=table.n_labels,
        items=int(np.unique(table.item).size),
        fields=per_field,
        annotators=_annotators(table, fields, per_field, estimates or {}),
        gold_answers=gold.n,
        gold_accuracy=_mean(gold.score.tolist()),
    )


def _gold_by_annotator(gold: GoldAnswers, scores: FloatArray, n: int) -> tuple[IntArray, list[float | None]]:
    """Per annotator: how many of its gold answers have a score in `scores` (NaN: none), and their mean."""
    scored = ~np.isnan(scores)
    count = np.bincount(gold.annotator[scored], minlength=n)
    total = np.bincount(gold.annotator[scored], weights=scores[scored], minlength=n)
    return count, [float(total[a] / count[a]) if count[a] else None for a in range(n)]


def _field(table: LabelTable, name: str, kind: str) -> FieldFigures:
    column = table.columns[name]
    null = column.keys.index(NULL) if NULL in column.keys else -1
    present = column.codes != null
    if kind in ("spans", "boxes"):
        return _regions(table, column, present, name, kind)
    if kind == "multi_choice":
        return _multi_choice(table, column, present, name, kind)
    level: agreement.Level = LEVELS.get(kind, "nominal")  # type: ignore[assignment]
    ratings, to_class = _ratings(table, column, None if level == "nominal" else present, level != "nominal")
    if ratings is None:
        return FieldFigures(name, kind, "none", None, None, [], [], [])
    text = kind == "text"
    classes, shown, confusion = _against_final(table, column, ratings, to_class, text)
    return FieldFigures(
        name,
        kind,
        "pairwise_exact" if text else f"krippendorff_alpha_{level}",
        None if text else agreement.krippendorff_alpha(ratings, level),
        agreement.pairwise_agreement(ratings),
        classes,
        shown,
        confusion,
        [] if text else _pairs(ratings),
    )


def _ratings(
    table: LabelTable, column: Column, keep: BoolArray | None, numeric: bool
) -> tuple[Ratings | None, IntArray]:
    """The field's labels as `Ratings` (only the items, annotators and classes they use), and per
    key of the column its class index in it (-1: not a class of it). `numeric`: classes are the
    keys' numbers (rows without a value left out by `keep`), else the keys themselves."""
    item, annotator, codes = table.item, table.annotator, column.codes
    if keep is not None:
        item, annotator, codes = item[keep], annotator[keep], codes[keep]
    if not codes.size:
        return None, np.full(len(column.keys), -1, dtype=np.intp)
    used_items, item_index = np.unique(item, return_inverse=True)
    used_annotators, annotator_index = np.unique(annotator, return_inverse=True)
    used_keys = np.unique(codes)
    values: list[Any] = [json.loads(column.keys[k]) if numeric else column.keys[k] for k in used_keys]
    order = sorted(range(len(values)), key=lambda j: class_order(values[j]))
    to_class = np.full(len(column.keys), -1, dtype=np.intp)
    to_class[used_keys[order]] = np.arange(len(order), dtype=np.intp)
    ratings = Ratings(
        item=item_index.astype(np.intp),
        annotator=annotator_index.astype(np.intp),
        value=to_class[codes],
        item_ids=tuple(table.item_ids[i] for i in used_items),
        annotator_ids=tuple(table.annotator_ids[a] for a in used_annotators),
        classes=tuple(values[j] for j in order),
    )
    return ratings, to_class


def _reference(column: Column, to_class: IntArray) -> IntArray:
    """Per item of the table: the class index of its final value, -1 undecided or not a class."""
    return np.where(column.final >= 0, to_class[np.maximum(column.final, 0)], -1)


def _against_final(
    table: LabelTable, column: Column, ratings: Ratings, to_class: IntArray, text: bool
) -> tuple[list[ClassFigures], list[str], list[list[int]]]:
    """Per class: agreement (one-vs-rest alpha), and annotators' precision/recall/F1 against the final
    labels with the confusion matrix."""
    truth = _reference(column, to_class)[table.item]
    given = to_class[column.codes]  # -1 for a label without a value in a numeric field
    compared = (truth >= 0) & (given >= 0)
    cm = metrics.confusion_matrix(truth[compared], given[compared], ratings.n_classes)
    report = metrics.precision_recall_f1(cm)
    per_class = {} if text else agreement.per_class_agreement(ratings)
    shown = [c if isinstance(c, str) else json.dumps(c) for c in ratings.classes]
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


def _pairs(ratings: Ratings) -> list[PairFigures]:
    try:
        found = agreement.per_pair_agreement(ratings)
    except ValueError:  # an annotator with two labels on an item: no item-by-item pairing
        return []
    found.sort(key=lambda p: (-p.items, str(p.first), str(p.second)))
    return [PairFigures(str(p.first), str(p.second), p.items, p.agreement, p.kappa) for p in found[:MAX_PAIRS]]


def _multi_choice(table: LabelTable, column: Column, present: BoolArray, name: str, kind: str) -> FieldFigures:
    parsed = [tuple(v) if isinstance(v, list) else () for v in column.parsed()]
    rows = np.flatnonzero(present)
    cells = [(int(table.item[i]), int(table.annotator[i]), parsed[column.codes[i]]) for i in rows]
    per_class = agreement.multi_choice_agreement(cells) if cells else {}
    known = [v for v in per_class.values() if v is not None]
    final = [parsed[c] if c >= 0 else None for c in column.final]
    classes = [_presence(c, a, cells, final) for c, a in per_class.items()]
    return FieldFigures(name, kind, "krippendorff_alpha_binary_per_class", _mean(known), None, classes, [], [])


def _presence(
    c: Any, alpha: float | None, cells: list[tuple[int, int, tuple[Any, ...]]], final: list[tuple[Any, ...] | None]
) -> ClassFigures:
    """One multi-choice class as a yes/no question, over the labels on decided items: precision and
    recall of the labels ticking it against the final label ticking it; support = labels on items
    whose final label ticks it."""
    tp = fp = fn = 0
    for item, _, ticked in cells:
        decided = final[item]
        if decided is None:
            continue
        truth = c in decided
        given = c in ticked
        tp += truth and given
        fp += given and not truth
        fn += truth and not given
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassFigures(json.dumps(c), alpha, precision, recall, f1, tp + fn)


def _regions(table: LabelTable, column: Column, present: BoolArray, name: str, kind: str) -> FieldFigures:
    parsed = column.parsed()
    by_item: dict[int, list[Any]] = defaultdict(list)
    for i in np.flatnonzero(present):
        by_item[int(table.item[i])].append(parsed[column.codes[i]])
    if kind == "spans":
        scores = [regions.mean_pairwise(v, lambda a, b: regions.span_f1(a, b, "overlap")) for v in by_item.values()]
        statistic = "mean_pairwise_span_f1_overlap"
    else:
        scores = [regions.mean_pairwise(v, lambda a, b: regions.box_match(a, b).f1) for v in by_item.values()]
        statistic = "mean_pairwise_box_f1_iou_0.5"
    return FieldFigures(name, kind, statistic, _mean([s for s in scores if s is not None]), None, [], [], [])


def _annotators(
    table: LabelTable,
    fields: Sequence[tuple[str, str]],
    per_field: Sequence[FieldFigures],
    estimates: Mapping[str, FieldModel],
) -> list[AnnotatorFigures]:
    """Whole labels (every field at once) against the final labels and against each other: a label's
    agreeing pairs are the other labels of its item with the same whole value. Gold answers give
    each annotator its gold figures (an annotator with gold answers only is listed with 0 labels)."""
    if not table.n_labels and not table.gold.n:
        return []
    n_annotators = len(table.annotator_ids)
    zero: npt.NDArray[Any] = np.zeros(n_annotators)
    correct = compared = agreeing = pairs = zero
    if table.n_labels:
        whole, whole_final = _whole(table, [name for name, _ in fields])
        truth = np.where(table.decided, whole_final, -1)[table.item]
        judged = truth >= 0
        correct = np.bincount(table.annotator, weights=judged & (truth == whole), minlength=n_annotators)
        compared = np.bincount(table.annotator, weights=judged, minlength=n_annotators)
        _, cell, same = np.unique(table.item * (int(whole.max()) + 1) + whole, return_inverse=True, return_counts=True)
        agreeing = np.bincount(table.annotator, weights=same[cell] - 1, minlength=n_annotators)
        per_item = np.bincount(table.item, minlength=len(table.item_ids))
        pairs = np.bincount(table.annotator, weights=per_item[table.item] - 1, minlength=n_annotators)
    labels = np.bincount(table.annotator, minlength=n_annotators)
    gold_answers, gold_accuracy = _gold_by_annotator(table.gold, table.gold.score, n_annotators)
    hours = np.unique(table.annotator * (1 << 40) + np.floor_divide(table.at, 3600.0).astype(np.int64))
    active_hours = np.bincount(hours >> 40, minlength=n_annotators)
    medians = _medians(table.annotator, table.time_spent_ms, n_annotators)
    by_field = _annotator_fields(table, fields, per_field, estimates)
    return [
        AnnotatorFigures(
            annotator=table.annotator_ids[a],
            labels=int(labels[a]),
            accuracy=float(correct[a] / compared[a]) if compared[a] else None,
            agreement=float(agreeing[a] / pairs[a]) if pairs[a] else None,
            median_time_ms=medians[a],
            labels_per_active_hour=float(labels[a] / active_hours[a]) if active_hours[a] else None,
            fields=by_field[a],
            gold_answers=int(gold_answers[a]),
            gold_accuracy=gold_accuracy[a],
        )
        for a in range(n_annotators)
        if labels[a] or gold_answers[a]
    ]


def _whole(table: LabelTable, names: Sequence[str]) -> tuple[IntArray, IntArray]:
    """One code per label for its whole value, and per item for its final value, in one code space."""
    if len(names) == 1:
        column = table.columns[names[0]]
        return column.codes, column.final
    if not names:
        return np.zeros(table.n_labels, dtype=np.intp), np.zeros(len(table.item_ids), dtype=np.intp)
    stacked = np.concatenate(
        [
            np.stack([table.columns[n].codes for n in names]),
            np.stack([table.columns[n].final for n in names]),
        ],
        axis=1,
    )
    _, code = np.unique(stacked, axis=1, return_inverse=True)
    code = code.reshape(-1).astype(np.intp)
    return code[: table.n_labels], code[table.n_labels :]


def _medians(annotator: IntArray, values: FloatArray, n: int) -> list[float | None]:
    order = np.argsort(annotator, kind="stable")
    bounds = np.searchsorted(annotator[order], np.arange(n + 1))
    result: list[float | None] = []
    for a in range(n):
        own = values[order[bounds[a] : bounds[a + 1]]]
        own = own[~np.isnan(own)]
        result.append(float(np.median(own)) if own.size else None)
    return result


def _annotator_fields(
    table: LabelTable,
    fields: Sequence[tuple[str, str]],
    per_field: Sequence[FieldFigures],
    estimates: Mapping[str, FieldModel],
) -> list[list[AnnotatorField]]:
    """Per annotator, per class field with at most MAX_CONFUSION_CLASSES classes (or with gold
    answers only): its confusion matrix against the final labels, the stored estimate's, and its
    gold accuracy there."""
    n = len(table.annotator_ids)
    result: list[list[AnnotatorField]] = [[] for _ in range(n)]
    for (name, kind), figured in zip(fields, per_field, strict=True):
        if kind not in CLASS_KINDS or kind == "multi_choice":
            continue
        if not figured.confusion_classes and not figured.gold_answers:
            continue
        k = len(figured.confusion_classes)
        if k > MAX_CONFUSION_CLASSES:
            continue
        flat: npt.NDArray[Any] = np.zeros((n, k, k), dtype=np.intp)
        if k:
            column = table.columns[name]
            position = {key: i for i, key in enumerate(figured.confusion_classes)}
            # a key is canonical JSON, which is also how confusion_classes shows a number
            to_class = np.fromiter(
                (position.get(key, -1) for key in column.keys), dtype=np.intp, count=len(column.keys)
            )
            truth = _reference(column, to_class)[table.item]
            given = to_class[column.codes]
            compared = (truth >= 0) & (given >= 0)
            flat = np.bincount(
                (table.annotator[compared] * k + truth[compared]) * k + given[compared], minlength=n * k * k
            ).reshape(n, k, k)
        gold_answers, gold_accuracy = _gold_by_annotator(table.gold, table.gold.fields[name], n)
        model = estimates.get(name)
        for a in range(n):
            cm = flat[a]
            total = int(cm.sum())
            estimated = model.confusion.get(table.annotator_ids[a]) if model else None
            result[a].append(
                AnnotatorField(
                    name=name,
                    accuracy=float(np.trace(cm) / total) if total else None,
                    classes=figured.confusion_classes,
                    confusion=cm.tolist(),
                    estimated_classes=list(model.classes) if model and estimated is not None else [],
                    estimated_confusion=estimated.tolist() if estimated is not None else None,
                    estimated_accuracy=model.accuracy.get(table.annotator_ids[a]) if model else None,
                    gold_answers=int(gold_answers[a]),
                    gold_accuracy=gold_accuracy[a],
                )
            )
    return result


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class AuditedDecision:
    """One completed QA audit: the decision it judged, what it was overturned to (None: confirmed),
    the labels behind that decision (author, value, both in the terms of the schema in force) and
    the reviewer whose review made the decision (None: no reviewer decided it)."""

    value: Mapping[str, Any]
    overturned_to: Mapping[str, Any] | None
    labels: Sequence[tuple[str, Mapping[str, Any]]]
    reviewer: str | None


@dataclass(frozen=True)
class AuditCount:
    audits: int
    overturned: int

    @property
    def overturn_rate(self) -> float | None:
        return self.overturned / self.audits if self.audits else None


@dataclass(frozen=True)
class AuditClassFigures(AuditCount):
    field: str
    value: str  # canonical JSON of the class the audited decision gave


@dataclass(frozen=True)
class AuditAnnotatorFigures:
    annotator: str
    labels: int  # its labels behind audited decisions
    errors: int  # of those, behind an overturned decision and not equal to the value it was overturned to

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.labels if self.labels else None


@dataclass(frozen=True)
class AuditReviewerFigures(AuditCount):
    reviewer: str  # audits of the decisions its reviews made, and how many were overturned


@dataclass(frozen=True)
class AuditFigures(AuditCount):
    classes: list[AuditClassFigures]
    annotators: list[AuditAnnotatorFigures]
    reviewers: list[AuditReviewerFigures]


def _same(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    return all(canonical(first.get(name)) == canonical(second.get(name)) for name in set(first) | set(second))


def audit_figures(audited: Sequence[AuditedDecision], fields: Sequence[tuple[str, str]]) -> AuditFigures:
    """Overturn rates overall, per (field, class) of the audited decision (class fields only; a
    multi-choice or taxonomy decision counts once for each class it gives), per annotator and per
    reviewer; sorted by field and class, annotator, reviewer."""
    per_class: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    per_annotator: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_reviewer: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    classed = [(name, kind) for name, kind in fields if kind in CLASS_KINDS]
    overturned = 0
    for audit in audited:
        flipped = audit.overturned_to is not None
        overturned += flipped
        for name, _kind in classed:
            answer = audit.value.get(name)
            given = {canonical(v) for v in answer} if isinstance(answer, list) else {canonical(answer)}
            for cls in given - {NULL}:
                per_class[name, cls][0] += 1
                per_class[name, cls][1] += flipped
        for author, value in audit.labels:
            per_annotator[author][0] += 1
            if audit.overturned_to is not None and not _same(value, audit.overturned_to):
                per_annotator[author][1] += 1
        if audit.reviewer is not None:
            per_reviewer[audit.reviewer][0] += 1
            per_reviewer[audit.reviewer][1] += flipped
    return AuditFigures(
        audits=len(audited),
        overturned=overturned,
        classes=[AuditClassFigures(n, o, f, v) for (f, v), (n, o) in sorted(per_class.items())],
        annotators=[AuditAnnotatorFigures(a, n, e) for a, (n, e) in sorted(per_annotator.items())],
        reviewers=[AuditReviewerFigures(n, o, r) for r, (n, o) in sorted(per_reviewer.items())],
    )
