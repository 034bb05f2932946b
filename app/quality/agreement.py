"""Agreement between annotators on a single-choice field: raw agreement, Cohen's, Fleiss' and
Krippendorff's statistics, per class and per annotator pair.

Every function takes a `Ratings` (one row per label: item, annotator, class index) and reads each
label as one judgment. Cohen's kappa and the per-pair figures compare annotators item by item, so
they need at most one label per (item, annotator): a second one is a ValueError there.

The chance-corrected statistics (the kappas and alpha) are undefined when the labels they look at
show no variation, i.e. the expected disagreement is 0 (everybody used one and the same class).
Then the observed disagreement is necessarily 0 as well, and they return None rather than 1.0:
perfect agreement on a single class says nothing about whether the annotators can tell classes
apart. Pure: numpy and scipy only, nothing of ours imported but `app.quality.ratings`.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import sparse

from app.quality.ratings import FloatArray, IntArray, Ratings, class_order

Weights = Literal["none", "linear", "quadratic"]
Level = Literal["nominal", "ordinal", "interval", "ratio"]
WEIGHTS: tuple[Weights, ...] = ("none", "linear", "quadratic")
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")


@dataclass(frozen=True)
class PairAgreement:
    first: Hashable  # annotator id; `first` sorts before `second` in Ratings.annotator_ids
    second: Hashable
    items: int  # items both labeled
    agreement: float  # share of those items on which they gave the same class
    kappa: float | None  # Cohen's unweighted kappa over those items; None when both used one same class only


@dataclass(frozen=True)
class _Cells:
    """The non-zero cells of the items x classes count matrix, and each item's number of labels."""

    counts: sparse.csr_array  # items x classes, canonical (no duplicates, sorted)
    item: IntArray  # per non-zero cell: its item (row)
    klass: IntArray  # per non-zero cell: its class (column)
    count: FloatArray  # per non-zero cell: how many labels the item got of the class
    per_item: FloatArray  # per item: how many labels it got (m_u)


def _cells(
    item: IntArray, value: IntArray, n_items: int, n_classes: int, *, per_item: FloatArray | None = None
) -> _Cells:
    """The cells of (item, value) pairs; `per_item` defaults to the number of pairs on each item."""
    counts = sparse.csr_array((np.ones(item.size), (item, value)), shape=(n_items, n_classes))
    counts.sum_duplicates()
    rows = np.repeat(np.arange(n_items, dtype=np.intp), np.diff(counts.indptr))
    if per_item is None:
        per_item = np.bincount(item, minlength=n_items).astype(np.float64)
    return _Cells(counts, rows, counts.indices.astype(np.intp), counts.data.astype(np.float64), per_item)


def _pair_weights(per_item: FloatArray) -> FloatArray:
    """1 / (m_u - 1) for items with two labels or more (pairable), 0 for the others (they drop out)."""
    weights = np.zeros_like(per_item)
    pairable = per_item >= 2
    weights[pairable] = 1.0 / (per_item[pairable] - 1.0)
    return weights


def _coincidences(cells: _Cells) -> FloatArray:
    """Krippendorff's coincidence matrix o (classes x classes): o = sum_u (n_u n_u^T - diag n_u) / (m_u - 1).

    Computed as C^T W - diag(column sums of W), where C is the sparse count matrix and W is C with each
    row scaled by 1 / (m_u - 1) (0 for unpairable items).
    """
    c = cells.counts
    scaled = cells.count * _pair_weights(cells.per_item)[cells.item]
    w = sparse.csr_array((scaled, c.indices, c.indptr), shape=c.shape)
    products = (c.T @ w).toarray()
    return np.asarray(products, dtype=np.float64) - np.diag(np.bincount(cells.klass, scaled, c.shape[1]))


def _distances(level: Level, numeric: FloatArray | None, pairable_per_class: FloatArray) -> FloatArray:
    """The squared distance between every two classes at the level (0 on the diagonal)."""
    if level == "nominal":
        return 1.0 - np.eye(pairable_per_class.size)
    if level == "ordinal":
        # Krippendorff's ordinal distance between ranks c <= k is (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2,
        # which is (mid_k - mid_c)^2 with mid_g = (n_0 + ... + n_g) - n_g / 2 (the class's middle rank).
        mid = np.cumsum(pairable_per_class) - pairable_per_class / 2.0
        return np.asarray(np.subtract.outer(mid, mid) ** 2, dtype=np.float64)
    if numeric is None:
        raise ValueError(f"the {level} level needs the classes as numbers")
    diff = np.subtract.outer(numeric, numeric)
    if level == "interval":
        return np.asarray(diff**2, dtype=np.float64)
    total = np.add.outer(numeric, numeric)
    ratio = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0)
    return np.asarray(ratio**2, dtype=np.float64)


def krippendorff_alpha(r: Ratings, level: Level = "nominal") -> float | None:
    """Krippendorff's alpha, 1 - D_o / D_e, over every item with two labels or more.

    Missing values are allowed: an item with fewer than two labels cannot be paired and drops out.
    Distances: nominal (0 or 1), ordinal (by the rank of the class in `r.classes`, with Krippendorff's
    marginal-frequency distance), interval ((a - b)^2) and ratio (((a - b) / (a + b))^2, 0 when a + b = 0)
    on `r.numeric_classes()` (a ValueError when a class is not a number).

    Returns a value <= 1 (1 is perfect agreement, 0 what chance gives, below 0 systematic disagreement),
    or None when no item has two labels or the pairable labels use a single class (D_e = 0).
    ValueError for an unknown level.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement: {level!r}")
    numeric = r.numeric_classes() if level in ("interval", "ratio") else None
    cells = _cells(r.item, r.value, r.n_items, r.n_classes)
    o = _coincidences(cells)
    per_class = o.sum(axis=0)
    n = float(per_class.sum())
    if n <= 1:
        return None
    d = _distances(level, numeric, per_class)
    expected = float(per_class @ d @ per_class)
    if expected <= 0.0:
        return None
    return 1.0 - (n - 1.0) * float((o * d).sum()) / expected


def pairwise_agreement(r: Ratings) -> float | None:
    """The share of agreeing label pairs, pooled over items with two labels or more.

    An item with n labels contributes its n(n-1)/2 pairs; a pair agrees when both labels give the same
    class. Returns a value in [0, 1], or None when no item has two labels.
    """
    cells = _cells(r.item, r.value, r.n_items, r.n_classes)
    pairs = float((cells.per_item * (cells.per_item - 1.0)).sum()) / 2.0
    if pairs == 0.0:
        return None
    agreeing = float((cells.count * (cells.count - 1.0)).sum()) / 2.0
    return agreeing / pairs


def fleiss_kappa(r: Ratings) -> float | None:
    """Fleiss' kappa (Fleiss 1971), for designs where every item got the same number n >= 2 of labels.

    Returns (P - P_e) / (1 - P_e), at most 1, or None when the items have different numbers of labels
    (an item of `r.item_ids` with none counts as 0), fewer than 2, there are no items, or all labels
    give one class (P_e = 1).
    """
    per_item = r.labels_per_item()
    if per_item.size == 0 or per_item.min() != per_item.max() or per_item[0] < 2:
        return None
    n = float(per_item[0])
    cells = _cells(r.item, r.value, r.n_items, r.n_classes)
    agreement = float((cells.count**2).sum() - r.n_labels) / (n * (n - 1.0) * r.n_items)
    share = np.bincount(cells.klass, cells.count, r.n_classes) / r.n_labels
    if np.count_nonzero(share) < 2:
        return None
    chance = float((share**2).sum())
    return (agreement - chance) / (1.0 - chance)


def _kappa(confusion: FloatArray, weights: Weights) -> float | None:
    """1 - sum(w * observed) / sum(w * expected) from a K x K table of joint counts."""
    k = confusion.shape[0]
    index = np.arange(k, dtype=np.float64)
    distance = np.abs(np.subtract.outer(index, index))
    if weights == "none":
        w = (distance > 0).astype(np.float64)
    elif weights == "linear":
        w = distance
    else:
        w = distance**2
    total = confusion.sum()
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0)) / total
    expected_disagreement = float((w * expected).sum())
    if expected_disagreement <= 0.0:
        return None
    return 1.0 - float((w * confusion).sum()) / expected_disagreement


def cohen_kappa(r: Ratings, weights: Weights = "none") -> float | None:
    """Cohen's kappa between exactly two annotators, over the items both labeled.

    Weights: "none" (any two classes disagree fully), "linear" (|i - j|) or "quadratic" ((i - j)^2),
    where i, j are the classes' indices in `r.classes` (sorted, schema classes no label used included).

    Returns a value <= 1, or None when there are not exactly two annotators, they share no item, or
    on the shared items both gave one and the same class only (expected disagreement 0; the observed
    disagreement is then 0 too, and kappa is 0/0). ValueError for unknown weights or when an annotator
    labeled an item twice.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"unknown weights: {weights!r}")
    if r.n_annotators != 2:
        return None
    if r.n_labels and np.bincount(r.annotator * r.n_items + r.item, minlength=2 * r.n_items).max() > 1:
        raise ValueError("an annotator has more than one label on an item")
    given = np.full((2, r.n_items), -1, dtype=np.intp)
    given[r.annotator, r.item] = r.value
    both = (given >= 0).all(axis=0)
    if not both.any():
        return None
    k = r.n_classes
    joint = np.bincount(given[0, both] * k + given[1, both], minlength=k * k).reshape(k, k)
    return _kappa(joint.astype(np.float64), weights)


def per_pair_agreement(r: Ratings) -> list[PairAgreement]:
    """Agreement and Cohen's unweighted kappa for every pair of annotators that share an item.

    One sparse product gives every pair's joint counts at once: with I the items x (annotators * classes)
    incidence matrix, (I^T I)[a*K + c, b*K + d] is the number of items where a gave c and b gave d.
    Returns the pairs in order of `r.annotator_ids` (first < second); an empty list when no two
    annotators share an item. ValueError when an annotator labeled an item twice.
    """
    k = r.n_classes
    incidence = r.incidence()
    joint = (incidence.T @ incidence).tocoo()
    rows = np.asarray(joint.row, dtype=np.intp)
    cols = np.asarray(joint.col, dtype=np.intp)
    count = np.rint(joint.data).astype(np.int64)
    a, c = np.divmod(rows, k)
    b, d = np.divmod(cols, k)
    # The diagonal blocks (a, a) sum to sum_a sum_i (labels of a on i)^2, which equals the number of labels
    # only when every annotator has at most one label per item.
    if int(count[a == b].sum()) != r.n_labels:
        raise ValueError("an annotator has more than one label on an item")
    keep = a < b
    a, b, c, d, count = a[keep], b[keep], c[keep], d[keep], count[keep]
    pair_key = a.astype(np.int64) * r.n_annotators + b
    pairs, pair = np.unique(pair_key, return_inverse=True)
    n_pairs = pairs.size
    items = np.bincount(pair, count, n_pairs)
    agreeing = np.bincount(pair, count * (c == d), n_pairs)
    # Chance agreement per pair: sum_c (items where a gave c) * (items where b gave c) / items^2.
    first_margin = sparse.csr_array((count, (pair, c)), shape=(n_pairs, k))
    second_margin = sparse.csr_array((count, (pair, d)), shape=(n_pairs, k))
    chance_count = np.asarray(first_margin.multiply(second_margin).sum(axis=1), dtype=np.float64).ravel()
    items_sq = items**2
    observed = agreeing / items
    defined = chance_count < items_sq
    kappa = np.zeros(n_pairs)
    chance = chance_count[defined] / items_sq[defined]
    kappa[defined] = (observed[defined] - chance) / (1.0 - chance)
    first, second = np.divmod(pairs, r.n_annotators)
    ids = r.annotator_ids
    return [
        PairAgreement(
            first=ids[int(first[p])],
            second=ids[int(second[p])],
            items=int(items[p]),
            agreement=float(observed[p]),
            kappa=float(kappa[p]) if defined[p] else None,
        )
        for p in range(n_pairs)
    ]


def _one_vs_rest_alpha(cells: _Cells, n_classes: int) -> list[float | None]:
    """Per class k: nominal alpha of the binary variable "the label is k", from the item x class counts.

    For two values the coincidence matrix has o_01 = o_10 = sum_u x_u (m_u - x_u) / (m_u - 1) (x_u the
    labels of class k on item u), so alpha = 1 - (n - 1) o_01 / (n_1 n_0) over the pairable labels.
    """
    weights = _pair_weights(cells.per_item)
    m = cells.per_item[cells.item]
    w = weights[cells.item]
    mixed = np.bincount(cells.klass, cells.count * (m - cells.count) * w, n_classes)
    pairable = w > 0
    n = float(cells.per_item[weights > 0].sum())
    present = np.bincount(cells.klass[pairable], cells.count[pairable], n_classes)
    absent = n - present
    result: list[float | None] = []
    for k in range(n_classes):
        expected = present[k] * absent[k]
        result.append(None if expected <= 0 else 1.0 - (n - 1.0) * float(mixed[k]) / float(expected))
    return result


def per_class_agreement(r: Ratings) -> dict[Any, float | None]:
    """Per class (keyed by its value in `r.classes`): nominal alpha of the one-vs-rest recoding.

    Each label becomes 1 when it gives the class and 0 otherwise, and Krippendorff's nominal alpha of
    that binary variable says how reliably the annotators tell this class from all the others (the
    alpha a yes/no question "is it this class?" would get). It uses the same pairable items as
    `krippendorff_alpha`. A class is None when no pairable label, or every one, gives it (no variation).
    """
    cells = _cells(r.item, r.value, r.n_items, r.n_classes)
    return dict(zip(r.classes, _one_vs_rest_alpha(cells, r.n_classes), strict=True))


def multi_choice_agreement(
    rows: Iterable[tuple[Hashable, Hashable, Collection[Any]]], classes: Iterable[Any] = ()
) -> dict[Any, float | None]:
    """Per class of a multi-choice field: nominal alpha of "the annotator picked this class" (present/absent).

    `rows` are (item, annotator, the values picked); an annotator who labeled the item but did not pick a
    class counts as 0 for it (an empty collection is "picked nothing"). `classes` adds values no label
    picked (a schema's choices). Keys are every class, sorted as `Ratings` sorts them; a class is None
    when no item has two labels, or every pairable label picks it, or none does. ValueError when an
    annotator has two rows on one item; TypeError when the values are a string rather than a collection.
    """
    triples = list(rows)
    seen: set[tuple[Hashable, Hashable]] = set()
    for item, annotator, values in triples:
        if isinstance(values, str | bytes):
            raise TypeError("a multi-choice value is a collection of values, not a string")
        if (item, annotator) in seen:
            raise ValueError("an annotator has more than one label on an item")
        seen.add((item, annotator))
    all_classes = sorted({v for _, _, values in triples for v in values} | set(classes), key=class_order)
    class_at = {v: i for i, v in enumerate(all_classes)}
    item_at: dict[Hashable, int] = {}
    row_item = np.fromiter((item_at.setdefault(t[0], len(item_at)) for t in triples), np.intp, len(triples))
    picks = [(row_item[i], class_at[v]) for i, t in enumerate(triples) for v in set(t[2])]
    pick_item = np.fromiter((p[0] for p in picks), np.intp, len(picks))
    pick_class = np.fromiter((p[1] for p in picks), np.intp, len(picks))
    # An item's labels are its rows (annotators), whatever each picked.
    per_item = np.bincount(row_item, minlength=len(item_at)).astype(np.float64)
    cells = _cells(pick_item, pick_class, len(item_at), len(all_classes), per_item=per_item)
    return dict(zip(all_classes, _one_vs_rest_alpha(cells, len(all_classes)), strict=True))
