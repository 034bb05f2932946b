"""Quality metrics against a reference: confusion matrices, precision/recall/F1, annotator accuracy,
and label distributions compared by the Jensen-Shannon divergence. Pure: numpy only.

Classes are indices 0..K-1 (as in `Ratings.classes`). Wherever a ratio would divide by zero the
result is 0.0 (scikit-learn's `zero_division=0`), except where a docstring says None.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.quality.ratings import FloatArray, IntArray, Ratings


def _classes(values: npt.ArrayLike, n_classes: int, name: str) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} is a 1-d array of class indices")
    out = array.astype(np.intp)
    if out.size and (out.min() < 0 or out.max() >= n_classes):
        raise ValueError(f"{name} holds a class index outside 0..n_classes-1")
    return out


def confusion_matrix(truth: IntArray, predicted: IntArray, n_classes: int) -> IntArray:
    """K x K counts: row = true class, column = predicted class. All zeros for empty input.

    ValueError when the arrays differ in length or hold an index outside 0..n_classes-1.
    """
    t = _classes(truth, n_classes, "truth")
    p = _classes(predicted, n_classes, "predicted")
    if t.size != p.size:
        raise ValueError("truth and predicted differ in length")
    flat = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.intp)


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


@dataclass(frozen=True)
class Average:
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, eq=False)
class ClassReport:
    precision: FloatArray  # per class: tp / predicted as the class (0.0 when never predicted)
    recall: FloatArray  # per class: tp / truly of the class (0.0 when it has no support)
    f1: FloatArray  # per class: harmonic mean of the two (0.0 when both are 0)
    support: IntArray  # per class: how many are truly of the class
    macro: Average  # unweighted mean over all K classes
    micro: Average  # from the pooled counts; for single-label data all three equal the accuracy
    weighted: Average  # mean weighted by support (0.0 when there is no support at all)


def precision_recall_f1(cm: IntArray) -> ClassReport:
    """Per-class precision, recall, F1 and support from a confusion matrix (rows truth), with averages.

    Every zero division gives 0.0, as scikit-learn's `precision_recall_fscore_support(...,
    zero_division=0)` with `labels=range(K)` does; the macro average includes classes with no support.
    An empty matrix (all zeros) gives zeros everywhere.
    """
    counts = np.asarray(cm, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError("a confusion matrix is square")
    tp = np.diag(counts).copy()
    predicted = counts.sum(axis=0)
    support = counts.sum(axis=1)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2.0 * tp, predicted + support)
    total = float(support.sum())
    accuracy = float(tp.sum()) / total if total else 0.0
    weights = support / total if total else np.zeros_like(support)
    return ClassReport(
        precision=precision,
        recall=recall,
        f1=f1,
        support=support.astype(np.intp),
        macro=Average(float(precision.mean()), float(recall.mean()), float(f1.mean())),
        micro=Average(accuracy, accuracy, accuracy),
        weighted=Average(float(precision @ weights), float(recall @ weights), float(f1 @ weights)),
    )


@dataclass(frozen=True, eq=False)
class AnnotatorAccuracy:
    annotator_ids: tuple[Hashable, ...]
    compared: IntArray  # per annotator: its labels on items with a reference
    correct: IntArray  # per annotator: how many of those give the reference class
    accuracy: tuple[float | None, ...]  # per annotator: correct / compared; None when nothing was compared
    confusion: IntArray  # annotators x K x K: row = reference class, column = the annotator's class


def annotator_accuracy(r: Ratings, reference: IntArray) -> AnnotatorAccuracy:
    """Each annotator's labels against a reference class per item (gold or consensus).

    `reference` holds, per item of `r.item_ids`, a class index or -1 for "no reference" (those items'
    labels are not compared). An annotator with nothing compared has accuracy None and an all-zero
    confusion matrix. ValueError when `reference` has the wrong length or an index outside -1..K-1.
    """
    ref = np.asarray(reference)
    if ref.shape != (r.n_items,) or (ref.size and not np.issubdtype(ref.dtype, np.integer)):
        raise ValueError("reference holds one class index (or -1) per item")
    k, n = r.n_classes, r.n_annotators
    ref = ref.astype(np.intp)
    if ref.size and (ref.min() < -1 or ref.max() >= k):
        raise ValueError("reference holds a class index outside -1..n_classes-1")
    target = ref[r.item]
    known = target >= 0
    annotator, value, target = r.annotator[known], r.value[known], target[known]
    flat = np.bincount((annotator * k + target) * k + value, minlength=n * k * k)
    confusion = flat.reshape(n, k, k).astype(np.intp)
    compared = confusion.sum(axis=(1, 2)).astype(np.intp)
    correct = np.trace(confusion, axis1=1, axis2=2).astype(np.intp)
    accuracy = tuple(float(c) / float(m) if m else None for c, m in zip(correct, compared, strict=True))
    return AnnotatorAccuracy(r.annotator_ids, compared, correct, accuracy, confusion)


def label_distribution(values: IntArray, n_classes: int) -> FloatArray:
    """The share of each class among `values` (sums to 1); all zeros when `values` is empty.

    An all-zero vector is no distribution: `jensen_shannon` refuses it.
    """
    v = _classes(values, n_classes, "values")
    counts = np.bincount(v, minlength=n_classes).astype(np.float64)
    return counts / v.size if v.size else counts


def jensen_shannon(p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """The Jensen-Shannon divergence in bits (base 2): the divergence, not its square root (the distance).

    JSD = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2, where 0 * log 0 = 0, so zero entries are
    fine. It is symmetric, in [0, 1], and 0 exactly when p and q are equal; it equals
    `scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2`. p and q are normalised to sum to 1 first.
    ValueError when their shapes differ, an entry is negative or not finite, or one sums to 0.
    """
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("p and q are 1-d and of the same length")
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or (a < 0).any() or (b < 0).any():
        raise ValueError("p and q hold finite, non-negative weights")
    if a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("p and q each have some mass")
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2.0

    def kl_to_m(x: FloatArray) -> float:
        where = x > 0
        return float((x[where] * np.log2(x[where] / m[where])).sum())

    return float(np.clip((kl_to_m(a) + kl_to_m(b)) / 2.0, 0.0, 1.0))
