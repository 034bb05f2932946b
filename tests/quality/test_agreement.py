"""Agreement statistics (app/quality/agreement.py).

Hand-computed small cases (the arithmetic is in the comments), the published worked examples
(Krippendorff 2011, the Wikipedia Fleiss' kappa example), the reference packages as oracles
(krippendorff, scikit-learn, statsmodels) and properties that hold for any ratings: permuting
items, annotators, rows or class names changes nothing, perfect agreement gives 1, bounds hold.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import krippendorff
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from app.quality.agreement import (
    PairAgreement,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    multi_choice_agreement,
    pairwise_agreement,
    per_class_agreement,
    per_pair_agreement,
)
from app.quality.ratings import Ratings

PROPERTY = settings(database=None, deadline=None, max_examples=150)
LEVELS = ("nominal", "ordinal", "interval", "ratio")
Matrix = npt.NDArray[np.float64]  # annotators x items, nan where the annotator gave no label


def rows_of(matrix: Matrix, values: Sequence[Any] | None = None) -> list[tuple[str, str, Any]]:
    """(item, annotator, value) rows of an annotators x items matrix; `values` renames class indices."""
    out = []
    for a, i in zip(*np.nonzero(~np.isnan(matrix)), strict=True):
        v = int(matrix[a, i])
        out.append((f"i{i:03d}", f"u{a:02d}", values[v] if values is not None else v))
    return out


def ratings_of(matrix: Matrix, values: Sequence[Any] | None = None) -> Ratings:
    return Ratings.from_rows(rows_of(matrix, values))


def reference_alpha(matrix: Matrix, level: str) -> float | None:
    """krippendorff.alpha, with its refusals and 0/0 read as None (ours answers None there)."""
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))
    except ValueError:
        return None
    return None if math.isnan(value) else value


@st.composite
def reliability(
    draw: st.DrawFn, max_annotators: int = 5, max_items: int = 12, max_classes: int = 4, missing: bool = True
) -> Matrix:
    """An annotators x items matrix of class indices 0..K-1, with nan for missing labels."""
    n_annotators = draw(st.integers(2, max_annotators))
    n_items = draw(st.integers(1, max_items))
    n_classes = draw(st.integers(2, max_classes))
    cells = draw(
        st.lists(
            st.integers(-1 if missing else 0, n_classes - 1),
            min_size=n_annotators * n_items,
            max_size=n_annotators * n_items,
        )
    )
    matrix = np.asarray(cells, dtype=np.float64).reshape(n_annotators, n_items)
    matrix[matrix < 0] = np.nan
    return matrix


def reference_kappa(x: Sequence[int], y: Sequence[int], labels: Sequence[int], weights: str = "none") -> float | None:
    """sklearn's cohen_kappa_score, with its undefined case (nan, and a warning) read as None."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(x, y, labels=labels, weights=None if weights == "none" else weights))
    return None if math.isnan(value) else value


def approx(value: float | None, expected: float | None, tol: float = 1e-9) -> bool:
    if value is None or expected is None:
        return value is expected
    return abs(value - expected) <= tol


# -- pairwise agreement --------------------------------------------------------------------------


def test_pairwise_agreement_pools_label_pairs_over_items() -> None:
    # a: x x y -> 3 pairs, 1 agrees; b: x x -> 1 pair, 1 agrees; c: one label, no pair. (1 + 1) / (3 + 1) = 0.5
    rows = [("a", "u1", "x"), ("a", "u2", "x"), ("a", "u3", "y"), ("b", "u1", "x"), ("b", "u2", "x")]
    rows.append(("c", "u1", "y"))
    assert pairwise_agreement(Ratings.from_rows(rows)) == 0.5


def test_pairwise_agreement_without_pairs_is_none() -> None:
    assert pairwise_agreement(Ratings.from_rows([("a", "u1", "x"), ("b", "u2", "y")])) is None
    assert pairwise_agreement(Ratings.from_rows([])) is None


# -- Cohen's kappa -------------------------------------------------------------------------------


def test_cohen_kappa_by_hand() -> None:
    # A: x x y y, B: x y y y. Observed 3/4. Marginals A (1/2, 1/2), B (1/4, 3/4): chance 1/8 + 3/8 = 1/2.
    # kappa = (3/4 - 1/2) / (1 - 1/2) = 0.5
    a, b = ["x", "x", "y", "y"], ["x", "y", "y", "y"]
    rows = [(i, "A", v) for i, v in enumerate(a)] + [(i, "B", v) for i, v in enumerate(b)]
    assert cohen_kappa(Ratings.from_rows(rows)) == pytest.approx(0.5)


def test_linear_weights_by_hand() -> None:
    # Pairs (0,1) (1,1) (2,2) (2,0): weighted observed disagreement |0-1| + |2-0| = 3.
    # Marginals A: 0:1 1:1 2:2, B: 0:1 1:2 2:1; expected = sum_ij a_i b_j |i-j| / 4
    # = (1*(2*1 + 1*2) + 1*(1*1 + 1*1) + 2*(1*2 + 2*1)) / 4 = 14/4. kappa = 1 - 3 / 3.5 = 1/7.
    pairs = [(0, 1), (1, 1), (2, 2), (2, 0)]
    rows = [(i, "A", p[0]) for i, p in enumerate(pairs)] + [(i, "B", p[1]) for i, p in enumerate(pairs)]
    assert cohen_kappa(Ratings.from_rows(rows), weights="linear") == pytest.approx(1 / 7)


def test_weights_use_the_class_index_including_unused_schema_classes() -> None:
    # Classes 1, 2, 3 with 2 unused: 1 and 3 are two steps apart, as the schema says.
    pairs = [(1, 3), (1, 1), (3, 3), (3, 1), (1, 1)]
    rows = [(i, "A", p[0]) for i, p in enumerate(pairs)] + [(i, "B", p[1]) for i, p in enumerate(pairs)]
    ratings = Ratings.from_rows(rows, classes=[2])
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    for weights in ("linear", "quadratic"):
        expected = cohen_kappa_score(a, b, labels=[1, 2, 3], weights=weights)
        assert cohen_kappa(ratings, weights=weights) == pytest.approx(expected, abs=1e-12)


def test_cohen_kappa_needs_exactly_two_annotators_and_a_shared_item() -> None:
    three = Ratings.from_rows([("a", "u1", "x"), ("a", "u2", "y"), ("a", "u3", "x")])
    assert cohen_kappa(three) is None
    apart = Ratings.from_rows([("a", "u1", "x"), ("b", "u2", "y")])
    assert cohen_kappa(apart) is None


def test_cohen_kappa_with_no_variation_is_none() -> None:
    # Both always say x: expected disagreement 0, and so is the observed one; kappa is 0/0 -> None.
    rows = [(i, u, "x") for i in range(4) for u in ("A", "B")]
    assert cohen_kappa(Ratings.from_rows(rows, classes=["y"])) is None
    for weights in ("linear", "quadratic"):
        assert cohen_kappa(Ratings.from_rows(rows), weights=weights) is None


def test_cohen_kappa_refuses_two_labels_by_one_annotator_on_an_item() -> None:
    rows = [("a", "A", "x"), ("a", "A", "y"), ("a", "B", "x")]
    with pytest.raises(ValueError, match="more than one label"):
        cohen_kappa(Ratings.from_rows(rows))


def test_cohen_kappa_refuses_unknown_weights_whatever_the_data() -> None:
    rows = [("a", "A", "x"), ("a", "B", "y"), ("b", "A", "y"), ("b", "B", "y")]
    for ratings in (Ratings.from_rows(rows), Ratings.from_rows([])):
        with pytest.raises(ValueError, match="weights"):
            cohen_kappa(ratings, weights="cubic")  # type: ignore[arg-type]


@PROPERTY
@given(reliability(max_annotators=2, max_items=20, max_classes=5), st.sampled_from(["none", "linear", "quadratic"]))
def test_cohen_kappa_matches_scikit_learn(matrix: Matrix, weights: str) -> None:
    both = ~np.isnan(matrix).any(axis=0)
    ratings = ratings_of(matrix)
    ours = cohen_kappa(ratings, weights=weights)  # type: ignore[arg-type]
    if not both.any():
        assert ours is None
        return
    a, b = matrix[0, both].astype(int), matrix[1, both].astype(int)
    labels = [int(c) for c in ratings.classes]
    assert approx(ours, reference_kappa(a.tolist(), b.tolist(), labels, weights))


# -- Fleiss' kappa -------------------------------------------------------------------------------

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters each, 5 categories; kappa = 0.210
# (P = 0.378, P_e = 0.213). Rows: subjects; columns: how many raters chose categories 1..5.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def ratings_from_counts(table: Sequence[Sequence[int]]) -> Ratings:
    rows = []
    for item, counts in enumerate(table):
        labels = [category for category, n in enumerate(counts, start=1) for _ in range(n)]
        rows += [(item, f"r{rater:02d}", category) for rater, category in enumerate(labels)]
    return Ratings.from_rows(rows)


def test_fleiss_kappa_wikipedia_example() -> None:
    kappa = fleiss_kappa(ratings_from_counts(WIKIPEDIA_FLEISS))
    assert kappa is not None
    assert round(kappa, 3) == 0.210
    assert kappa == pytest.approx(statsmodels_fleiss(np.asarray(WIKIPEDIA_FLEISS), method="fleiss"), abs=1e-12)


def test_fleiss_kappa_by_hand() -> None:
    # Item 1: x x x -> P_1 = (9 - 3) / 6 = 1; item 2: x x y -> P_2 = (4 + 1 - 3) / 6 = 1/3. P = 2/3.
    # p_x = 5/6, p_y = 1/6: P_e = 26/36. kappa = (2/3 - 13/18) / (1 - 13/18) = (-1/18) / (5/18) = -0.2
    assert fleiss_kappa(ratings_from_counts([[3, 0], [2, 1]])) == pytest.approx(-0.2)


def test_fleiss_kappa_needs_the_same_number_of_labels_on_every_item() -> None:
    assert fleiss_kappa(ratings_from_counts([[2, 1], [1, 1]])) is None  # 3 and 2 labels
    assert fleiss_kappa(ratings_from_counts([[1, 0], [0, 1]])) is None  # one label each
    assert fleiss_kappa(Ratings.from_rows([])) is None


def test_fleiss_kappa_of_a_single_class_is_none() -> None:
    # All labels say x: P_e = 1, kappa = 0/0.
    assert fleiss_kappa(ratings_from_counts([[3, 0], [3, 0]])) is None


@PROPERTY
@given(st.integers(2, 6), st.integers(1, 15), st.integers(2, 5), st.data())
def test_fleiss_kappa_matches_statsmodels(per_item: int, n_items: int, n_classes: int, data: st.DataObject) -> None:
    labels = data.draw(
        st.lists(st.integers(0, n_classes - 1), min_size=per_item * n_items, max_size=per_item * n_items)
    )
    table = np.zeros((n_items, n_classes), dtype=int)
    for index, label in enumerate(labels):
        table[index // per_item, label] += 1
    ours = fleiss_kappa(ratings_from_counts(table.tolist()))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = float(statsmodels_fleiss(table, method="fleiss"))
    assert approx(ours, None if math.isnan(expected) else expected)


# -- Krippendorff's alpha ------------------------------------------------------------------------

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania. Section C, "Nominal data, any number of observers,
# missing data": 4 observers x 12 units, values 1..5, "." for missing. Reported: nominal 0.743;
# the same data as ordinal 0.815, interval 0.849 and ratio 0.797 (sections D-F).
NAN = np.nan
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_2011_worked_example(level: str, published: float) -> None:
    alpha = krippendorff_alpha(ratings_of(KRIPPENDORFF_2011 - 1, [1, 2, 3, 4, 5]), level)  # type: ignore[arg-type]
    assert alpha is not None
    assert round(alpha, 3) == published


def test_krippendorff_2011_ratio_level_matches_the_package() -> None:
    # The paper's ratio figure (0.797) is the package's doctest figure too.
    alpha = krippendorff_alpha(ratings_of(KRIPPENDORFF_2011 - 1, [1, 2, 3, 4, 5]), "ratio")
    assert alpha is not None
    assert round(alpha, 3) == 0.797
    assert approx(alpha, reference_alpha(KRIPPENDORFF_2011, "ratio"))


def test_nominal_alpha_by_hand() -> None:
    # u1: a a, u2: a b, u3: b b, u4: b alone (unpairable, drops out).
    # Coincidences: o_aa = 2, o_ab = o_ba = 1, o_bb = 2; n_a = n_b = 3, n = 6.
    # alpha = 1 - (n - 1) * (o_ab + o_ba) / (n_a n_b + n_b n_a) = 1 - 5 * 2 / 18 = 4/9
    rows = [("u1", "A", "a"), ("u1", "B", "a"), ("u2", "A", "a"), ("u2", "B", "b")]
    rows += [("u3", "A", "b"), ("u3", "B", "b"), ("u4", "A", "b")]
    assert krippendorff_alpha(Ratings.from_rows(rows)) == pytest.approx(4 / 9)


def test_ordinal_alpha_by_hand() -> None:
    # u1: 1 1, u2: 1 2, u3: 3 3. n_1 = 3, n_2 = 1, n_3 = 2, n = 6; o_12 = o_21 = 1.
    # Ordinal distances (sum of n_g from c to k minus (n_c + n_k) / 2, squared):
    # d_12 = (4 - 2)^2 = 4, d_13 = (6 - 2.5)^2 = 12.25, d_23 = (3 - 1.5)^2 = 2.25.
    # D_o-sum = 2 * 4 = 8; expected-sum = 2 * (3*1*4 + 3*2*12.25 + 1*2*2.25) = 2 * 90 = 180.
    # alpha = 1 - (n - 1) * 8 / 180 = 1 - 40/180 = 7/9
    rows = [("u1", "A", 1), ("u1", "B", 1), ("u2", "A", 1), ("u2", "B", 2), ("u3", "A", 3), ("u3", "B", 3)]
    assert krippendorff_alpha(Ratings.from_rows(rows), "ordinal") == pytest.approx(7 / 9)


def test_alpha_without_pairable_items_or_variation_is_none() -> None:
    assert krippendorff_alpha(Ratings.from_rows([("a", "u1", "x"), ("b", "u2", "y")])) is None
    same = Ratings.from_rows([("a", "u1", "x"), ("a", "u2", "x"), ("b", "u1", "y")], classes=["z"])
    for level in ("nominal", "ordinal"):
        assert krippendorff_alpha(same, level) is None


def test_interval_levels_need_numeric_classes_even_without_pairable_items() -> None:
    pairable = Ratings.from_rows([("a", "u1", "x"), ("a", "u2", "y")])
    unpairable = Ratings.from_rows([("a", "u1", "x"), ("b", "u2", "y")])
    for ratings in (pairable, unpairable):
        for level in ("interval", "ratio"):
            with pytest.raises(ValueError, match="numeric"):
                krippendorff_alpha(ratings, level)
        with pytest.raises(ValueError, match="level"):
            krippendorff_alpha(ratings, "cardinal")  # type: ignore[arg-type]


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_the_package_on_a_larger_random_crowd(level: str) -> None:
    # 400 items, 8 annotators, 6 numeric classes (not evenly spaced), about 60% of labels missing.
    rng = np.random.default_rng(20260101)
    values = np.array([0.5, 1.0, 2.0, 3.5, 7.0, 10.0])
    truth = rng.integers(0, 6, 400)
    matrix = np.where(rng.random((8, 400)) < 0.7, truth, rng.integers(0, 6, (8, 400))).astype(np.float64)
    matrix[rng.random(matrix.shape) < 0.6] = np.nan
    rows = [(i, a, float(values[int(v)])) for i, a, v in rows_of(matrix)]
    numeric = np.where(np.isnan(matrix), np.nan, values[np.nan_to_num(matrix).astype(int)])
    ours = krippendorff_alpha(Ratings.from_rows(rows), level)  # type: ignore[arg-type]
    assert approx(ours, reference_alpha(numeric, level))


@PROPERTY
@given(reliability(), st.sampled_from(LEVELS))
def test_alpha_matches_the_package_with_missing_values(matrix: Matrix, level: str) -> None:
    # Classes 1, 2, 4, 8 (not evenly spaced) so interval and ratio distances differ from the ordinal ones.
    values = [1, 2, 4, 8]
    numeric = np.where(np.isnan(matrix), np.nan, np.asarray(values, dtype=float)[np.nan_to_num(matrix).astype(int)])
    ours = krippendorff_alpha(ratings_of(matrix, values), level)  # type: ignore[arg-type]
    assert approx(ours, reference_alpha(numeric, level))


# -- per class, per pair, multi-choice -----------------------------------------------------------


def test_per_class_agreement_by_hand() -> None:
    # u1: a a, u2: a b, u3: c c; n = 6 pairable labels.
    # a vs rest: u1 1 1, u2 1 0, u3 0 0 -> n_1 = 3, n_0 = 3, o_10 = 1: alpha = 1 - 5 * 1 / 9 = 4/9.
    # b vs rest: only u2 mixes -> n_1 = 1, n_0 = 5, o_10 = 1: alpha = 1 - 5 * 1 / 5 = 0.
    # c vs rest: n_1 = 2, n_0 = 4, no mixed item: alpha = 1. d (a schema class nobody used): None.
    rows = [("u1", "A", "a"), ("u1", "B", "a"), ("u2", "A", "a"), ("u2", "B", "b"), ("u3", "A", "c"), ("u3", "B", "c")]
    result = per_class_agreement(Ratings.from_rows(rows, classes=["d"]))
    assert list(result) == ["a", "b", "c", "d"]
    assert result["a"] == pytest.approx(4 / 9)
    assert result["b"] == pytest.approx(0.0)
    assert result["c"] == pytest.approx(1.0)
    assert result["d"] is None


@PROPERTY
@given(reliability())
def test_per_class_agreement_is_alpha_of_the_binary_recoding(matrix: Matrix) -> None:
    ratings = ratings_of(matrix)
    result = per_class_agreement(ratings)
    for k, klass in enumerate(ratings.classes):
        binary = np.where(np.isnan(matrix), np.nan, (matrix == klass).astype(float))
        assert approx(result[klass], reference_alpha(binary, "nominal")), (k, klass)
    assert set(result) == set(ratings.classes)


def test_per_pair_agreement_by_hand() -> None:
    # i1: u1 x, u2 x, u3 y; i2: u1 x, u2 y; i3: u1 y, u2 y, u3 y; i4: u4 x alone (u4 pairs with nobody).
    # (u1, u2) on i1..i3: (x,x) (x,y) (y,y): 2/3 agree; marginals (2/3, 1/3) and (1/3, 2/3): chance 4/9;
    #   kappa = (2/3 - 4/9) / (5/9) = 0.4.
    # (u1, u3) on i1, i3: (x,y) (y,y): 1/2; marginals (1/2, 1/2) and (0, 1): chance 1/2; kappa 0. Same for (u2, u3).
    rows = [("i1", "u1", "x"), ("i1", "u2", "x"), ("i1", "u3", "y"), ("i2", "u1", "x"), ("i2", "u2", "y")]
    rows += [("i3", "u1", "y"), ("i3", "u2", "y"), ("i3", "u3", "y"), ("i4", "u4", "x")]
    pairs = per_pair_agreement(Ratings.from_rows(rows))
    assert [(p.first, p.second, p.items) for p in pairs] == [("u1", "u2", 3), ("u1", "u3", 2), ("u2", "u3", 2)]
    assert pairs[0].agreement == pytest.approx(2 / 3)
    assert pairs[0].kappa == pytest.approx(0.4)
    assert [p.agreement for p in pairs[1:]] == [0.5, 0.5]
    assert [p.kappa for p in pairs[1:]] == [pytest.approx(0.0), pytest.approx(0.0)]


def test_per_pair_kappa_of_one_shared_class_is_none() -> None:
    rows = [("i1", "u1", "x"), ("i1", "u2", "x"), ("i2", "u1", "y")]
    assert per_pair_agreement(Ratings.from_rows(rows)) == [PairAgreement("u1", "u2", 1, 1.0, None)]


def test_per_pair_agreement_of_nobody_sharing_is_empty_and_duplicates_are_refused() -> None:
    assert per_pair_agreement(Ratings.from_rows([("a", "u1", "x"), ("b", "u2", "x")])) == []
    assert per_pair_agreement(Ratings.from_rows([])) == []
    with pytest.raises(ValueError, match="more than one label"):
        per_pair_agreement(Ratings.from_rows([("a", "u1", "x"), ("a", "u1", "y"), ("a", "u2", "x")]))


@PROPERTY
@given(reliability(max_annotators=5, max_items=15, max_classes=4))
def test_per_pair_agreement_matches_cohen_and_scikit_learn(matrix: Matrix) -> None:
    ratings = ratings_of(matrix)
    found = {(p.first, p.second): p for p in per_pair_agreement(ratings)}
    labels = [int(c) for c in ratings.classes]
    for a in range(matrix.shape[0]):
        for b in range(a + 1, matrix.shape[0]):
            both = ~np.isnan(matrix[a]) & ~np.isnan(matrix[b])
            key = (f"u{a:02d}", f"u{b:02d}")
            if not both.any():
                assert key not in found
                continue
            pair = found[key]
            x, y = matrix[a, both].astype(int), matrix[b, both].astype(int)
            assert pair.items == int(both.sum())
            assert pair.agreement == pytest.approx(float((x == y).mean()))
            assert approx(pair.kappa, reference_kappa(x.tolist(), y.tolist(), labels))
            two = ratings_of(matrix[[a, b]])
            assert approx(pair.kappa, cohen_kappa(two))


def test_multi_choice_agreement_by_hand() -> None:
    # i1: u1 {a, b}, u2 {a}; i2: u1 {b}, u2 {} (labeled, picked nothing); i3: u1 {a} alone (unpairable).
    # a: i1 1 1, i2 0 0 -> n_1 = 2, n_0 = 2, nothing mixed: alpha = 1.
    # b: i1 1 0, i2 1 0 -> n_1 = 2, n_0 = 2, o_10 = 1 + 1 = 2: alpha = 1 - 3 * 2 / 4 = -0.5.
    # c: picked by nobody -> None.
    rows = [("i1", "u1", ["a", "b"]), ("i1", "u2", ["a"]), ("i2", "u1", ["b"]), ("i2", "u2", []), ("i3", "u1", ["a"])]
    result = multi_choice_agreement(rows, ["c", "a", "b"])
    assert list(result) == ["a", "b", "c"]
    assert result["a"] == pytest.approx(1.0)
    assert result["b"] == pytest.approx(-0.5)
    assert result["c"] is None


def test_multi_choice_agreement_refuses_duplicates_and_strings() -> None:
    with pytest.raises(ValueError, match="more than one label"):
        multi_choice_agreement([("i", "u", ["a"]), ("i", "u", ["b"])], ["a", "b"])
    with pytest.raises(TypeError, match="collection"):
        multi_choice_agreement([("i", "u", "ab")], ["a", "b"])


@PROPERTY
@given(st.integers(2, 5), st.integers(1, 10), st.data())
def test_multi_choice_agreement_matches_the_package(n_annotators: int, n_items: int, data: st.DataObject) -> None:
    classes = ["p", "q", "r"]
    present = data.draw(st.lists(st.booleans(), min_size=n_annotators * n_items, max_size=n_annotators * n_items))
    picks = data.draw(
        st.lists(st.sets(st.sampled_from(classes)), min_size=n_annotators * n_items, max_size=n_annotators * n_items)
    )
    rows = [
        (f"i{i}", f"u{a}", sorted(picks[a * n_items + i]))
        for a in range(n_annotators)
        for i in range(n_items)
        if present[a * n_items + i]
    ]
    result = multi_choice_agreement(rows, classes)
    for klass in classes:
        binary = np.full((n_annotators, n_items), np.nan)
        for item, annotator, values in rows:
            binary[int(annotator[1:]), int(item[1:])] = float(klass in values)
        assert approx(result[klass], reference_alpha(binary, "nominal"))


# -- properties ----------------------------------------------------------------------------------

Statistic = Callable[[Ratings], float | None]
NOMINAL: dict[str, Statistic] = {
    "pairwise": pairwise_agreement,
    "alpha": krippendorff_alpha,
    "fleiss": fleiss_kappa,
    "cohen": cohen_kappa,
    "cohen_linear": lambda r: cohen_kappa(r, weights="linear"),
}


def relabelled(matrix: Matrix, items: Sequence[int], annotators: Sequence[int]) -> list[tuple[str, str, int]]:
    """The same labels under new item and annotator names (so their sorted order changes), rows reversed."""
    rows = [(f"i{items[int(i[1:])]:03d}", f"u{annotators[int(a[1:])]:02d}", v) for i, a, v in rows_of(matrix)]
    return rows[::-1]


@PROPERTY
@given(reliability(), st.data())
def test_renaming_items_and_annotators_and_reordering_rows_changes_nothing(matrix: Matrix, data: st.DataObject) -> None:
    items = data.draw(st.permutations(range(matrix.shape[1])))
    annotators = data.draw(st.permutations(range(matrix.shape[0])))
    one, other = ratings_of(matrix), Ratings.from_rows(relabelled(matrix, items, annotators))
    for name, statistic in NOMINAL.items():
        assert approx(statistic(one), statistic(other)), name
    for level in LEVELS:
        assert approx(krippendorff_alpha(one, level), krippendorff_alpha(other, level)), level  # type: ignore[arg-type]
    assert per_class_agreement(one).keys() == per_class_agreement(other).keys()
    for klass, value in per_class_agreement(one).items():
        assert approx(value, per_class_agreement(other)[klass])
    renamed = {f"u{a:02d}": f"u{annotators[a]:02d}" for a in range(matrix.shape[0])}
    mine = {frozenset((renamed[p.first], renamed[p.second])): p for p in per_pair_agreement(one)}
    theirs = {frozenset((p.first, p.second)): p for p in per_pair_agreement(other)}
    assert mine.keys() == theirs.keys()
    for key, pair in mine.items():
        assert (pair.items, pair.agreement) == (theirs[key].items, pytest.approx(theirs[key].agreement))
        assert approx(pair.kappa, theirs[key].kappa)


@PROPERTY
@given(reliability(), st.data())
def test_nominal_statistics_ignore_what_the_classes_are_called(matrix: Matrix, data: st.DataObject) -> None:
    names = data.draw(st.permutations(["w", "x", "y", "z"]))
    one, other = ratings_of(matrix), ratings_of(matrix, names)
    for name in ("pairwise", "alpha", "fleiss", "cohen"):
        assert approx(NOMINAL[name](one), NOMINAL[name](other)), name


@PROPERTY
@given(reliability())
def test_levels_are_invariant_under_their_admissible_transformations(matrix: Matrix) -> None:
    base = ratings_of(matrix, [1, 2, 3, 4])
    # ordinal: any order-preserving map; interval: affine; ratio: scaling.
    for level, mapped in (("ordinal", [1, 8, 27, 64]), ("interval", [8, 11, 14, 17]), ("ratio", [2.5, 5.0, 7.5, 10.0])):
        moved = ratings_of(matrix, mapped)
        assert approx(krippendorff_alpha(base, level), krippendorff_alpha(moved, level)), level  # type: ignore[arg-type]


@PROPERTY
@given(reliability(max_items=15), st.data())
def test_perfect_agreement_gives_one(matrix: Matrix, data: st.DataObject) -> None:
    # Every annotator who labels an item gives it that item's one class.
    truth = np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=matrix.shape[1], max_size=matrix.shape[1])))
    perfect = np.where(np.isnan(matrix), np.nan, truth[None, :].astype(float))
    ratings = ratings_of(perfect)
    pairable = (~np.isnan(perfect)).sum(axis=0) >= 2
    assume(pairable.any())
    assert pairwise_agreement(ratings) == 1.0
    varied = np.unique(truth[pairable]).size >= 2
    for level in LEVELS:
        alpha = krippendorff_alpha(ratings, level)  # type: ignore[arg-type]
        assert (alpha == pytest.approx(1.0)) if varied else alpha is None
    fleiss = fleiss_kappa(ratings)
    assert fleiss is None or fleiss == pytest.approx(1.0)
    for pair in per_pair_agreement(ratings):
        assert pair.agreement == 1.0
        assert pair.kappa is None or pair.kappa == pytest.approx(1.0)


@PROPERTY
@given(reliability())
def test_bounds(matrix: Matrix) -> None:
    ratings = ratings_of(matrix)
    pairwise = pairwise_agreement(ratings)
    assert pairwise is None or 0.0 <= pairwise <= 1.0
    for level in LEVELS:
        alpha = krippendorff_alpha(ratings, level)  # type: ignore[arg-type]
        assert alpha is None or alpha <= 1.0 + 1e-12
    for value in (fleiss_kappa(ratings), cohen_kappa(ratings), *per_class_agreement(ratings).values()):
        assert value is None or value <= 1.0 + 1e-12
    for pair in per_pair_agreement(ratings):
        assert 0.0 <= pair.agreement <= 1.0
        assert pair.kappa is None or -1.0 - 1e-12 <= pair.kappa <= 1.0 + 1e-12
