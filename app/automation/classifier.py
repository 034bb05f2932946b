"""The built-in text classifier: one per project and single-choice field. Pure: no database.

    trained = train(texts, labels, classes=("neg", "pos"), seed=7)
    trained.cv_accuracy, trained.calibration.ece, trained.oof_proba   # what the model is worth
    predict_proba(trained.model, ["new text"])                          # n x len(classes)
    data = dumps(trained.model); model = loads(data)                     # stored and read back

**Features.** Two TF-IDF blocks side by side: words and word bigrams (scikit-learn's default token
pattern, lower-cased), and character n-grams of 2-5 inside word boundaries (``char_wb``), which
carry stems across inflections, typos and unseen compounds. Both use sublinear term frequency
(1 + log tf), smoothed idf and L2-normalised rows; each block is capped at its most frequent terms.
A block whose vocabulary comes out empty (texts of one character: no word token) is left out; when
both are, training fails with EMPTY_VOCABULARY.

**Model.** Multinomial logistic regression (lbfgs, L2, C = 10: on L2-normalised TF-IDF rows the
default C = 1 shrinks small projects' probabilities towards uniform; one BLAS thread), then
temperature scaling: one temperature T fitted on the out-of-fold logits by log loss, so that
``softmax(logits / T)`` is calibrated, with a log-normal prior around 1 (log T ~ N(0, 0.5^2)) so
that a handful of separable items does not make the model certain. A binary model is kept in the
same K-row form (the two rows are -w/2 and +w/2, which gives sklearn's sigmoid probabilities
exactly). The vocabulary is fitted on the labelled texts only.

**Evaluation** (`train`). Stratified k-fold with k = min(5, the smallest class's count), shuffled
with the seed: every item gets out-of-fold logits from a model that never saw it. The out-of-fold
probabilities use a temperature fitted on the *other* folds' logits (cross-fitted, so the
calibration figures are not measured on what fitted them); ``cv_accuracy`` is the share of items
whose out-of-fold argmax is their label (pooled over folds); ``calibration`` holds the expected
calibration error (top-label confidence, 10 equal-width bins, weighted by bin size), the
multi-class Brier score (mean over items of sum_k (p_k - y_k)^2, 0 best, 2 worst) and the log loss
of those probabilities. The returned model is then fitted on every item with the temperature
fitted on all out-of-fold logits. Everything is deterministic given the inputs and the seed (lbfgs
is deterministic; only the fold split is drawn).

**Classes.** ``classes`` is the field's options in the order the caller wants the probability
columns; labels must be among them. A class with no label gets probability 0 (the model never saw
it); training needs at least 2 classes with labels (TOO_FEW_CLASSES) and at least 2 labels in each
class that has any (TOO_FEW_EXAMPLES: one label cannot be both trained on and held out).

**Serialization.** `dumps` writes a versioned NumPy ``.npz`` archive (a zip of plain arrays plus a
JSON header; ``np.load(allow_pickle=False)`` reads it back and refuses object arrays), never a pickle,
so loading a model runs no code of the file. Prediction is always this module's own arithmetic on
those arrays (scikit-learn only tokenizes, with a vocabulary given), so a model read back predicts
exactly what the trained one did.
"""

from __future__ import annotations

import enum
import io
import json
import math
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

FORMAT: Final = "labelgraph.text-classifier"
FORMAT_VERSION: Final = 1
_TEMPERATURE_BOUNDS: Final = (0.05, 20.0)
_TEMPERATURE_PRIOR_SD: Final = 0.5
_ANALYZERS: Final = frozenset({"word", "char_wb"})


class TrainingCode(enum.StrEnum):
    """Why the built-in model could not be trained on these labels."""

    LENGTH_MISMATCH = "LENGTH_MISMATCH"  # texts and labels differ in length
    NO_CLASSES = "NO_CLASSES"  # the class list is empty or repeats a class
    UNKNOWN_CLASS = "UNKNOWN_CLASS"  # a label is not one of the classes
    TOO_FEW_CLASSES = "TOO_FEW_CLASSES"  # fewer than 2 classes have labels
    TOO_FEW_EXAMPLES = "TOO_FEW_EXAMPLES"  # a class has labels, but fewer than the minimum
    EMPTY_VOCABULARY = "EMPTY_VOCABULARY"  # the texts hold no word or character n-gram


class TrainingError(Exception):
    """Training refused on these inputs: a stable code, a readable message, the class counts."""

    def __init__(self, code: TrainingCode, message: str, *, counts: Mapping[str, int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.counts: dict[str, int] = dict(counts or {})


class ModelFormatError(Exception):
    """The bytes are not a model this version of `dumps` wrote."""


@dataclass(frozen=True)
class ClassifierConfig:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    max_word_features: int = 20_000
    max_char_features: int = 50_000
    c: float = 10.0  # inverse L2 strength of the logistic regression
    max_iter: int = 1_000
    max_folds: int = 5
    min_per_class: int = 2  # labels each labelled class needs for `train`
    calibration_bins: int = 10

    def to_json(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "c": self.c,
            "max_iter": self.max_iter,
            "max_folds": self.max_folds,
            "min_per_class": self.min_per_class,
            "calibration_bins": self.calibration_bins,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassifierConfig:
        word, char = data["word_ngrams"], data["char_ngrams"]
        return cls(
            word_ngrams=(int(word[0]), int(word[1])),
            char_ngrams=(int(char[0]), int(char[1])),
            max_word_features=int(data["max_word_features"]),
            max_char_features=int(data["max_char_features"]),
            c=float(data["c"]),
            max_iter=int(data["max_iter"]),
            max_folds=int(data["max_folds"]),
            min_per_class=int(data["min_per_class"]),
            calibration_bins=int(data["calibration_bins"]),
        )


DEFAULT_CONFIG: Final = ClassifierConfig()


@dataclass(frozen=True)
class Block:
    """One TF-IDF block: its analyzer ("word" or "char_wb"), n-gram range, terms (column order), idf."""

    analyzer: str
    ngrams: tuple[int, int]
    terms: tuple[str, ...]
    idf: FloatArray

    @cached_property
    def _counter(self) -> CountVectorizer:
        # A CountVectorizer given its vocabulary needs no fit: it only tokenizes and counts.
        return CountVectorizer(
            analyzer=self.analyzer,
            ngram_range=self.ngrams,
            lowercase=True,
            vocabulary={term: i for i, term in enumerate(self.terms)},
            dtype=np.float64,
        )

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        counts = sparse.csr_matrix(self._counter.transform(list(texts)), dtype=np.float64)
        counts.sort_indices()
        # TfidfVectorizer(sublinear_tf=True, norm="l2"): (1 + log tf) * idf, rows to unit length.
        np.log(counts.data, out=counts.data)
        counts.data += 1.0
        counts.data *= self.idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1), dtype=np.float64).ravel())
        norms[norms == 0.0] = 1.0
        counts.data /= np.repeat(norms, np.diff(counts.indptr))
        return counts


@dataclass(frozen=True, eq=False)
class TextModel:
    """A fitted classifier as plain arrays. `classes` are the probability columns; `seen[k]` says
    whether class k had labels (an unseen class always gets probability 0). `coef` has one row per
    seen class, in `classes` order, over the blocks' columns side by side."""

    classes: tuple[str, ...]
    seen: npt.NDArray[np.bool_]
    blocks: tuple[Block, ...]
    coef: FloatArray
    intercept: FloatArray
    temperature: float
    config: ClassifierConfig = field(default=DEFAULT_CONFIG)

    @property
    def n_features(self) -> int:
        return sum(len(b.terms) for b in self.blocks)

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF rows of `texts` (each block unit length), as the model sees them."""
        if not texts:
            return sparse.csr_matrix((0, self.n_features), dtype=np.float64)
        return sparse.csr_matrix(sparse.hstack([b.transform(texts) for b in self.blocks], format="csr"))

    def logits(self, texts: Sequence[str]) -> FloatArray:
        """Untempered logits, one column per seen class."""
        return self._logits_of(self.features(texts))

    def _logits_of(self, x: sparse.csr_matrix) -> FloatArray:
        return np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """Probabilities, one column per class of `classes` (0 for a class never seen)."""
        return self.proba_of(self.features(texts))

    def proba_of(self, x: sparse.csr_matrix) -> FloatArray:
        """`predict_proba` from rows `features` already made (to reuse them, e.g. for diversity)."""
        return _expand(_softmax(self._logits_of(x) / self.temperature), self.seen)


@dataclass(frozen=True)
class Calibration:
    ece: float  # expected calibration error of the top-label confidence
    brier: float  # multi-class Brier score: mean of sum_k (p_k - y_k)^2
    log_loss: float
    bins: int


@dataclass(frozen=True, eq=False)
class Trained:
    model: TextModel
    cv_accuracy: float
    fold_accuracies: tuple[float, ...]
    folds: int
    calibration: Calibration
    oof_proba: FloatArray  # n x len(classes): each item's probabilities from the folds that held it out
    class_counts: dict[str, int]
    seed: int
    converged: bool  # every lbfgs fit converged within max_iter

    @property
    def classes(self) -> tuple[str, ...]:
        return self.model.classes


def predict_proba(model: TextModel | Trained, texts: Sequence[str]) -> FloatArray:
    """Probabilities of each class (columns in the model's `classes` order) for each text."""
    return (model.model if isinstance(model, Trained) else model).predict_proba(texts)


# ---------------------------------------------------------------------------------------------
# Training


@dataclass(frozen=True)
class _Labels:
    classes: tuple[str, ...]
    seen: npt.NDArray[np.bool_]
    y: IntArray  # per text: index into the seen classes
    counts: dict[str, int]


def _check(texts: Sequence[str], labels: Sequence[str], classes: Sequence[str], min_per_class: int) -> _Labels:
    if len(texts) != len(labels):
        raise TrainingError(
            TrainingCode.LENGTH_MISMATCH, f"{len(texts)} texts but {len(labels)} labels: give one label per text."
        )
    ordered = tuple(classes)
    if not ordered or len(set(ordered)) != len(ordered):
        raise TrainingError(TrainingCode.NO_CLASSES, "The classes must be a non-empty list without repeats.")
    index = {c: i for i, c in enumerate(ordered)}
    unknown = sorted({str(label) for label in labels if label not in index})
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise TrainingError(TrainingCode.UNKNOWN_CLASS, f"Labels outside the classes: {shown}.")
    codes = np.fromiter((index[label] for label in labels), dtype=np.intp, count=len(labels))
    per_class = np.bincount(codes, minlength=len(ordered))
    counts = {c: int(per_class[i]) for i, c in enumerate(ordered)}
    seen = per_class > 0
    if int(seen.sum()) < 2:
        raise TrainingError(
            TrainingCode.TOO_FEW_CLASSES,
            f"{int(seen.sum())} class(es) have labels; the model needs labels in at least 2.",
            counts=counts,
        )
    short = [c for c, n in counts.items() if 0 < n < min_per_class]
    if short:
        listed = ", ".join(f"{c!r} ({counts[c]})" for c in short)
        raise TrainingError(
            TrainingCode.TOO_FEW_EXAMPLES,
            f"Each class with labels needs at least {min_per_class}; too few: {listed}.",
            counts=counts,
        )
    # Codes among the seen classes only: the model's columns.
    remap = np.cumsum(seen) - 1
    return _Labels(classes=ordered, seen=seen, y=remap[codes].astype(np.intp), counts=counts)


def _fit_block(
    analyzer: str, ngrams: tuple[int, int], cap: int, texts: list[str]
) -> tuple[Block, sparse.csr_matrix] | None:
    """A block fitted on `texts`, with their rows (sklearn's; `Block.transform` gives the same)."""
    vectorizer = TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngrams, lowercase=True, sublinear_tf=True, max_features=cap, dtype=np.float64
    )
    try:
        rows = sparse.csr_matrix(vectorizer.fit_transform(texts), dtype=np.float64)
    except ValueError:  # empty vocabulary: nothing this analyzer can count in these texts
        return None
    vocabulary = cast(dict[str, int], vectorizer.vocabulary_)
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)
    return Block(analyzer=analyzer, ngrams=ngrams, terms=tuple(terms), idf=idf), rows


def _fit(texts: list[str], y: IntArray, labels: _Labels, config: ClassifierConfig) -> tuple[TextModel, bool]:
    fitted = [
        b
        for b in (
            _fit_block("word", config.word_ngrams, config.max_word_features, texts),
            _fit_block("char_wb", config.char_ngrams, config.max_char_features, texts),
        )
        if b is not None
    ]
    if not fitted:
        raise TrainingError(TrainingCode.EMPTY_VOCABULARY, "The texts hold no words or characters to learn from.")
    blocks = tuple(b for b, _ in fitted)
    x = sparse.csr_matrix(sparse.hstack([rows for _, rows in fitted], format="csr"))
    n_seen = int(labels.seen.sum())
    present = np.unique(y)
    regression = LogisticRegression(C=config.c, max_iter=config.max_iter, solver="lbfgs")
    # One BLAS thread: lbfgs on a vector of this size gains nothing from two, and on a busy 2-core
    # machine OpenBLAS's spinning threads made each fit 5x slower (measured).
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        regression.fit(x, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    fitted_coef = np.asarray(regression.coef_, dtype=np.float64)
    fitted_intercept = np.asarray(regression.intercept_, dtype=np.float64)
    if present.size == 2:
        # sklearn keeps one row (class 1 against class 0); softmax over (-z/2, z/2) is its sigmoid.
        fitted_coef = np.vstack([-fitted_coef[0] / 2, fitted_coef[0] / 2])
        fitted_intercept = np.array([-fitted_intercept[0] / 2, fitted_intercept[0] / 2])
    # A fold's training part may lack a seen class: its row stays at -inf (probability 0).
    coef = np.zeros((n_seen, x.shape[1]), dtype=np.float64)
    intercept = np.full(n_seen, -np.inf)
    coef[present] = fitted_coef
    intercept[present] = fitted_intercept
    model = TextModel(
        classes=labels.classes,
        seen=labels.seen,
        blocks=blocks,
        coef=coef,
        intercept=intercept,
        temperature=1.0,
        config=config,
    )
    return model, converged


def fit(
    texts: Sequence[str], labels: Sequence[str], *, classes: Sequence[str], config: ClassifierConfig = DEFAULT_CONFIG
) -> TextModel:
    """The model fitted on all labels, without cross-validation or temperature (T = 1): the quick
    refit of an active-learning loop. Needs 2 classes with labels; one label per class is enough."""
    checked = _check(texts, labels, classes, 1)
    model, _ = _fit(list(texts), checked.y, checked, config)
    return model


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    classes: Sequence[str],
    seed: int,
    config: ClassifierConfig = DEFAULT_CONFIG,
) -> Trained:
    """Cross-validate, calibrate and fit the model on `labels` (one per text, each one of `classes`)."""
    checked = _check(texts, labels, classes, max(2, config.min_per_class))
    all_texts = list(texts)
    y = checked.y
    n, n_seen = len(all_texts), int(checked.seen.sum())
    folds = max(2, min(config.max_folds, min(c for c in checked.counts.values() if c > 0)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_of = np.empty(n, dtype=np.intp)
    oof_logits = np.empty((n, n_seen), dtype=np.float64)
    converged = True
    placeholder = np.zeros((n, 1))
    for f, (train_at, test_at) in enumerate(splitter.split(placeholder, y)):
        fold_model, ok = _fit([all_texts[i] for i in train_at], y[train_at], checked, config)
        converged &= ok
        oof_logits[test_at] = fold_model.logits([all_texts[i] for i in test_at])
        fold_of[test_at] = f
    # Cross-fitted temperatures: fold f's probabilities use a temperature fitted on the others.
    oof_seen = np.empty_like(oof_logits)
    for f in range(folds):
        held = fold_of == f
        t = fit_temperature(oof_logits[~held], y[~held])
        oof_seen[held] = _softmax(oof_logits[held] / t)
    oof_proba = _expand(oof_seen, checked.seen)
    hits = oof_seen.argmax(axis=1) == y
    fold_accuracies = tuple(float(hits[fold_of == f].mean()) for f in range(folds))
    calibration = calibration_figures(oof_seen, y, bins=config.calibration_bins)
    final, ok = _fit(all_texts, y, checked, config)
    converged &= ok
    model = TextModel(
        classes=final.classes,
        seen=final.seen,
        blocks=final.blocks,
        coef=final.coef,
        intercept=final.intercept,
        temperature=fit_temperature(oof_logits, y),
        config=config,
    )
    return Trained(
        model=model,
        cv_accuracy=float(hits.mean()),
        fold_accuracies=fold_accuracies,
        folds=folds,
        calibration=calibration,
        oof_proba=oof_proba,
        class_counts=checked.counts,
        seed=seed,
        converged=converged,
    )


# ---------------------------------------------------------------------------------------------
# Probabilities and calibration


def _softmax(z: FloatArray) -> FloatArray:
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


def _expand(p_seen: FloatArray, seen: npt.NDArray[np.bool_]) -> FloatArray:
    out = np.zeros((p_seen.shape[0], seen.size), dtype=np.float64)
    out[:, seen] = p_seen
    return out


def _nll(z: FloatArray, y: IntArray, t: float) -> float:
    scaled = z / t
    top = scaled.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
    picked = scaled[np.arange(y.size), y]
    return float(np.mean(log_norm - picked))


def fit_temperature(logits: FloatArray, y: IntArray) -> float:
    """The temperature T minimising the log loss of softmax(logits / T) on labels `y`, with a
    log-normal prior on T around 1 (log T ~ N(0, 0.5^2)), within [0.05, 20].

    The prior is what keeps a handful of separable items from driving T to its bound (certainty
    from six examples); from a few dozen items on, the data outweigh it."""
    finite = np.isfinite(logits[np.arange(y.size), y])
    if not finite.any():
        return 1.0
    z = np.where(np.isfinite(logits), logits, -1e300)[finite]
    labels = y[finite]
    count = labels.size

    def objective(log_t: float) -> float:
        return count * _nll(z, labels, math.exp(log_t)) + log_t**2 / (2 * _TEMPERATURE_PRIOR_SD**2)

    low, high = (math.log(b) for b in _TEMPERATURE_BOUNDS)
    result = minimize_scalar(
        lambda v: objective(float(v)), bounds=(low, high), method="bounded", options={"xatol": 1e-5}
    )
    return math.exp(float(result.x))


def calibration_figures(proba: FloatArray, y: IntArray, *, bins: int = 10) -> Calibration:
    """ECE (top label, `bins` equal-width bins, (lo, hi] with the first bin closed at 0), Brier score
    and log loss of probability rows `proba` against class indices `y`."""
    n = y.size
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(np.intp) - 1, 0, bins - 1)
    gap = np.abs(np.bincount(which, confidence, bins) - np.bincount(which, correct, bins))
    ece = float(gap.sum() / n)
    truth = np.zeros_like(proba)
    truth[np.arange(n), y] = 1.0
    brier = float(np.mean(np.sum((proba - truth) ** 2, axis=1)))
    picked = np.clip(proba[np.arange(n), y], 1e-15, 1.0)
    return Calibration(ece=ece, brier=brier, log_loss=float(-np.mean(np.log(picked))), bins=bins)


# ---------------------------------------------------------------------------------------------
# Serialization


def dumps(model: TextModel) -> bytes:
    """The model as a versioned, compressed .npz archive of plain arrays (no pickle); deterministic."""
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "classes": list(model.classes),
        "seen": [bool(s) for s in model.seen],
        "temperature": model.temperature,
        "config": model.config.to_json(),
        "blocks": [{"analyzer": b.analyzer, "ngrams": list(b.ngrams), "terms": list(b.terms)} for b in model.blocks],
    }
    arrays: dict[str, npt.NDArray[Any]] = {
        "header": np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8),
        "coef": model.coef,
        "intercept": model.intercept,
    }
    for i, b in enumerate(model.blocks):
        arrays[f"idf_{i}"] = b.idf
    buffer = io.BytesIO()
    # np.savez's layout (one .npy per array), written with a fixed timestamp so that the same model
    # always gives the same bytes (a model's hash identifies it).
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def loads(data: bytes) -> TextModel:
    """A model `dumps` wrote. Raises ModelFormatError on anything else (never runs code of the file)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(bytes(archive["header"]).decode())
            if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
                raise ModelFormatError(
                    f"Not a {FORMAT} model of version {FORMAT_VERSION}: {header.get('format')} {header.get('version')}."
                )
            blocks = tuple(
                Block(
                    analyzer=str(b["analyzer"]),
                    ngrams=(int(b["ngrams"][0]), int(b["ngrams"][1])),
                    terms=tuple(str(t) for t in b["terms"]),
                    idf=np.asarray(archive[f"idf_{i}"], dtype=np.float64),
                )
                for i, b in enumerate(header["blocks"])
            )
            model = TextModel(
                classes=tuple(str(c) for c in header["classes"]),
                seen=np.asarray(header["seen"], dtype=bool),
                blocks=blocks,
                coef=np.asarray(archive["coef"], dtype=np.float64),
                intercept=np.asarray(archive["intercept"], dtype=np.float64),
                temperature=float(header["temperature"]),
                config=ClassifierConfig.from_json(header["config"]),
            )
    except ModelFormatError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"Not a readable model: {exc}") from exc
    n_seen = int(model.seen.sum())
    if any(b.analyzer not in _ANALYZERS or b.idf.shape != (len(b.terms),) for b in model.blocks):
        raise ModelFormatError("The model's vocabulary blocks are malformed.")
    if model.coef.shape != (n_seen, model.n_features) or model.intercept.shape != (n_seen,):
        raise ModelFormatError("The model's arrays do not fit its classes and vocabulary.")
    if not math.isfinite(model.temperature) or model.temperature <= 0:
        raise ModelFormatError("The model's temperature is not a positive number.")
    return model
