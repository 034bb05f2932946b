"""The built-in text classifier (app/automation/classifier.py): it learns, its probabilities are
sane and calibrated, it refuses degenerate inputs with typed errors, it is deterministic, and a
stored model predicts what the trained one did. scikit-learn's own pipeline is the oracle for
the arithmetic we do at prediction time."""

from __future__ import annotations

import io
import zipfile
from functools import cache

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from app.automation.classifier import (
    ClassifierConfig,
    ModelFormatError,
    Trained,
    TrainingCode,
    TrainingError,
    calibration_figures,
    dumps,
    fit,
    fit_temperature,
    loads,
    predict_proba,
    train,
)
from bench.text_corpus import Corpus, make_corpus

# Three topics with their own words; every text has a few of its topic's words and a filler word.
TOPIC_WORDS = {
    "sport": ["goal", "match", "team", "score", "league", "coach"],
    "weather": ["rain", "storm", "sunny", "forecast", "wind", "cloud"],
    "food": ["pasta", "recipe", "bake", "flavour", "dinner", "spice"],
}
FILLER = ["today", "really", "about", "again", "news"]


def topic_texts(per_class: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(per_class):
        for topic, words in TOPIC_WORDS.items():
            picked = [str(w) for w in rng.choice(words, size=3, replace=False)]
            texts.append(" ".join([*picked, str(rng.choice(FILLER))]))
            labels.append(topic)
    return texts, labels


@cache
def corpus() -> Corpus:
    return make_corpus(900, seed=11)


@cache
def trained_on_corpus() -> Trained:
    c = corpus()
    return train(c.texts[:600], [c.classes[t] for t in c.truth[:600]], classes=c.classes, seed=3)


# ---------------------------------------------------------------------------------------------
# Learning and probabilities


def test_learns_a_separable_set_and_its_columns_follow_the_given_class_order() -> None:
    texts, labels = topic_texts(8, seed=1)
    # Not sorted: the columns must follow this order, not the labels' sort order.
    classes = ("weather", "sport", "food")
    trained = train(texts, labels, classes=classes, seed=5)
    assert trained.classes == classes
    assert trained.folds == 5
    assert trained.cv_accuracy == 1.0
    assert trained.fold_accuracies == (1.0,) * 5
    assert trained.class_counts == {"weather": 8, "sport": 8, "food": 8}
    assert trained.converged
    proba = predict_proba(trained, ["storm and wind", "the team scored a goal", "bake the pasta"])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.argmax(axis=1).tolist() == [0, 1, 2]
    assert (proba.max(axis=1) > 0.6).all()
    # Out-of-fold rows too: one per training text, each believing its own label.
    assert trained.oof_proba.shape == (len(texts), 3)
    np.testing.assert_allclose(trained.oof_proba.sum(axis=1), 1.0)
    assert [classes[i] for i in trained.oof_proba.argmax(axis=1)] == labels


def test_an_unseen_inflection_is_recognised_through_character_ngrams() -> None:
    texts, labels = topic_texts(8, seed=2)
    trained = train(texts, labels, classes=tuple(TOPIC_WORDS), seed=1)
    # "forecasting", "recipes", "coaches" never occur in training.
    proba = predict_proba(trained, ["forecasting", "recipes", "coaches"])
    assert [tuple(TOPIC_WORDS)[i] for i in proba.argmax(axis=1)] == ["weather", "food", "sport"]


def test_a_text_with_nothing_known_gets_probabilities_near_the_class_balance() -> None:
    texts, labels = topic_texts(6, seed=3)
    trained = train(texts, labels, classes=tuple(TOPIC_WORDS), seed=1)
    proba = predict_proba(trained, ["", "zzzz qqqq"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.max(axis=1) < 0.5).all()


def test_on_the_synthetic_corpus_accuracy_and_calibration_hold_out_of_sample() -> None:
    c = corpus()
    trained = trained_on_corpus()
    # Cross-validated accuracy is close to what a held-out set measures.
    held_out = predict_proba(trained, c.texts[600:])
    accuracy = float(np.mean(held_out.argmax(axis=1) == c.truth[600:]))
    assert accuracy > 0.7
    assert abs(trained.cv_accuracy - accuracy) < 0.06
    # Calibrated-ish: the expected calibration error is small on the folds and on held-out texts,
    # and the Brier score beats always answering the class frequencies.
    assert trained.calibration.ece < 0.08
    assert calibration_figures(held_out, c.truth[600:]).ece < 0.08
    prior = np.bincount(c.truth[:600], minlength=5) / 600
    prior_brier = calibration_figures(np.tile(prior, (300, 1)), c.truth[600:]).brier
    assert trained.calibration.brier < 0.7 * prior_brier
    assert 0.0 < trained.calibration.log_loss < 1.0


def test_calibration_figures_by_hand() -> None:
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 0, 1])
    figures = calibration_figures(proba, y, bins=10)
    # Bin (0.8, 0.9]: confidence 0.9 twice, one right: gap |1.8 - 1| = 0.8; bin (0.5, 0.6]: 0.6 vs 1;
    # bin (0.6, 0.7]: 0.7 vs 1. ECE = (0.8 + 0.4 + 0.3) / 4.
    assert figures.ece == pytest.approx(1.5 / 4)
    brier = ((0.1**2 * 2) + (0.9**2 * 2) + (0.4**2 * 2) + (0.3**2 * 2)) / 4
    assert figures.brier == pytest.approx(brier)
    assert figures.log_loss == pytest.approx(-np.mean(np.log([0.9, 0.1, 0.6, 0.7])))


def test_the_temperature_sharpens_underconfident_logits_and_a_handful_of_items_barely_moves_it() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    true_logits = rng.normal(size=(2000, 3))
    true_logits[np.arange(2000), y] += 2.0
    # Labels drawn from softmax(true_logits); the model reports logits halved (underconfident).
    p = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    drawn = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(true_logits / 2, drawn) == pytest.approx(0.5, abs=0.05)
    # Six separable items: without the prior T would run to its bound (certainty); it stays near 1.
    few = np.array([[3.0, -3.0], [2.0, -2.0], [-2.0, 2.0], [-3.0, 3.0], [2.5, -2.5], [-2.5, 2.5]])
    assert 0.5 < fit_temperature(few, np.array([0, 0, 1, 1, 0, 1])) < 1.0


def test_prediction_is_scikit_learns_pipeline_arithmetic() -> None:
    texts, labels = topic_texts(6, seed=4)
    config = ClassifierConfig()
    for classes in (tuple(TOPIC_WORDS), ("sport", "food")):
        chosen = [(t, label) for t, label in zip(texts, labels, strict=True) if label in classes]
        xs, ys = [t for t, _ in chosen], [label for _, label in chosen]
        model = fit(xs, ys, classes=classes, config=config)
        pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=config.word_ngrams, sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=config.char_ngrams, sublinear_tf=True),
            ),
            LogisticRegression(C=config.c, max_iter=config.max_iter),
        )
        pipeline.fit(xs, [classes.index(label) for label in ys])
        probe = ["goal in the rain", "spice", "nothing of the kind", *xs[:3]]
        np.testing.assert_allclose(model.predict_proba(probe), pipeline.predict_proba(probe), rtol=0, atol=1e-9)


def test_a_class_without_labels_gets_a_zero_column() -> None:
    texts, labels = topic_texts(5, seed=5)
    keep = [i for i, label in enumerate(labels) if label != "food"]
    classes = ("sport", "food", "weather")
    trained = train([texts[i] for i in keep], [labels[i] for i in keep], classes=classes, seed=2)
    assert trained.class_counts == {"sport": 5, "food": 0, "weather": 5}
    assert (trained.oof_proba[:, 1] == 0).all()
    proba = predict_proba(trained, ["pasta recipe", "storm"])
    assert (proba[:, 1] == 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_texts_of_single_characters_train_on_the_character_block_alone() -> None:
    texts = ["a", "a a", "b", "b b", "a", "b"]
    trained = train(texts, ["x", "x", "y", "y", "x", "y"], classes=("x", "y"), seed=1)
    assert [b.analyzer for b in trained.model.blocks] == ["char_wb"]
    assert predict_proba(trained, ["a", "b"]).argmax(axis=1).tolist() == [0, 1]


# ---------------------------------------------------------------------------------------------
# Degenerate inputs: typed errors


def refused(texts: list[str], labels: list[str], classes: tuple[str, ...]) -> TrainingError:
    with pytest.raises(TrainingError) as caught:
        train(texts, labels, classes=classes, seed=1)
    return caught.value


def test_fewer_than_two_classes_with_labels_is_refused() -> None:
    error = refused(["goal", "match", "team"], ["sport"] * 3, ("sport", "food"))
    assert error.code is TrainingCode.TOO_FEW_CLASSES
    assert error.counts == {"sport": 3, "food": 0}
    assert refused([], [], ("sport", "food")).code is TrainingCode.TOO_FEW_CLASSES


def test_a_class_with_a_single_label_is_refused_and_named() -> None:
    error = refused(["goal", "match", "pasta"], ["sport", "sport", "food"], ("sport", "food"))
    assert error.code is TrainingCode.TOO_FEW_EXAMPLES
    assert "'food' (1)" in error.message
    assert error.counts == {"sport": 2, "food": 1}
    # The quick refit of a loop needs only one label per class.
    model = fit(["goal", "match", "pasta"], ["sport", "sport", "food"], classes=("sport", "food"))
    assert model.predict_proba(["pasta"]).argmax() == 1


def test_the_minimum_per_class_is_configurable() -> None:
    texts, labels = topic_texts(3, seed=6)
    with pytest.raises(TrainingError) as caught:
        train(texts, labels, classes=tuple(TOPIC_WORDS), seed=1, config=ClassifierConfig(min_per_class=4))
    assert caught.value.code is TrainingCode.TOO_FEW_EXAMPLES
    # Two per class: 2 folds (k adapts to the smallest class).
    trained = train(texts[:6], labels[:6], classes=tuple(TOPIC_WORDS), seed=1)
    assert trained.folds == 2


def test_inputs_that_do_not_fit_together_are_refused() -> None:
    assert refused(["a", "b"], ["x"], ("x", "y")).code is TrainingCode.LENGTH_MISMATCH
    assert refused(["a", "b"], ["x", "z"], ("x", "y")).code is TrainingCode.UNKNOWN_CLASS
    assert refused(["a", "b"], ["x", "y"], ("x", "x")).code is TrainingCode.NO_CLASSES
    assert refused(["a", "b"], ["x", "y"], ()).code is TrainingCode.NO_CLASSES


def test_texts_without_anything_to_count_are_refused() -> None:
    error = refused(["", " ", "", "  "], ["x", "x", "y", "y"], ("x", "y"))
    assert error.code is TrainingCode.EMPTY_VOCABULARY


# ---------------------------------------------------------------------------------------------
# Determinism and storage


def test_training_is_deterministic_given_the_seed() -> None:
    c = corpus()
    texts, labels = c.texts[:150], [c.classes[t] for t in c.truth[:150]]
    first = train(texts, labels, classes=c.classes, seed=9)
    again = train(texts, labels, classes=c.classes, seed=9)
    assert dumps(first.model) == dumps(again.model)
    np.testing.assert_array_equal(first.oof_proba, again.oof_proba)
    assert (first.cv_accuracy, first.calibration) == (again.cv_accuracy, again.calibration)
    # Another seed draws other folds: other out-of-fold rows, the same final fit.
    other = train(texts, labels, classes=c.classes, seed=10)
    assert not np.array_equal(first.oof_proba, other.oof_proba)
    np.testing.assert_array_equal(first.model.coef, other.model.coef)


def test_a_stored_model_predicts_exactly_what_the_trained_one_did() -> None:
    c = corpus()
    model = trained_on_corpus().model
    data = dumps(model)
    loaded = loads(data)
    assert loaded.classes == model.classes
    assert loaded.temperature == model.temperature
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.predict_proba(c.texts[600:700]), model.predict_proba(c.texts[600:700]))
    # The archive holds plain arrays only: NumPy reads every member back without pickle.
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        assert sorted(archive.files) == ["coef", "header", "idf_0", "idf_1", "intercept"]


def test_loading_refuses_what_dumps_did_not_write() -> None:
    with pytest.raises(ModelFormatError):
        loads(b"not a zip")
    # An archive holding a pickled object array: refused, its pickle never unpickled.
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ModelFormatError):
        loads(buffer.getvalue())
    # Another format version.
    good = dumps(fit(["a b", "c d"], ["x", "y"], classes=("x", "y")))
    with zipfile.ZipFile(io.BytesIO(good)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    header = np.load(io.BytesIO(members["header.npy"]), allow_pickle=False)
    text = bytes(header).decode().replace('"version": 1', '"version": 99')
    patched = io.BytesIO()
    np.lib.format.write_array(patched, np.frombuffer(text.encode(), dtype=np.uint8))
    members["header.npy"] = patched.getvalue()
    rewritten = io.BytesIO()
    with zipfile.ZipFile(rewritten, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    with pytest.raises(ModelFormatError, match="version 1"):
        loads(rewritten.getvalue())
