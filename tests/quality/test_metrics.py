"""Quality metrics (app/quality/metrics.py): confusion matrices, precision/recall/F1, annotator
accuracy against a reference, label distributions and the Jensen-Shannon divergence.

Hand-computed cases (arithmetic in the comments), scikit-learn and scipy as oracles, and
properties of the divergence (symmetric, in [0, 1], 0 exactly for equal distributions).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import confusion_matrix as sklearn_confusion
from sklearn.metrics import precision_recall_fscore_support

from app.quality.metrics import (
    Average,
    annotator_accuracy,
    confusion_matrix,
    jensen_shannon,
    label_distribution,
    precision_recall_f1,
)
from app.quality.ratings import IntArray, Ratings

PROPERTY = settings(database=None, deadline=None, max_examples=200)


def ints(values: list[int] | list[list[int]]) -> IntArray:
    return np.asarray(values, dtype=np.intp)


# -- confusion matrix and precision / recall / F1 ------------------------------------------------


def test_confusion_matrix_by_hand() -> None:
    # (truth, predicted): (0,0) (0,1) (1,1) (2,1) (2,2) (2,2)
    cm = confusion_matrix(ints([0, 0, 1, 2, 2, 2]), ints([0, 1, 1, 1, 2, 2]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 2]]
    assert confusion_matrix(ints([]), ints([]), 2).tolist() == [[0, 0], [0, 0]]


def test_confusion_matrix_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="length"):
        confusion_matrix(ints([0, 1]), ints([0]), 2)
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(ints([0, 2]), ints([0, 1]), 2)
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(ints([0, -1]), ints([0, 1]), 2)


def test_precision_recall_f1_by_hand() -> None:
    # cm rows truth: [[1,1,0],[0,1,0],[0,1,2]] (the case above), plus class 3 that nobody has or predicts.
    # class 0: tp 1, predicted 1, support 2 -> p 1, r 1/2, f1 2/3
    # class 1: tp 1, predicted 3, support 1 -> p 1/3, r 1, f1 = 2 * 1 / (3 + 1) = 1/2
    # class 2: tp 2, predicted 2, support 3 -> p 1, r 2/3, f1 = 4 / 5
    # class 3: nothing -> 0, 0, 0 (zero division -> 0)
    cm = ints([[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 2, 0], [0, 0, 0, 0]])
    report = precision_recall_f1(cm)
    assert report.precision.tolist() == pytest.approx([1, 1 / 3, 1, 0])
    assert report.recall.tolist() == pytest.approx([0.5, 1, 2 / 3, 0])
    assert report.f1.tolist() == pytest.approx([2 / 3, 0.5, 0.8, 0])
    assert report.support.tolist() == [2, 1, 3, 0]
    # macro over all four classes; micro = accuracy 4/6; weighted by support 2, 1, 3 (of 6).
    assert report.macro.precision == pytest.approx((1 + 1 / 3 + 1) / 4)
    assert report.micro == Average(pytest.approx(4 / 6), pytest.approx(4 / 6), pytest.approx(4 / 6))
    assert report.weighted.f1 == pytest.approx((2 * 2 / 3 + 1 * 0.5 + 3 * 0.8) / 6)


def test_empty_confusion_matrix_reports_zeros() -> None:
    report = precision_recall_f1(np.zeros((3, 3), dtype=np.intp))
    assert report.f1.tolist() == [0.0, 0.0, 0.0]
    assert report.macro == report.micro == report.weighted == Average(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="square"):
        precision_recall_f1(np.zeros((2, 3), dtype=np.intp))


@PROPERTY
@given(st.integers(1, 5), st.data())
def test_precision_recall_f1_matches_scikit_learn(n_classes: int, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 40))
    truth = ints(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=size, max_size=size)))
    predicted = ints(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=size, max_size=size)))
    cm = confusion_matrix(truth, predicted, n_classes)
    labels = list(range(n_classes))
    report = precision_recall_f1(cm)
    with warnings.catch_warnings():
        # scikit-learn warns about a single label and undefined ratios; the figures are what we compare.
        warnings.simplefilter("ignore")
        assert np.array_equal(cm, sklearn_confusion(truth, predicted, labels=labels))
        p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
        averages = {
            name: precision_recall_fscore_support(truth, predicted, labels=labels, average=name, zero_division=0)[:3]
            for name in ("macro", "micro", "weighted")
        }
    assert report.precision == pytest.approx(p)
    assert report.recall == pytest.approx(r)
    assert report.f1 == pytest.approx(f)
    assert report.support.tolist() == s.tolist()
    for name, expected in averages.items():
        ours = getattr(report, name)
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx(tuple(float(x) for x in expected)), name


# -- annotator accuracy --------------------------------------------------------------------------


def test_annotator_accuracy_by_hand() -> None:
    # Items a, b, c with reference x, y, none (-1). u1: a x, b x, c y -> compared a, b: 1 of 2 correct.
    # u2: a x -> 1 of 1. u3: c y only (no reference there) -> nothing compared, accuracy None.
    rows = [("a", "u1", "x"), ("b", "u1", "x"), ("c", "u1", "y"), ("a", "u2", "x"), ("c", "u3", "y")]
    ratings = Ratings.from_rows(rows)
    result = annotator_accuracy(ratings, ints([0, 1, -1]))
    assert result.annotator_ids == ("u1", "u2", "u3")
    assert result.compared.tolist() == [2, 1, 0]
    assert result.correct.tolist() == [1, 1, 0]
    assert result.accuracy == (0.5, 1.0, None)
    # u1's matrix: reference x -> gave x once; reference y -> gave x once.
    assert result.confusion.shape == (3, 2, 2)
    assert result.confusion[0].tolist() == [[1, 0], [1, 0]]
    assert result.confusion[2].tolist() == [[0, 0], [0, 0]]


def test_annotator_accuracy_refuses_a_bad_reference() -> None:
    ratings = Ratings.from_rows([("a", "u1", "x"), ("b", "u1", "y")])
    with pytest.raises(ValueError, match="per item"):
        annotator_accuracy(ratings, ints([0]))
    with pytest.raises(ValueError, match="outside"):
        annotator_accuracy(ratings, ints([0, 2]))
    with pytest.raises(ValueError, match="outside"):
        annotator_accuracy(ratings, ints([-2, 0]))


@PROPERTY
@given(st.integers(1, 4), st.integers(1, 4), st.data())
def test_annotator_accuracy_agrees_with_its_confusion_matrices(
    n_annotators: int, n_classes: int, data: st.DataObject
) -> None:
    n_items = data.draw(st.integers(1, 10))
    rows = [
        (i, a, data.draw(st.integers(0, n_classes - 1)))
        for i in range(n_items)
        for a in range(n_annotators)
        if data.draw(st.booleans())
    ]
    ratings = Ratings.from_rows(rows, classes=range(n_classes))
    reference = ints(
        data.draw(st.lists(st.integers(-1, n_classes - 1), min_size=ratings.n_items, max_size=ratings.n_items))
    )
    result = annotator_accuracy(ratings, reference)
    for a in range(ratings.n_annotators):
        mine = [
            (reference[i], v) for i, u, v in zip(ratings.item, ratings.annotator, ratings.value, strict=True) if u == a
        ]
        compared = [(t, v) for t, v in mine if t >= 0]
        assert result.compared[a] == len(compared)
        assert result.correct[a] == sum(t == v for t, v in compared)
        assert result.accuracy[a] == (sum(t == v for t, v in compared) / len(compared) if compared else None)
        truth = ints([t for t, _ in compared])
        given_ = ints([v for _, v in compared])
        assert np.array_equal(result.confusion[a], confusion_matrix(truth, given_, n_classes))


# -- distributions and the Jensen-Shannon divergence ---------------------------------------------


def test_label_distribution() -> None:
    assert label_distribution(ints([0, 2, 2, 2]), 4).tolist() == [0.25, 0.0, 0.75, 0.0]
    assert label_distribution(ints([]), 3).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="outside"):
        label_distribution(ints([3]), 3)


def test_jensen_shannon_by_hand() -> None:
    # Disjoint supports: the maximum, 1 bit.
    assert jensen_shannon([1, 0], [0, 1]) == 1.0
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4):
    # KL(p||m) = log2(4/3) = 0.415037; KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2) = -0.292481 + 0.5 = 0.207519.
    # JSD = (0.415037 + 0.207519) / 2 = 0.311278
    assert jensen_shannon([1, 0], [0.5, 0.5]) == pytest.approx(0.311278, abs=1e-6)
    # Weights are normalised first: counts work as well as shares.
    assert jensen_shannon([2, 0], [3, 3]) == pytest.approx(jensen_shannon([1, 0], [0.5, 0.5]))
    assert jensen_shannon([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_jensen_shannon_refuses_what_is_no_distribution() -> None:
    with pytest.raises(ValueError, match="same length"):
        jensen_shannon([1, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        jensen_shannon([1, -1], [1, 0])
    with pytest.raises(ValueError, match="non-negative"):
        jensen_shannon([1, math.inf], [1, 0])
    with pytest.raises(ValueError, match="mass"):
        jensen_shannon([0, 0], [1, 0])


def counts(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, 20), min_size=n, max_size=n).filter(lambda w: sum(w) > 0)


@PROPERTY
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(counts(n), counts(n))))
def test_jensen_shannon_properties(pair: tuple[list[int], list[int]]) -> None:
    p, q = pair
    value = jensen_shannon(p, q)
    assert 0.0 <= value <= 1.0
    assert value == jensen_shannon(q, p)
    assert value == pytest.approx(float(jensenshannon(p, q, base=2)) ** 2, abs=1e-12)
    # Equal as distributions: p_i / sum(p) == q_i / sum(q) for all i, checked exactly on the integers.
    same = all(x * sum(q) == y * sum(p) for x, y in zip(p, q, strict=True))
    assert (value == 0.0) == same
    assert jensen_shannon(p, p) == 0.0
