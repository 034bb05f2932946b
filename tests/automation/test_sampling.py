"""Active-learning scores and orderings (app/automation/sampling.py) on hand-made probability matrices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from app.automation.sampling import (
    Strategy,
    diverse_order,
    entropy,
    least_confidence,
    margin,
    uncertainty,
    uncertainty_order,
)

# Three items on which the three scores disagree:
#   item 0: sure of class 0                LC 0.1   margin score 1 - 0.85 = 0.15   entropy low
#   item 1: spread over three classes      LC 0.6   margin score 1 - 0.1 = 0.9     entropy highest
#   item 2: torn between two classes       LC 0.5   margin score 1 - 0 = 1.0       entropy = log 2 / log 3
PROBA = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.5, 0.5, 0.0]])


def test_least_confidence_puts_the_lowest_top_probability_first() -> None:
    np.testing.assert_allclose(least_confidence(PROBA), [0.1, 0.6, 0.5])
    assert uncertainty_order(PROBA, Strategy.LEAST_CONFIDENCE).tolist() == [1, 2, 0]


def test_margin_puts_the_closest_two_classes_first() -> None:
    np.testing.assert_allclose(margin(PROBA), [0.15, 0.9, 1.0])
    assert uncertainty_order(PROBA, Strategy.MARGIN).tolist() == [2, 1, 0]


def test_entropy_is_normalised_and_puts_the_flattest_row_first() -> None:
    h = entropy(PROBA)
    expected_1 = -(0.4 * np.log(0.4) + 2 * 0.3 * np.log(0.3)) / np.log(3)
    assert h[1] == pytest.approx(expected_1)
    assert h[2] == pytest.approx(np.log(2) / np.log(3))  # the zero column counts 0 log 0 = 0
    assert uncertainty_order(PROBA, Strategy.ENTROPY).tolist() == [1, 2, 0]
    np.testing.assert_allclose(entropy([[1 / 3] * 3, [1.0, 0.0, 0.0]]), [1.0, 0.0], atol=1e-12)


def test_scores_lie_in_the_unit_interval_and_ties_keep_index_order() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=200)
    for strategy in Strategy:
        s = uncertainty(p, strategy)
        assert ((s >= 0) & (s <= 1)).all()
    same = np.array([[0.5, 0.5], [0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    for strategy in Strategy:
        assert uncertainty_order(same, strategy).tolist() == [0, 2, 3, 1]


def test_bad_probability_matrices_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        margin([[0.5, 0.6]])
    with pytest.raises(ValueError, match="non-negative"):
        entropy([[1.5, -0.5]])
    with pytest.raises(ValueError, match="2-D"):
        least_confidence([0.5, 0.5])


def clusters() -> tuple[np.ndarray, np.ndarray]:
    """Ten items: 0-5 near-duplicates in one direction and the most uncertain; 6-9 in two other
    directions, a little less uncertain."""
    proba = np.array(
        [[0.5, 0.5]] * 3 + [[0.52, 0.48]] * 3 + [[0.6, 0.4]] * 2 + [[0.65, 0.35]] * 2,
    )
    features = np.array(
        [[1.0, 0.0, 0.0]] * 3
        + [[0.99, 0.01, 0.0]] * 3
        + [[0.0, 1.0, 0.0], [0.0, 0.98, 0.02]]
        + [[0.0, 0.0, 1.0], [0.02, 0.0, 0.98]]
    )
    return proba, features


def test_diverse_order_spreads_the_batch_over_the_feature_space() -> None:
    proba, features = clusters()
    plain = uncertainty_order(proba, Strategy.MARGIN)
    assert plain[:3].tolist() == [0, 1, 2]  # plain uncertainty: three copies of the same thing
    order = diverse_order(proba, features, batch=3, strategy=Strategy.MARGIN)
    # The most uncertain item first, then one from each other direction.
    assert order[:3].tolist() == [0, 6, 8]
    # A permutation of every item; after the batch, uncertainty order.
    assert sorted(order.tolist()) == list(range(10))
    assert order[3:].tolist() == [i for i in plain.tolist() if i not in (0, 6, 8)]


def test_diverse_order_reads_sparse_features_as_dense_ones() -> None:
    proba, features = clusters()
    dense = diverse_order(proba, features, batch=4)
    assert diverse_order(proba, sparse.csr_matrix(features), batch=4).tolist() == dense.tolist()
    # Rows are compared by direction, not length.
    assert diverse_order(proba, features * np.arange(1, 11)[:, None], batch=4).tolist() == dense.tolist()


def test_diverse_order_weighs_uncertainty_against_distance() -> None:
    # Item 1 is close to item 0 (cosine distance 1 - 0.8 = 0.2) and torn (margin score 1): gain 0.2.
    # Item 2 points elsewhere (distance 1): its gain is its uncertainty.
    features = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    fairly_unsure = np.array([[0.5, 0.5], [0.5, 0.5], [0.7, 0.3]])  # item 2: 0.6 > 0.2
    assert uncertainty_order(fairly_unsure, Strategy.MARGIN).tolist() == [0, 1, 2]
    assert diverse_order(fairly_unsure, features, batch=2).tolist() == [0, 2, 1]
    nearly_sure = np.array([[0.5, 0.5], [0.5, 0.5], [0.95, 0.05]])  # item 2: 0.1 < 0.2
    assert diverse_order(nearly_sure, features, batch=2).tolist() == [0, 1, 2]


def test_diverse_order_with_a_batch_of_one_or_a_small_pool_is_uncertainty_order() -> None:
    proba, features = clusters()
    plain = uncertainty_order(proba, Strategy.ENTROPY).tolist()
    assert diverse_order(proba, features, batch=1, strategy=Strategy.ENTROPY).tolist() == plain
    # With a pool of the 3 most uncertain only, the picks come from the first cluster.
    assert diverse_order(proba, features, batch=2, pool=3).tolist()[:2] == [0, 1]
    with pytest.raises(ValueError, match="rows"):
        diverse_order(proba, features[:5], batch=2)
