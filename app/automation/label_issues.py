"""Label-issue detection by confident learning (Northcutt, Jiang & Chuang, JAIR 2021). Pure: numpy.

Inputs: the decided label of each item (class indices) and out-of-fold predicted probabilities
(items x classes, from a model that did not train on the item: `classifier.train(...).oof_proba`,
or probabilities a model pushed). Steps:

1. **Thresholds.** For each class j, t_j = the mean probability of j over the items labelled j
   (its mean self-confidence): what "the model believes j" looks like for this model and class.
   A class without labels gets t_j = inf (nothing is counted as confidently in it).
2. **Confident joint.** An item labelled i counts in cell (i, j) when p_j >= t_j; when several
   classes pass their threshold, j is the likeliest of them; an item with none is not counted.
   The diagonal is floored at 1 and each row rescaled to the number of items labelled i, then
   rounded to integers preserving row totals (largest remainders; ties to the smaller column):
   cell (i, j) estimates how many items labelled i truly belong to j.
3. **Selection.** Cell (i, j) of the joint says how many items labelled i to flag as truly j, and
   the off-diagonal total of row i how many items labelled i to flag at all. Only items the model
   does not predict as their label are ever flagged (argmax != given; a tie with the given class
   counts as agreeing). Two rules choose them, and the default flags what both choose:
   - *by class* (PRUNE_BY_CLASS): in each class i, the row's off-diagonal total of its items with
     the lowest self-confidence p_i;
   - *by noise rate* (PRUNE_BY_NOISE_RATE): for each cell (i, j), its count of items labelled i with
     the largest margin p_j - p_i (an item may be chosen for more than one j);
   - BOTH (the default): flagged by both rules. Each rule alone over-flags when the model is weak
     (its hard but correctly labelled items reach other classes' thresholds too); what both agree
     on is more precise at little cost in recall (bench/label_issues.py measures it).
4. **Ranking.** Label quality is the self-confidence p_given, or (the default) the normalized margin
   (p_given - max_{j != given} p_j + 1) / 2; an issue's `score` is 1 - quality (higher = more likely
   mislabeled) and its suggested class is the model's argmax. Issues are listed by score, highest
   first, ties by index.

These are the methods of the paper (its "PBC", "PBNR" and "C+NR"); the code is ours, and
cleanlab's `find_label_issues` is the oracle in tests/automation and the peer in the bench.
cleanlab defaults to prune-by-noise-rate; its ``filter_by="both"`` is the rule we default to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


class Method(enum.StrEnum):
    PRUNE_BY_CLASS = "PRUNE_BY_CLASS"
    PRUNE_BY_NOISE_RATE = "PRUNE_BY_NOISE_RATE"
    BOTH = "BOTH"


class Rank(enum.StrEnum):
    SELF_CONFIDENCE = "SELF_CONFIDENCE"
    NORMALIZED_MARGIN = "NORMALIZED_MARGIN"


@dataclass(frozen=True)
class LabelIssue:
    index: int  # row of the inputs
    given: int  # the decided class
    suggested: int  # the class the model believes
    score: float  # 1 - label quality, in [0, 1]: higher = more likely mislabeled
    self_confidence: float  # the model's probability of the given class


@dataclass(frozen=True, eq=False)
class LabelIssues:
    issues: tuple[LabelIssue, ...]  # most likely mislabeled first
    thresholds: FloatArray  # per class: mean self-confidence (inf: no labels)
    confident_joint: IntArray  # K x K calibrated counts, rows = given class, columns = believed class
    label_quality: FloatArray  # per item (every row, not only the issues): higher = label more plausible

    @property
    def indices(self) -> IntArray:
        return np.fromiter((i.index for i in self.issues), dtype=np.intp, count=len(self.issues))

    @property
    def estimated_issues(self) -> int:
        """How many items the confident joint says are mislabeled (its off-diagonal total)."""
        cj = self.confident_joint
        return int(cj.sum() - np.trace(cj))


def _checked(labels: npt.ArrayLike, proba: npt.ArrayLike) -> tuple[IntArray, FloatArray]:
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must be an items x classes matrix with 2 or more classes, not shape {p.shape}.")
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(f"labels must hold one class index per row of proba ({p.shape[0]}), not shape {y.shape}.")
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"labels must be class indices in 0..{p.shape[1] - 1}.")
    if p.size and (not np.isfinite(p).all() or (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6)):
        raise ValueError("Each row of proba must hold finite, non-negative probabilities summing to 1.")
    return y.astype(np.intp), p


def confident_thresholds(labels: npt.ArrayLike, proba: npt.ArrayLike) -> FloatArray:
    """Per class: the mean predicted probability of that class over the items labelled with it."""
    y, p = _checked(labels, proba)
    k = p.shape[1]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    sums = np.bincount(y, weights=p[np.arange(y.size), y], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.inf)


def _round_rows(m: FloatArray) -> IntArray:
    """Round each row to integers keeping its (rounded) total: largest remainders get the +1s."""
    floor = np.floor(m)
    out = floor.astype(np.intp)
    short = np.rint(m.sum(axis=1)).astype(np.intp) - out.sum(axis=1)
    remainder = m - floor
    for row in np.flatnonzero(short > 0):
        order = np.argsort(-remainder[row], kind="stable")
        out[row, order[: short[row]]] += 1
    return out


def _believed(p: FloatArray, thresholds: FloatArray) -> IntArray:
    """Per item: the likeliest class among those at or above their threshold, -1 when none is."""
    above = p >= thresholds - 1e-12
    masked = np.where(above, p, -1.0)
    believed: IntArray = np.asarray(masked.argmax(axis=1), dtype=np.intp)
    believed[~above.any(axis=1)] = -1
    return believed


def confident_joint(
    labels: npt.ArrayLike, proba: npt.ArrayLike, *, thresholds: FloatArray | None = None, calibrate: bool = True
) -> IntArray:
    """K x K counts: row = given class, column = the class the item is confidently believed to be."""
    y, p = _checked(labels, proba)
    k = p.shape[1]
    t = confident_thresholds(y, p) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    believed = _believed(p, t)
    counted = believed >= 0
    cj = np.zeros((k, k), dtype=np.intp)
    np.add.at(cj, (y[counted], believed[counted]), 1)
    if not calibrate:
        return cj
    raw = cj.astype(np.float64)
    given = np.bincount(y, minlength=k)
    diagonal = np.diag_indices(k)
    raw[diagonal] = np.where(given > 0, np.maximum(raw[diagonal], 1.0), 0.0)
    totals = raw.sum(axis=1, keepdims=True)
    scaled = np.divide(raw * given[:, None], totals, out=np.zeros_like(raw), where=totals > 0)
    return _round_rows(scaled)


def label_quality(labels: npt.ArrayLike, proba: npt.ArrayLike, rank: Rank = Rank.NORMALIZED_MARGIN) -> FloatArray:
    """Per item, how plausible its label is to the model, in [0, 1] (higher = more plausible)."""
    y, p = _checked(labels, proba)
    own = p[np.arange(y.size), y]
    if Rank(rank) is Rank.SELF_CONFIDENCE:
        return own.copy()
    others = p.copy()
    others[np.arange(y.size), y] = -np.inf
    return np.asarray((own - others.max(axis=1) + 1.0) / 2.0, dtype=np.float64)


def _by_class(y: IntArray, own: FloatArray, cj: IntArray, candidate: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    flagged = np.zeros(y.size, dtype=bool)
    for i in range(cj.shape[0]):
        quota = int(cj[i].sum() - cj[i, i])
        if quota > 0:
            members = np.flatnonzero((y == i) & candidate)
            flagged[members[np.argsort(own[members], kind="stable")[:quota]]] = True
    return flagged


def _by_noise_rate(y: IntArray, p: FloatArray, cj: IntArray, candidate: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    flagged = np.zeros(y.size, dtype=bool)
    k = cj.shape[0]
    for i in range(k):
        members = np.flatnonzero(y == i)
        for j in range(k):
            quota = int(cj[i, j])
            if j != i and quota > 0:
                gap = p[members, j] - p[members, i]
                flagged[members[np.argsort(-gap, kind="stable")[:quota]]] = True
    return flagged & candidate


def find_label_issues(
    labels: npt.ArrayLike,
    proba: npt.ArrayLike,
    *,
    method: Method = Method.BOTH,
    rank: Rank = Rank.NORMALIZED_MARGIN,
) -> LabelIssues:
    """The likely mislabeled items of `labels` given out-of-fold `proba`, ranked (see the module)."""
    y, p = _checked(labels, proba)
    thresholds = confident_thresholds(y, p)
    cj = confident_joint(y, p, thresholds=thresholds)
    quality = label_quality(y, p, rank)
    own = p[np.arange(y.size), y]
    candidate = p.max(axis=1, initial=0.0) > own
    method = Method(method)
    if method is Method.PRUNE_BY_CLASS:
        flagged = _by_class(y, own, cj, candidate)
    elif method is Method.PRUNE_BY_NOISE_RATE:
        flagged = _by_noise_rate(y, p, cj, candidate)
    else:
        flagged = _by_class(y, own, cj, candidate) & _by_noise_rate(y, p, cj, candidate)
    chosen = np.flatnonzero(flagged)
    score = 1.0 - quality[chosen]
    chosen = chosen[np.lexsort((chosen, -score))]
    suggested = p.argmax(axis=1)
    issues = tuple(
        LabelIssue(
            index=int(i),
            given=int(y[i]),
            suggested=int(suggested[i]),
            score=float(1.0 - quality[i]),
            self_confidence=float(own[i]),
        )
        for i in chosen
    )
    return LabelIssues(issues=issues, thresholds=thresholds, confident_joint=cj, label_quality=quality)
