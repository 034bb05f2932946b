"""Aggregation (app/quality/aggregation.py): hand-computed votes, Dawid-Skene against crowd-kit, properties.

crowd-kit's DawidSkene is the oracle for Dawid-Skene: same initialisation (majority-vote
fractions), same 1e-10 floors and the same stopping rule, so the two should stop at the same
iteration with the same posteriors. With known truths it is the oracle too (its `true_labels`),
where it means the same thing: known items counted in the prior (`known_in_prior=True`).
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene
from hypothesis import given, settings
from hypothesis import strategies as st

from app.quality.aggregation import (
    Aggregate,
    dawid_skene,
    dawid_skene_with_known,
    item_posterior,
    log_likelihood,
    majority_vote,
    smoothed_confusion,
    weighted_vote,
)
from app.quality.ratings import Ratings
from bench.crowd import Crowd, make_crowd

# ---------------------------------------------------------------------------------------------
# Majority vote


def test_majority_ties_go_to_the_class_that_sorts_first() -> None:
    # Classes sort as numbers: (9, 10), so 9 is index 0 and wins the 1-1 tie of item "a".
    ratings = Ratings.from_rows([("a", "u1", 10), ("a", "u2", 9), ("b", "u1", 10), ("b", "u2", 10), ("b", "u3", 9)])
    assert ratings.classes == (9, 10)
    result = majority_vote(ratings)
    assert result.label.tolist() == [0, 1]
    # a: 1 of 2 labels hold the winner; b: 2 of 3.
    assert result.confidence.tolist() == pytest.approx([0.5, 2 / 3])
    np.testing.assert_allclose(result.posterior, [[0.5, 0.5], [1 / 3, 2 / 3]])
    assert result.confusion is None
    assert result.prior is None
    assert result.annotator_accuracy_estimate() is None


def test_majority_three_way_tie_and_strings() -> None:
    # One vote each for "x", "y", "z": the first in string order wins with a third of the votes.
    result = majority_vote(Ratings.from_rows([("i", "u1", "z"), ("i", "u2", "x"), ("i", "u3", "y")]))
    assert result.label.tolist() == [0]
    assert result.confidence.tolist() == pytest.approx([1 / 3])


def test_majority_item_without_labels_is_uniform_with_zero_confidence() -> None:
    ratings = Ratings(
        item=np.array([0, 0], dtype=np.intp),
        annotator=np.array([0, 1], dtype=np.intp),
        value=np.array([1, 1], dtype=np.intp),
        item_ids=("a", "b"),
        annotator_ids=("u1", "u2"),
        classes=("neg", "pos"),
    )
    result = majority_vote(ratings)
    assert result.label.tolist() == [1, 0]
    assert result.confidence.tolist() == [1.0, 0.0]
    assert result.posterior.tolist() == [[0.0, 1.0], [0.5, 0.5]]


def test_empty_ratings_give_empty_aggregates() -> None:
    empty = Ratings.from_rows([])
    for result in (majority_vote(empty), weighted_vote(empty, np.zeros(0)), dawid_skene(empty)):
        assert result.label.shape == (0,)
        assert result.confidence.shape == (0,)
        assert result.posterior.shape == (0, 0)
    assert dawid_skene(empty).iterations == 0


# ---------------------------------------------------------------------------------------------
# Weighted vote


def test_one_reliable_annotator_outvotes_two_at_chance() -> None:
    # K = 3, so chance is 1/3 and weighs log(2) + log((1/3) / (2/3)) = 0.
    # The reliable one (p = 0.9) weighs log(2) + log(0.9 / 0.1) = log(18).
    # Scores: A = log 18, B = 0 + 0, C = 0 -> softmax = (18, 1, 1) / 20 = (0.9, 0.05, 0.05).
    rows = [("i", "ace", "A"), ("i", "c1", "B"), ("i", "c2", "B"), ("j", "ace", "C")]
    ratings = Ratings.from_rows(rows, classes=["A", "B", "C"])
    assert ratings.annotator_ids == ("ace", "c1", "c2")
    result = weighted_vote(ratings, np.array([0.9, 1 / 3, 1 / 3]))
    assert majority_vote(ratings).label.tolist()[0] == 1  # the two outvote it by count
    assert result.label.tolist() == [0, 2]
    assert result.posterior[0].tolist() == pytest.approx([0.9, 0.05, 0.05])
    assert result.confidence[0] == pytest.approx(0.9)


def test_one_reliable_annotator_outvotes_two_just_above_chance() -> None:
    # Two at p = 0.4 each weigh log(2 * 0.4 / 0.6) = log(4/3): B = log(16/9); A = log 18.
    # Softmax: A = 18 / (18 + 16/9 + 1) = 162 / 187, B = (16/9) / (187/9) = 16 / 187, C = 9 / 187.
    rows = [("i", "ace", "A"), ("i", "c1", "B"), ("i", "c2", "B")]
    ratings = Ratings.from_rows(rows, classes=["A", "B", "C"])
    result = weighted_vote(ratings, np.array([0.9, 0.4, 0.4]))
    assert result.label.tolist() == [0]
    assert result.posterior[0].tolist() == pytest.approx([162 / 187, 16 / 187, 9 / 187])


def test_an_annotator_at_chance_changes_nothing() -> None:
    base = [("i", "u1", "A"), ("i", "u2", "B"), ("j", "u1", "B"), ("j", "u2", "B"), ("k", "u2", "C")]
    noise = [("i", "zz", "C"), ("j", "zz", "A"), ("k", "zz", "A")]
    without = weighted_vote(Ratings.from_rows(base), np.array([0.8, 0.6]))
    # zz sorts last; with K = 3 its weight at p = 1/3 is 0.
    with_chance = weighted_vote(Ratings.from_rows(base + noise), np.array([0.8, 0.6, 1 / 3]))
    assert with_chance.label.tolist() == without.label.tolist()
    np.testing.assert_allclose(with_chance.posterior, without.posterior, atol=1e-15)
    np.testing.assert_allclose(with_chance.confidence, without.confidence, atol=1e-15)


def test_weighted_vote_ties_go_to_the_smallest_class() -> None:
    # Two annotators of equal reliability disagree: equal scores, the class that sorts first wins.
    ratings = Ratings.from_rows([("i", "u1", "B"), ("i", "u2", "A")])
    result = weighted_vote(ratings, np.array([0.7, 0.7]))
    assert result.label.tolist() == [0]
    assert result.posterior[0].tolist() == pytest.approx([0.5, 0.5])


def test_weighted_vote_below_chance_counts_against_its_class() -> None:
    # K = 2: p = 0.1 weighs log(0.1 / 0.9) = -log 9, so its "A" is evidence for B: posterior (0.1, 0.9).
    result = weighted_vote(Ratings.from_rows([("i", "u", "A")], classes=["B"]), np.array([0.1]))
    assert result.label.tolist() == [1]
    assert result.posterior[0].tolist() == pytest.approx([0.1, 0.9])


def test_weighted_vote_refuses_bad_reliabilities() -> None:
    ratings = Ratings.from_rows([("i", "u1", "A"), ("i", "u2", "B")])
    with pytest.raises(ValueError, match="one value per annotator"):
        weighted_vote(ratings, np.array([0.5]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        weighted_vote(ratings, np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        weighted_vote(ratings, np.array([0.5, np.nan]))


# ---------------------------------------------------------------------------------------------
# Dawid-Skene against crowd-kit


@cache
def _crowd(n_items: int, n_classes: int = 10, per_item: int = 5, seed: int = 7) -> Crowd:
    return make_crowd(n_items=n_items, per_item=per_item, n_classes=n_classes, seed=seed)


def _crowd_kit(ratings: Ratings, true_labels: pd.Series | None = None, **options: Any) -> DawidSkene:
    frame = pd.DataFrame({"task": ratings.item, "worker": ratings.annotator, "label": ratings.value})
    model = DawidSkene(**options)
    with warnings.catch_warnings():
        # crowd-kit 1.4 still passes `inplace=`/`copy=` to pandas 3, which warns on each call.
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        model.fit(frame, true_labels=true_labels)
    return model


def _their_arrays(model: DawidSkene, ratings: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """crowd-kit's probas, errors and priors in our layout (its columns follow first appearance)."""
    classes = list(range(ratings.n_classes))
    probas = model.probas_.sort_index()[classes].to_numpy()
    errors = model.errors_.sort_index()[classes].to_numpy()  # rows (worker, given), columns true
    k = ratings.n_classes
    confusion = errors.reshape(ratings.n_annotators, k, k).transpose(0, 2, 1)
    return probas, confusion, model.priors_.sort_index().to_numpy()


@pytest.mark.parametrize(
    ("n_items", "n_classes", "per_item", "seed"), [(2000, 10, 5, 7), (2000, 3, 3, 11), (1500, 4, 7, 3)]
)
def test_dawid_skene_matches_crowd_kit_with_its_stopping_rule(
    n_items: int, n_classes: int, per_item: int, seed: int
) -> None:
    crowd = _crowd(n_items, n_classes, per_item, seed)
    ours = dawid_skene(crowd.ratings, max_iter=100, tol=1e-5)
    theirs = _crowd_kit(crowd.ratings, n_iter=100, tol=1e-5)
    probas, confusion, prior = _their_arrays(theirs, crowd.ratings)
    assert ours.converged
    assert ours.iterations == len(theirs.loss_history_)
    assert np.mean(ours.label == probas.argmax(axis=1)) >= 0.999
    # crowd-kit clips its returned probas at 1e-10 without renormalising: that is the 1e-10 here.
    np.testing.assert_allclose(ours.posterior, probas, atol=1e-6)
    np.testing.assert_allclose(ours.confusion, confusion, atol=1e-6)
    np.testing.assert_allclose(ours.prior, prior, atol=1e-9)


def test_dawid_skene_matches_crowd_kit_over_a_fixed_number_of_iterations() -> None:
    # tol = -inf: the rule `new - old < tol` never fires, so both run exactly max_iter passes.
    crowd = _crowd(2000)
    ours = dawid_skene(crowd.ratings, max_iter=40, tol=-np.inf)
    theirs = _crowd_kit(crowd.ratings, n_iter=40, tol=-np.inf)
    probas, confusion, _ = _their_arrays(theirs, crowd.ratings)
    assert (ours.iterations, ours.converged) == (40, False)
    assert len(theirs.loss_history_) == 40
    assert np.mean(ours.label == probas.argmax(axis=1)) >= 0.999
    np.testing.assert_allclose(ours.posterior, probas, atol=1e-6)
    np.testing.assert_allclose(ours.confusion, confusion, atol=1e-6)


def test_dawid_skene_finds_the_spammers_and_the_biased_annotators() -> None:
    crowd = _crowd(20_000)  # 2,000 labels per annotator, ~200 per true class: rows settle to ~0.02
    result = dawid_skene(crowd.ratings)
    assert result.confusion is not None
    skill = np.asarray(crowd.skill)
    accuracy = result.annotator_accuracy_estimate()
    assert accuracy is not None
    # A spammer answers uniformly whatever the truth: every row near (0.1, ..., 0.1), accuracy ~ 1/K.
    spammers = result.confusion[skill == "spammer"]
    row_distance = 0.5 * np.abs(spammers - 0.1).sum(axis=2)  # total variation from uniform
    assert row_distance.mean(axis=1).max() < 0.15
    np.testing.assert_allclose(accuracy[skill == "spammer"], 0.1, atol=0.03)
    # Good annotators (right 90% + 10%/10 by chance = 91%) are far from uniform.
    assert (0.5 * np.abs(result.confusion[skill == "good"] - 0.1).sum(axis=2)).mean() > 0.7
    np.testing.assert_allclose(accuracy[skill == "good"], 0.91, atol=0.03)
    # A biased annotator is right half the time and answers class 0 otherwise: P(0 | true c) = 0.5 for
    # c != 0, P(0 | 0) = 1; so column 0 is 0.5 off the first row, which nobody else's is.
    biased = result.confusion[skill == "biased"]
    np.testing.assert_allclose(biased[:, 1:, 0].mean(axis=1), 0.5, atol=0.05)
    assert biased[:, 0, 0].min() > 0.9
    assert result.confusion[skill == "good"][:, 1:, 0].mean(axis=1).max() < 0.05


def test_dawid_skene_beats_majority_vote_on_the_mixed_crowd() -> None:
    crowd = _crowd(2000)
    majority = np.mean(majority_vote(crowd.ratings).label == crowd.truth)
    learned = np.mean(dawid_skene(crowd.ratings).label == crowd.truth)
    assert learned > majority + 0.05  # about 0.94 against 0.85


def test_dawid_skene_starts_from_a_given_aggregate() -> None:
    crowd = _crowd(2000)
    first = dawid_skene(crowd.ratings)
    accuracy = first.annotator_accuracy_estimate()
    assert accuracy is not None
    start = weighted_vote(crowd.ratings, accuracy)
    np.testing.assert_array_equal(dawid_skene(crowd.ratings, init=start, max_iter=0).posterior, start.posterior)
    # EM from elsewhere may stop at a slightly different point, about as good against the truth.
    warm = dawid_skene(crowd.ratings, init=start)
    assert np.mean(warm.label == first.label) > 0.98
    assert abs(np.mean(warm.label == crowd.truth) - np.mean(first.label == crowd.truth)) < 0.01
    with pytest.raises(ValueError, match="items x classes"):
        dawid_skene(crowd.ratings, init=majority_vote(_crowd(100).ratings))
    with pytest.raises(ValueError, match="max_iter"):
        dawid_skene(crowd.ratings, max_iter=-1)


def test_dawid_skene_with_no_iterations_returns_its_start() -> None:
    ratings = Ratings.from_rows([("i", "u1", "A"), ("i", "u2", "B"), ("j", "u1", "B"), ("j", "u2", "B")])
    result = dawid_skene(ratings, max_iter=0)
    assert (result.iterations, result.converged) == (0, False)
    np.testing.assert_array_equal(result.posterior, majority_vote(ratings).posterior)


def test_dawid_skene_with_one_annotator_keeps_its_labels() -> None:
    ratings = Ratings.from_rows([(f"i{n}", "u", "ABC"[n % 3]) for n in range(9)])
    result = dawid_skene(ratings)
    assert result.label.tolist() == ratings.value.tolist()
    assert result.confidence.min() > 0.999


def test_dawid_skene_item_without_labels_gets_the_prior_and_idle_annotator_a_uniform_confusion() -> None:
    ratings = Ratings(
        item=np.array([0, 0, 1, 1], dtype=np.intp),
        annotator=np.array([0, 1, 0, 1], dtype=np.intp),
        value=np.array([0, 0, 1, 1], dtype=np.intp),
        item_ids=("a", "b", "c"),
        annotator_ids=("u1", "u2", "idle"),
        classes=("neg", "pos"),
    )
    result = dawid_skene(ratings, max_iter=5, tol=-np.inf)
    before = dawid_skene(ratings, max_iter=4, tol=-np.inf)  # the prior the last E-step used
    assert before.prior is not None
    assert result.confusion is not None
    np.testing.assert_allclose(result.posterior[2], before.prior, atol=1e-12)
    np.testing.assert_allclose(result.confusion[2], 0.5)


# ---------------------------------------------------------------------------------------------
# The online step


def _labels_of(ratings: Ratings, item: int) -> tuple[np.ndarray, np.ndarray]:
    mine = ratings.item == item
    return ratings.annotator[mine], ratings.value[mine]


def test_item_posterior_is_the_next_e_step_row() -> None:
    # Run n passes, then n + 1: the last E-step of the second uses the first's confusion and prior.
    crowd = _crowd(2000)
    fitted = dawid_skene(crowd.ratings, max_iter=6, tol=-np.inf)
    following = dawid_skene(crowd.ratings, max_iter=7, tol=-np.inf)
    assert fitted.confusion is not None
    assert fitted.prior is not None
    for item in range(0, 2000, 37):
        annotators, values = _labels_of(crowd.ratings, item)
        online = item_posterior(annotators, values, fitted.confusion, fitted.prior)
        np.testing.assert_allclose(online, following.posterior[item], rtol=1e-10, atol=1e-14)


def test_item_posterior_by_hand() -> None:
    # Two annotators, K = 2, prior (0.5, 0.5). u0 gives class 1: P(1 | 0) = 0.2, P(1 | 1) = 0.9.
    # u1 gives class 1: P(1 | 0) = 0.5, P(1 | 1) = 0.5 (uninformative).
    # Joint: class 0 = 0.5 * 0.2 * 0.5 = 0.05; class 1 = 0.5 * 0.9 * 0.5 = 0.225 -> (2/11, 9/11).
    confusion = np.array([[[0.8, 0.2], [0.1, 0.9]], [[0.5, 0.5], [0.5, 0.5]]])
    prior = np.array([0.5, 0.5])
    posterior = item_posterior(np.array([0, 1]), np.array([1, 1]), confusion, prior)
    assert posterior.tolist() == pytest.approx([2 / 11, 9 / 11])
    # No labels: the prior itself.
    assert item_posterior(np.array([], dtype=np.intp), np.array([], dtype=np.intp), confusion, prior).tolist() == [
        0.5,
        0.5,
    ]
    # A zero cell does not make NaN: P(1 | 0) = 0 makes class 0 (almost) impossible.
    certain = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    assert item_posterior(np.array([0]), np.array([1]), certain, prior).tolist() == pytest.approx([0.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        item_posterior(np.array([0]), np.array([1, 1]), confusion, prior)
    with pytest.raises(ValueError, match="out of range"):
        item_posterior(np.array([2]), np.array([1]), confusion, prior)
    with pytest.raises(ValueError, match="annotators x K x K"):
        item_posterior(np.array([0]), np.array([1]), confusion, np.array([1.0]))


def test_an_item_with_many_improbable_labels_does_not_underflow() -> None:
    # 400 annotators agree on 20 items (classes 0..3) and split 4 ways on item "x". Whatever class x
    # is, 300 of its labels disagree with it, each at P(l | c) <= 1/6 (x's own mass over 5 + 1 items),
    # so its log joint is below 300 * log(1/6) = -537 in every class (about -915 here): exp underflows
    # to 0/0 unless the row is shifted by its maximum.
    rows = [(f"i{n:02d}", f"u{a:03d}", n % 4) for n in range(20) for a in range(400)]
    rows += [("x", f"u{a:03d}", a % 4) for a in range(400)]
    ratings = Ratings.from_rows(rows)
    fitted = dawid_skene(ratings, max_iter=3, tol=-np.inf)
    following = dawid_skene(ratings, max_iter=4, tol=-np.inf)
    x = ratings.item_ids.index("x")
    assert fitted.confusion is not None
    assert fitted.prior is not None
    assert np.isfinite(following.posterior).all()
    assert following.posterior[x].sum() == pytest.approx(1.0)
    annotators, values = _labels_of(ratings, x)
    online = item_posterior(annotators, values, fitted.confusion, fitted.prior)
    np.testing.assert_allclose(online, following.posterior[x], rtol=1e-9, atol=1e-14)


def test_annotator_accuracy_estimate_is_prior_weighted_diagonal() -> None:
    # prior (0.25, 0.75); diagonals (0.8, 0.6) and (0.5, 0.5): 0.25*0.8 + 0.75*0.6 = 0.65 and 0.5.
    confusion = np.array([[[0.8, 0.2], [0.4, 0.6]], [[0.5, 0.5], [0.5, 0.5]]])
    result = Aggregate(
        label=np.zeros(0, dtype=np.intp),
        confidence=np.zeros(0),
        posterior=np.zeros((0, 2)),
        confusion=confusion,
        prior=np.array([0.25, 0.75]),
    )
    estimate = result.annotator_accuracy_estimate()
    assert estimate is not None
    assert estimate.tolist() == pytest.approx([0.65, 0.5])


def test_smoothed_confusion_adds_pseudo_labels_to_every_cell() -> None:
    # u1 labels a (class x) and b (class y), u2 agrees on a only; with a one-hot posterior u1's
    # row x holds 1 label, u2's row y none: (count + 1) / (row total + 2 * 1).
    ratings = Ratings.from_rows([("a", "u1", "x"), ("a", "u2", "x"), ("b", "u1", "y")])
    posterior = np.array([[1.0, 0.0], [0.0, 1.0]])
    smoothed = smoothed_confusion(ratings, posterior, 1.0)
    np.testing.assert_allclose(smoothed[0], [[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    np.testing.assert_allclose(smoothed[1], [[2 / 3, 1 / 3], [0.5, 0.5]])  # a row it was never seen on
    # Without pseudo labels: the counts as they are, a row seen on nothing uniform.
    np.testing.assert_allclose(smoothed_confusion(ratings, posterior, 0.0)[1], [[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="pseudo_count"):
        smoothed_confusion(ratings, posterior, -1.0)
    with pytest.raises(ValueError, match="items x classes"):
        smoothed_confusion(ratings, posterior[:1], 1.0)


def test_smoothed_confusion_without_pseudo_labels_is_the_fits_own() -> None:
    crowd = _crowd(2_000)
    fit = dawid_skene(crowd.ratings, max_iter=20)
    assert fit.confusion is not None
    np.testing.assert_allclose(smoothed_confusion(crowd.ratings, fit.posterior, 0.0), fit.confusion, atol=1e-8)
    # With them every cell is positive and every row still a distribution, nearer uniform.
    smoothed = smoothed_confusion(crowd.ratings, fit.posterior, 1.0)
    assert (smoothed > 0).all()
    np.testing.assert_allclose(smoothed.sum(axis=2), 1.0)
    k = crowd.ratings.n_classes
    assert (np.abs(smoothed - 1 / k) <= np.abs(fit.confusion - 1 / k) + 1e-8).all()


# ---------------------------------------------------------------------------------------------
# Known truths (gold questions): semi-supervised Dawid-Skene


def _some_known(crowd: Crowd, share: float, seed: int = 1) -> np.ndarray:
    """Per item: its true class for a random `share` of the items, -1 for the rest."""
    rng = np.random.default_rng(seed)
    n = crowd.ratings.n_items
    known = np.full(n, -1, dtype=np.intp)
    chosen = rng.choice(n, int(n * share), replace=False)
    known[chosen] = crowd.truth[chosen]
    return known


@pytest.mark.parametrize(
    ("n_items", "n_classes", "per_item", "seed"), [(2000, 10, 5, 7), (2000, 3, 3, 11), (1500, 4, 7, 3)]
)
def test_known_truths_match_crowd_kits_true_labels(n_items: int, n_classes: int, per_item: int, seed: int) -> None:
    crowd = _crowd(n_items, n_classes, per_item, seed)
    known = _some_known(crowd, 0.1)
    ours = dawid_skene(crowd.ratings, known=known, known_in_prior=True)
    chosen = np.flatnonzero(known >= 0)
    theirs = _crowd_kit(crowd.ratings, pd.Series(known[chosen], index=chosen), n_iter=100, tol=1e-5)
    probas, confusion, prior = _their_arrays(theirs, crowd.ratings)
    assert ours.converged
    assert ours.iterations == len(theirs.loss_history_)
    np.testing.assert_allclose(ours.posterior, probas, atol=1e-6)
    np.testing.assert_allclose(ours.confusion, confusion, atol=1e-6)
    np.testing.assert_allclose(ours.prior, prior, atol=1e-9)


def test_known_items_stay_clamped_and_by_default_stay_out_of_the_prior() -> None:
    crowd = _crowd(2000, 3, 3, 11)
    known = _some_known(crowd, 0.2)
    chosen = known >= 0
    for max_iter in (0, 1, 100):
        result = dawid_skene(crowd.ratings, known=known, max_iter=max_iter)
        one_hot = np.eye(3)[known[chosen]]
        assert result.posterior[chosen].tolist() == one_hot.tolist()
        assert result.label[chosen].tolist() == known[chosen].tolist()
        assert result.confidence[chosen].tolist() == [1.0] * int(chosen.sum())
        # The prior is the other items' mean posterior (the M-step after the last E-step).
        assert result.prior is not None
        np.testing.assert_allclose(result.prior, result.posterior[~chosen].mean(axis=0), atol=1e-12)
        counted = dawid_skene(crowd.ratings, known=known, max_iter=max_iter, known_in_prior=True)
        assert counted.prior is not None
        np.testing.assert_allclose(counted.prior, counted.posterior.mean(axis=0), atol=1e-12)
    # Every item known: nothing to take a prior from, so it is uniform.
    everything = dawid_skene(crowd.ratings, known=crowd.truth)
    assert everything.prior is not None
    np.testing.assert_allclose(everything.prior, 1 / 3)
    assert everything.label.tolist() == crowd.truth.tolist()


def test_a_manager_picked_gold_set_does_not_skew_the_prior() -> None:
    """Gold items are chosen, not drawn: 300 of class 0 made gold leave the other items at 23% of
    class 0. Outside the prior the estimate follows those; counted in it, class 0 doubles."""
    crowd = _crowd(2000, 3, 3, 11)
    known = np.full(2000, -1, dtype=np.intp)
    known[np.flatnonzero(crowd.truth == 0)[:300]] = 0
    free = known < 0
    share = np.bincount(crowd.truth[free], minlength=3) / free.sum()
    outside = dawid_skene(crowd.ratings, known=known).prior
    counted = dawid_skene(crowd.ratings, known=known, known_in_prior=True).prior
    assert outside is not None
    assert counted is not None
    np.testing.assert_allclose(outside, share, atol=0.02)
    assert counted[0] > share[0] + 0.15


def test_no_known_item_is_the_unsupervised_fit() -> None:
    crowd = _crowd(2000)
    plain = dawid_skene(crowd.ratings)
    nothing = np.full(crowd.ratings.n_items, -1)
    for other in (dawid_skene(crowd.ratings, known=nothing), dawid_skene_with_known(crowd.ratings, nothing)):
        assert other.iterations == plain.iterations
        np.testing.assert_array_equal(other.posterior, plain.posterior)
        np.testing.assert_array_equal(other.confusion, plain.confusion)


def test_a_lone_annotators_gold_answers_show_it_guessing() -> None:
    """s labels its items alone, so nothing but gold can judge it: as unknown items its answers
    agree with themselves and it looks perfect; clamped to the gold answers, half of them are
    wrong whatever the true class, and its confusion rows say so."""
    rows = []
    for i in range(10):  # g1 and g2 agree on items of both classes
        value = ("pos", "neg")[i % 2]
        rows += [(f"a{i}", "g1", value), (f"a{i}", "g2", value)]
    rows += [(f"b{i}", "s", ("pos", "neg")[(i // 2) % 2]) for i in range(10)]  # s alone
    truth = ["neg", "pos"] * 4
    given = ["pos", "pos", "neg", "neg"] * 2  # right on half, on either class
    rows += [(f"q{i}", "s", g) for i, g in enumerate(given)]
    ratings = Ratings.from_rows(rows)
    gold = {f"q{i}": ratings.classes.index(t) for i, t in enumerate(truth)}
    known = np.array([gold.get(str(item), -1) for item in ratings.item_ids])
    s = ratings.annotator_ids.index("s")

    unknown = dawid_skene(ratings)
    clamped = dawid_skene_with_known(ratings, known)
    assert unknown.confusion is not None
    assert clamped.confusion is not None
    before, after = unknown.annotator_accuracy_estimate(), clamped.annotator_accuracy_estimate()
    assert before is not None
    assert after is not None
    assert before[s] > 0.99
    assert after[s] == pytest.approx(0.5, abs=0.05)
    np.testing.assert_allclose(clamped.confusion[s], 0.5, atol=0.07)  # a coin, whatever the truth
    assert after[:s].tolist() == pytest.approx([1.0, 1.0])  # g1 and g2 are untouched


def _swapping_majority(seed: int = 3) -> tuple[Ratings, np.ndarray, np.ndarray]:
    """300 items of 3 classes, each labeled by 5 annotators, 90% consistent: three of them
    answer class (c + 1) mod 3 for class c, the two others c. The truth and 30 known items."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 300)
    rows = []
    for i, c in enumerate(truth):
        for a in range(5):
            shown = (c + 1) % 3 if a < 3 else c
            rows.append((f"i{i:03}", f"a{a}", int(shown if rng.random() < 0.9 else rng.integers(0, 3))))
    known = np.full(300, -1, dtype=np.intp)
    known[:30] = truth[:30]
    return Ratings.from_rows(rows), truth, known


def test_known_items_turn_round_a_fit_the_majority_got_wrong() -> None:
    ratings, truth, known = _swapping_majority()
    free = known < 0
    unsupervised = dawid_skene(ratings)
    assert np.mean(unsupervised.label[free] == truth[free]) < 0.05  # the swappers' view, throughout
    # Clamping alone, from the votes, stays near that optimum: 30 known items are outweighed by 270.
    from_votes = dawid_skene(ratings, known=known)
    assert np.mean(from_votes.label[free] == truth[free]) < 0.05
    # From the known items' confusions the fit finds the truth, and it is the likelier fit.
    best = dawid_skene_with_known(ratings, known)
    assert np.mean(best.label[free] == truth[free]) > 0.95
    assert log_likelihood(ratings, best, known) > log_likelihood(ratings, from_votes, known) + 100
    accuracy = best.annotator_accuracy_estimate()
    assert accuracy is not None
    assert accuracy[:3].max() < 0.15  # the swappers are found out
    assert accuracy[3:].min() > 0.85
    assert best.confusion is not None
    for a in range(3):  # and their confusion is the swap: true c -> given c + 1
        assert [int(np.argmax(best.confusion[a, c])) for c in range(3)] == [1, 2, 0]


def test_log_likelihood_by_hand() -> None:
    ratings = Ratings.from_rows([("i", "u1", "A"), ("i", "u2", "B"), ("j", "u1", "B"), ("k", "u2", "A")])
    confusion = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.7, 0.3], [0.4, 0.6]]])
    fit = Aggregate(
        label=np.zeros(3, dtype=np.intp),
        confidence=np.zeros(3),
        posterior=np.full((3, 2), 0.5),
        confusion=confusion,
        prior=np.array([0.25, 0.75]),
    )
    # i: 0.25 * 0.9 * 0.3 + 0.75 * 0.2 * 0.6; j: 0.25 * 0.1 + 0.75 * 0.8; k: 0.25 * 0.7 + 0.75 * 0.4.
    i, j, k = 0.25 * 0.9 * 0.3 + 0.75 * 0.2 * 0.6, 0.25 * 0.1 + 0.75 * 0.8, 0.25 * 0.7 + 0.75 * 0.4
    assert log_likelihood(ratings, fit) == pytest.approx(np.log(i * j * k))
    # j known to be B: its term is P_u1(B | B) = 0.8, with its prior 0.75 only when known items count there.
    known = np.array([-1, 1, -1])
    assert log_likelihood(ratings, fit, known) == pytest.approx(np.log(i * 0.8 * k))
    assert log_likelihood(ratings, fit, known, known_in_prior=True) == pytest.approx(np.log(i * 0.75 * 0.8 * k))
    with pytest.raises(ValueError, match="Dawid-Skene fit"):
        log_likelihood(ratings, majority_vote(ratings))


def test_known_truths_are_checked() -> None:
    ratings = Ratings.from_rows([("i", "u1", "A"), ("j", "u1", "B")])
    with pytest.raises(ValueError, match="one class index"):
        dawid_skene(ratings, known=np.array([0]))
    with pytest.raises(ValueError, match="one class index"):
        dawid_skene(ratings, known=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="out of range"):
        dawid_skene(ratings, known=np.array([2, -1]))
    with pytest.raises(ValueError, match="out of range"):
        dawid_skene_with_known(ratings, np.array([-2, -1]))


# ---------------------------------------------------------------------------------------------
# Properties


@st.composite
def _rows(draw: st.DrawFn) -> tuple[list[tuple[str, str, int]], int, int]:
    n_items = draw(st.integers(1, 8))
    n_annotators = draw(st.integers(1, 4))
    k = draw(st.integers(1, 4))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_items - 1), st.integers(0, n_annotators - 1)),
            min_size=1,
            max_size=n_items * n_annotators,
            unique=True,
        )
    )
    rows = [(f"i{i}", f"u{a}", draw(st.integers(0, k - 1))) for i, a in pairs]
    return rows, n_annotators, k


def _all_three(ratings: Ratings, reliability: np.ndarray) -> list[Aggregate]:
    return [majority_vote(ratings), weighted_vote(ratings, reliability), dawid_skene(ratings)]


@settings(max_examples=150, deadline=None)
@given(data=_rows(), order=st.randoms(use_true_random=False), reliabilities=st.lists(st.floats(0, 1), min_size=4))
def test_results_do_not_depend_on_the_order_of_the_labels(
    data: tuple[list[tuple[str, str, int]], int, int], order: Any, reliabilities: list[float]
) -> None:
    rows, _, _ = data
    shuffled = list(rows)
    order.shuffle(shuffled)
    one, other = Ratings.from_rows(rows), Ratings.from_rows(shuffled)
    reliability = np.array(reliabilities[: one.n_annotators])
    for left, right in zip(_all_three(one, reliability), _all_three(other, reliability), strict=True):
        assert left.label.tolist() == right.label.tolist()
        np.testing.assert_allclose(left.posterior, right.posterior, atol=1e-12)
        np.testing.assert_allclose(left.confidence, right.confidence, atol=1e-12)
        if left.confusion is not None:
            assert right.confusion is not None
            np.testing.assert_allclose(left.confusion, right.confusion, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(data=_rows(), reliabilities=st.lists(st.floats(0, 1), min_size=4))
def test_confidences_are_bounded_and_posteriors_are_distributions(
    data: tuple[list[tuple[str, str, int]], int, int], reliabilities: list[float]
) -> None:
    ratings = Ratings.from_rows(data[0])
    for result in _all_three(ratings, np.array(reliabilities[: ratings.n_annotators])):
        assert result.posterior.shape == (ratings.n_items, ratings.n_classes)
        assert np.isfinite(result.posterior).all()
        assert (result.posterior >= 0).all()
        np.testing.assert_allclose(result.posterior.sum(axis=1), 1.0, atol=1e-12)
        assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
        assert ((result.label >= 0) & (result.label < ratings.n_classes)).all()
        # Confidence is the posterior of the chosen label, which is a largest one.
        picked = result.posterior[np.arange(ratings.n_items), result.label]
        np.testing.assert_allclose(picked, result.posterior.max(axis=1), atol=1e-12)
    learned = dawid_skene(ratings)
    assert learned.confusion is not None
    assert learned.prior is not None
    np.testing.assert_allclose(learned.confusion.sum(axis=2), 1.0, atol=1e-12)
    assert learned.prior.sum() == pytest.approx(1.0)
    accuracy = learned.annotator_accuracy_estimate()
    assert accuracy is not None
    assert ((accuracy >= 0) & (accuracy <= 1 + 1e-12)).all()


@settings(max_examples=150, deadline=None)
@given(data=_rows(), reliabilities=st.lists(st.floats(0.5, 1), min_size=4))
def test_unanimous_items_get_their_label(
    data: tuple[list[tuple[str, str, int]], int, int], reliabilities: list[float]
) -> None:
    ratings = Ratings.from_rows(data[0])
    counts = ratings.counts()
    unanimous = np.flatnonzero(counts.max(axis=1) == counts.sum(axis=1))
    their_label = counts.argmax(axis=1)[unanimous]
    majority = majority_vote(ratings)
    assert majority.label[unanimous].tolist() == their_label.tolist()
    assert majority.confidence[unanimous].tolist() == [1.0] * unanimous.size
    # Above chance (p >= 0.5 > 1/K for K >= 3; K = 2 at p = 0.5 weighs 0, so take p > 0.5 there).
    reliability = np.maximum(np.array(reliabilities[: ratings.n_annotators]), 0.51)
    weighted = weighted_vote(ratings, reliability)
    assert weighted.label[unanimous].tolist() == their_label.tolist()


@settings(max_examples=100, deadline=None)
@given(
    n_items=st.integers(1, 8),
    n_annotators=st.integers(1, 4),
    truth=st.lists(st.integers(0, 3), min_size=8, max_size=8),
)
def test_dawid_skene_keeps_unanimous_labels_when_everyone_labels_everything(
    n_items: int, n_annotators: int, truth: list[int]
) -> None:
    # With every annotator on every item and every item unanimous, EM starts at one-hot posteriors
    # and identity confusions and stays there. (Not a theorem for sparse overlap: with one label per
    # annotator the likelihood prefers merging classes, and EM may drift there.)
    rows = [(f"i{i}", f"u{a}", truth[i]) for i in range(n_items) for a in range(n_annotators)]
    ratings = Ratings.from_rows(rows, classes=range(4))
    result = dawid_skene(ratings)
    assert result.label.tolist() == truth[:n_items]
    assert result.confidence.min() > 1 - 1e-6


@settings(max_examples=100, deadline=None)
@given(data=_rows(), chosen=st.lists(st.integers(-1, 3), min_size=8, max_size=8))
def test_fits_with_known_truths_are_distributions_and_keep_them(
    data: tuple[list[tuple[str, str, int]], int, int], chosen: list[int]
) -> None:
    ratings = Ratings.from_rows(data[0])
    known = np.array([min(c, ratings.n_classes - 1) for c in chosen[: ratings.n_items]], dtype=np.intp)
    for result in (dawid_skene(ratings, known=known), dawid_skene_with_known(ratings, known)):
        assert np.isfinite(result.posterior).all()
        np.testing.assert_allclose(result.posterior.sum(axis=1), 1.0, atol=1e-12)
        assert result.label[known >= 0].tolist() == known[known >= 0].tolist()
        assert result.confusion is not None
        assert result.prior is not None
        np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0, atol=1e-12)
        assert result.prior.sum() == pytest.approx(1.0)
        assert np.isfinite(log_likelihood(ratings, result, known))
