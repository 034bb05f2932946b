"""Confident learning (app/automation/label_issues.py): by hand, against cleanlab as the oracle,
and on planted label flips, with probabilities drawn directly and from the built-in classifier."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pytest
from cleanlab.count import compute_confident_joint, get_confident_thresholds
from cleanlab.filter import find_label_issues as cleanlab_find
from cleanlab.rank import get_label_quality_scores

from app.automation.classifier import train
from app.automation.label_issues import (
    Method,
    Rank,
    confident_joint,
    confident_thresholds,
    find_label_issues,
    label_quality,
)
from bench.text_corpus import make_corpus, plant_flips


def drawn(n: int, k: int, seed: int, rate: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given labels (a share flipped), the flips, and probabilities a model might give: each row a
    Dirichlet draw leaning to the true class by a strength that varies per item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    alpha = np.full((n, k), 0.6)
    alpha[np.arange(n), truth] += rng.gamma(2.0, 1.5, n)
    proba = np.array([rng.dirichlet(a) for a in alpha])
    given, flips = plant_flips(truth.astype(np.intp), k, rate=rate, seed=seed + 1)
    return given, flips, proba


def f1(flagged: npt.ArrayLike, flips: np.ndarray) -> float:
    mask = np.zeros(flips.size, dtype=bool)
    mask[np.asarray(flagged, dtype=np.intp)] = True
    hits = int((mask & flips).sum())
    if not hits:
        return 0.0
    precision, recall = hits / mask.sum(), hits / flips.sum()
    return float(2 * precision * recall / (precision + recall))


def theirs(given: np.ndarray, proba: np.ndarray, **kwargs: object) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its small-class warnings
        return np.flatnonzero(cleanlab_find(given, proba, **kwargs))


def test_by_hand_the_confidently_other_items_are_flagged_worst_first() -> None:
    # Class 0 items 0-3, class 1 items 4-7. Item 3 is labelled 0 but looks like 1; item 7 the reverse,
    # less clearly.
    proba = np.array(
        [[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.05, 0.95], [0.1, 0.9], [0.2, 0.8], [0.15, 0.85], [0.7, 0.3]]
    )
    given = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    result = find_label_issues(given, proba)
    # Thresholds: mean self-confidence, (0.9+0.8+0.85+0.05)/4 and (0.9+0.8+0.85+0.3)/4.
    np.testing.assert_allclose(result.thresholds, [0.65, 0.7125])
    assert result.confident_joint.tolist() == [[3, 1], [1, 3]]
    assert result.estimated_issues == 2
    assert [(i.index, i.given, i.suggested) for i in result.issues] == [(3, 0, 1), (7, 1, 0)]
    # Normalized margin: (0.05 - 0.95 + 1) / 2 = 0.05, so score 0.95; item 7: (0.3 - 0.7 + 1) / 2.
    assert [i.score for i in result.issues] == pytest.approx([0.95, 0.7])
    assert [i.self_confidence for i in result.issues] == pytest.approx([0.05, 0.3])
    assert result.indices.tolist() == [3, 7]


def test_nothing_is_flagged_when_the_model_agrees_with_every_label() -> None:
    proba = np.array([[0.6, 0.4], [0.9, 0.1], [0.3, 0.7], [0.45, 0.55], [0.5, 0.5]])
    result = find_label_issues(np.array([0, 0, 1, 1, 0]), proba)
    assert result.issues == ()  # item 4 ties with its label: agreeing


def test_a_class_nobody_chose_never_counts_as_the_confident_class() -> None:
    proba = np.array([[0.7, 0.1, 0.2], [0.6, 0.1, 0.3], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    given = np.array([0, 0, 1, 1, 0])
    result = find_label_issues(given, proba)
    assert result.thresholds[2] == np.inf
    assert result.confident_joint[:, 2].tolist() == [0, 0, 0]
    assert result.confident_joint[2].tolist() == [0, 0, 0]


def test_thresholds_joint_and_quality_match_cleanlab() -> None:
    for seed in range(6):
        given, _, proba = drawn(800, 4, seed)
        np.testing.assert_allclose(confident_thresholds(given, proba), get_confident_thresholds(given, proba))
        np.testing.assert_array_equal(
            confident_joint(given, proba, calibrate=False), compute_confident_joint(given, proba, calibrate=False)
        )
        # Calibrated: the same up to how a tie in rounding is broken (one count moved within a row).
        ours, ref = confident_joint(given, proba), compute_confident_joint(given, proba)
        assert np.abs(ours - ref).max() <= 1
        np.testing.assert_array_equal(ours.sum(axis=1), np.bincount(given, minlength=4))
        np.testing.assert_array_equal(ref.sum(axis=1), ours.sum(axis=1))
        for rank, method in ((Rank.NORMALIZED_MARGIN, "normalized_margin"), (Rank.SELF_CONFIDENCE, "self_confidence")):
            np.testing.assert_allclose(
                label_quality(given, proba, rank), get_label_quality_scores(given, proba, method=method)
            )


def test_prune_by_noise_rate_flags_what_cleanlab_flags() -> None:
    for seed in range(6):
        given, _, proba = drawn(800, 4, seed)
        ours = set(find_label_issues(given, proba, method=Method.PRUNE_BY_NOISE_RATE).indices.tolist())
        reference = set(theirs(given, proba).tolist())
        # Only the joint's rounding ties can move an item.
        assert len(ours ^ reference) <= 3


def test_issues_are_ranked_by_score_and_suggest_the_models_class() -> None:
    given, _, proba = drawn(600, 5, seed=3)
    for rank in Rank:
        result = find_label_issues(given, proba, rank=rank)
        scores = [i.score for i in result.issues]
        assert scores == sorted(scores, reverse=True)
        for issue in result.issues:
            assert issue.suggested == int(proba[issue.index].argmax()) != issue.given
            assert issue.given == given[issue.index]
            assert issue.score == pytest.approx(1 - result.label_quality[issue.index])


def test_planted_flips_are_found_at_least_as_well_as_cleanlab_finds_them() -> None:
    ours_f1, their_f1 = [], []
    for seed in range(8):
        given, flips, proba = drawn(1000, 4, seed)
        ours = find_label_issues(given, proba)
        ours_f1.append(f1(ours.indices, flips))
        their_f1.append(f1(theirs(given, proba), flips))
        assert ours_f1[-1] >= their_f1[-1] - 0.02
    assert np.median(ours_f1) >= np.median(their_f1)
    assert np.median(ours_f1) > 0.6


def test_flips_in_a_text_project_are_found_from_the_classifiers_out_of_fold_probabilities() -> None:
    corpus = make_corpus(800, seed=21)
    given, flips = plant_flips(corpus.truth, len(corpus.classes), rate=0.1, seed=22)
    trained = train(corpus.texts, [corpus.classes[g] for g in given], classes=corpus.classes, seed=1)
    ours = find_label_issues(given, trained.oof_proba)
    mask = np.zeros(given.size, dtype=bool)
    mask[ours.indices] = True
    assert (mask & flips).sum() / mask.sum() > 0.5  # precision
    assert (mask & flips).sum() / flips.sum() > 0.5  # recall
    # The top of the list, what an audit queue takes first, is mostly real flips.
    assert flips[ours.indices[:20]].mean() >= 0.8
    assert f1(ours.indices, flips) >= f1(theirs(given, trained.oof_proba), flips) - 0.03


def test_bad_inputs_are_refused() -> None:
    proba = np.array([[0.6, 0.4], [0.2, 0.8]])
    with pytest.raises(ValueError, match="one class index per row"):
        find_label_issues(np.array([0]), proba)
    with pytest.raises(ValueError, match="class indices"):
        find_label_issues(np.array([0, 2]), proba)
    with pytest.raises(ValueError, match="summing to 1"):
        find_label_issues(np.array([0, 1]), np.array([[0.6, 0.6], [0.2, 0.8]]))
    with pytest.raises(ValueError, match="2 or more classes"):
        find_label_issues(np.array([0, 0]), np.array([[1.0], [1.0]]))
