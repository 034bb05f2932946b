"""Active-learning scores and orderings over a model's probability matrix. Pure: numpy (and, for
sparse features, scipy's sparse rows). No database, nothing random.

Every score is an uncertainty in [0, 1], higher = the model knows less, computed per row of
`proba` (items x classes, rows summing to 1; a class the model never saw is a column of zeros):

- least confidence: ``1 - max_k p_k``;
- margin: ``1 - (p_(1) - p_(2))``, one minus the gap between the two likeliest classes;
- entropy: ``-sum_k p_k log p_k / log K`` (0 log 0 = 0), normalised by the largest possible
  entropy over the K columns.

`uncertainty_order` sorts items most uncertain first. `diverse_order` is diversity-aware
uncertainty for a batch: from the `pool` most uncertain candidates it picks `batch` items greedily,
each time the one maximising ``uncertainty * distance`` where distance is the cosine distance
(1 - cosine similarity, in [0, 2]; features are L2-normalised here) to the nearest item already
picked (2, the largest, before the first pick, so the most uncertain item leads). Near-duplicates
of a pick fall back, and the batch spreads over the feature space (TF-IDF rows of the texts, or any
embedding), weighted by how uncertain each candidate is. The rest follow in uncertainty order.
Ties always go to the item with the smaller index, so an ordering is a pure function of its inputs.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt
from scipy import sparse

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Features = FloatArray | sparse.csr_matrix | sparse.csr_array


class Strategy(enum.StrEnum):
    LEAST_CONFIDENCE = "LEAST_CONFIDENCE"
    MARGIN = "MARGIN"
    ENTROPY = "ENTROPY"


def _checked(proba: npt.ArrayLike) -> FloatArray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"proba must be a 2-D items x classes matrix, not shape {p.shape}.")
    if p.size and (not np.isfinite(p).all() or (p < 0).any()):
        raise ValueError("proba must hold finite, non-negative probabilities.")
    if p.shape[0] and not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("Each row of proba must sum to 1.")
    return p


def least_confidence(proba: npt.ArrayLike) -> FloatArray:
    p = _checked(proba)
    return np.asarray(1.0 - p.max(axis=1, initial=0.0), dtype=np.float64)


def margin(proba: npt.ArrayLike) -> FloatArray:
    p = _checked(proba)
    if p.shape[1] == 1:
        return np.zeros(p.shape[0])
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return np.asarray(1.0 - (top2[:, 0] - top2[:, 1]), dtype=np.float64)


def entropy(proba: npt.ArrayLike) -> FloatArray:
    p = _checked(proba)
    if p.shape[1] == 1:
        return np.zeros(p.shape[0])
    safe = np.where(p > 0, p, 1.0)
    h = -np.sum(p * np.log(safe), axis=1)
    return np.asarray(np.clip(h / np.log(p.shape[1]), 0.0, 1.0), dtype=np.float64)


_SCORES = {Strategy.LEAST_CONFIDENCE: least_confidence, Strategy.MARGIN: margin, Strategy.ENTROPY: entropy}


def uncertainty(proba: npt.ArrayLike, strategy: Strategy) -> FloatArray:
    """Each item's uncertainty in [0, 1] under `strategy`."""
    return _SCORES[Strategy(strategy)](proba)


def order_by_score(scores: npt.ArrayLike) -> IntArray:
    """Indices by score, highest first; equal scores keep index order."""
    s = np.asarray(scores, dtype=np.float64)
    return np.argsort(-s, kind="stable").astype(np.intp)


def uncertainty_order(proba: npt.ArrayLike, strategy: Strategy) -> IntArray:
    """Every item, most uncertain first (ties: smaller index first)."""
    return order_by_score(uncertainty(proba, strategy))


def _unit_rows(x: Features) -> FloatArray | sparse.csr_matrix:
    if sparse.issparse(x):
        m = sparse.csr_matrix(x, dtype=np.float64)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1), dtype=np.float64).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ m)
    d = np.asarray(x, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"features must be a 2-D items x dimensions matrix, not shape {d.shape}.")
    norms = np.linalg.norm(d, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(d / norms, dtype=np.float64)


def diverse_order(
    proba: npt.ArrayLike,
    features: Features,
    *,
    batch: int,
    strategy: Strategy = Strategy.MARGIN,
    pool: int | None = None,
) -> IntArray:
    """Every item: first `batch` picks spread over `features` and weighted by uncertainty, chosen
    among the `pool` most uncertain (default 10 x batch), then the rest most uncertain first.

    `features` has one row per row of `proba` (dense, or scipy sparse such as
    `TextModel.features(texts)`); rows are compared by cosine similarity."""
    scores = uncertainty(proba, strategy)
    n = scores.size
    if features.shape[0] != n:
        raise ValueError(f"features has {features.shape[0]} rows for {n} items.")
    if batch < 0:
        raise ValueError("batch must not be negative.")
    ranked = order_by_score(scores)
    size = min(n, max(batch, 10 * batch if pool is None else pool))
    picks_wanted = min(batch, size)
    if picks_wanted <= 1:
        return ranked
    candidates = ranked[:size]
    x = _unit_rows(features[candidates])
    u = scores[candidates]
    distance = np.full(size, 2.0)  # to the nearest pick so far
    taken = np.zeros(size, dtype=bool)
    picked: list[int] = []
    for _ in range(picks_wanted):
        gain = np.where(taken, -1.0, u * distance)
        best = int(np.argmax(gain))  # the first maximum: candidates are in uncertainty order
        taken[best] = True
        picked.append(best)
        row = x[best]
        similarity = np.asarray(x @ row.T.toarray() if sparse.issparse(x) else x @ row, dtype=np.float64).ravel()
        distance = np.minimum(distance, np.clip(1.0 - similarity, 0.0, 2.0))
    first = candidates[np.asarray(picked, dtype=np.intp)]
    rest = np.concatenate([candidates[~taken], ranked[size:]])
    return np.concatenate([first, rest]).astype(np.intp)
