"""Aggregation: one label per item out of several annotators' labels. Pure: numpy/scipy only.

Three aggregators, all returning an `Aggregate`:

- `majority_vote`: the most frequent class per item;
- `weighted_vote`: votes weighted by each annotator's known reliability (one-coin log-odds);
- `dawid_skene`: Dawid & Skene's (1979) EM, which learns a confusion matrix per annotator and a class
  prior together with the items' posteriors, from the labels alone or, semi-supervised, with the
  true class of some items known (gold questions) and clamped; `dawid_skene_with_known` fits that
  from two starts and keeps the likelier fit (`log_likelihood`).

`item_posterior` is the online step of a live project: one item's posterior from its labels and a
fitted confusion/prior, without running EM again.

Everything works on the class indices of `Ratings` (classes in their sort order), so "ties go to
the smallest class" means the class that sorts first. Ties are exact ties up to floating-point
rounding (see `_first_max`), so the results do not depend on the order the labels came in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.quality.ratings import FloatArray, IntArray, Ratings

# crowd-kit's DawidSkene floor for counts and priors before their logs (its `_EPS`); kept the same
# so the two runs can be compared side by side.
_EPS = 1e-10
# The floor for a given confusion cell in `item_posterior`, so a zero cell gives log = -708, not -inf.
_TINY = float(np.finfo(np.float64).tiny)
# Scores within this much (relative to the largest magnitude in the row, at least 1) of the row's
# maximum count as tied with it.
_TIE_RTOL = 1e-12


@dataclass(frozen=True)
class Aggregate:
    """The aggregated labels of every item of a `Ratings`, indexed like its `item_ids` and `classes`.

    `label[i]` is the chosen class index of item i, `confidence[i]` in [0, 1] how sure the
    aggregator is of it (each aggregator says how it is defined), `posterior[i]` a distribution over
    the classes (the row sums to 1). Dawid-Skene also fills `confusion` (annotators x K x K,
    `confusion[a, true, given]`, each row sums to 1), `prior` (K, sums to 1), and how its EM went:
    `iterations` run and whether the stopping rule `converged` before `max_iter` ran out. The votes
    leave `confusion` and `prior` None, with `iterations == 0` and `converged` True.
    """

    label: IntArray
    confidence: FloatArray
    posterior: FloatArray
    confusion: FloatArray | None = None
    prior: FloatArray | None = None
    iterations: int = 0
    converged: bool = True

    def annotator_accuracy_estimate(self) -> FloatArray | None:
        """Per annotator, the probability its label is right: sum_k prior[k] * confusion[a, k, k].

        None when there is no confusion (the votes). An annotator with no labels has a uniform
        confusion, so its estimate is 1/K.
        """
        if self.confusion is None or self.prior is None:
            return None
        diagonal = np.diagonal(self.confusion, axis1=1, axis2=2)  # annotators x K
        return np.asarray(diagonal @ self.prior, dtype=np.float64)


def _first_max(scores: FloatArray, *, probabilities: bool = False) -> IntArray:
    """Per row, the first column whose score ties the row's maximum (up to rounding: `_TIE_RTOL`
    times the row's largest magnitude, at least 1; for `probabilities` in [0, 1] that is just 1).

    The tolerance keeps an exact tie a tie whatever order floating-point sums were taken in.
    """
    top = scores.max(axis=1, keepdims=True)
    scale = 1.0 if probabilities else np.maximum(np.abs(scores).max(axis=1, keepdims=True), 1.0)
    tied = scores >= top - _TIE_RTOL * scale
    return np.asarray(np.argmax(tied, axis=1), dtype=np.intp)


def _softmax(log_scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row-wise softmax of unnormalised log scores: (probabilities, their logs), no overflow."""
    shifted = log_scores - log_scores.max(axis=1, keepdims=True)
    weights = np.exp(shifted)
    total = weights.sum(axis=1, keepdims=True)
    return weights / total, shifted - np.log(total)


def _pick(matrix: FloatArray, columns: IntArray) -> FloatArray:
    return np.asarray(np.take_along_axis(matrix, columns[:, None], axis=1)[:, 0], dtype=np.float64)


def _check_classes(r: Ratings) -> None:
    if r.n_classes == 0 and r.n_items > 0:
        raise ValueError("items need at least one class to aggregate into")


def majority_vote(r: Ratings) -> Aggregate:
    """The most frequent class of each item's labels.

    Returns `label` = the class with the most labels, ties to the smallest class index (the class
    that sorts first); `posterior` = the item's vote fractions; `confidence` = the share of the
    item's labels that hold the winner (1 for a unanimous item). An item with no labels gets the
    uniform posterior, label 0 and confidence 0. Empty ratings give empty arrays. ValueError when
    there are items but no classes.
    """
    _check_classes(r)
    k = r.n_classes
    counts = r.counts()  # exact integer counts as floats: ties are exact
    totals = counts.sum(axis=1)
    if k == 0:  # so no items either
        return Aggregate(label=np.zeros(0, dtype=np.intp), confidence=totals, posterior=counts)
    label = np.argmax(counts, axis=1).astype(np.intp)
    labeled = totals > 0
    posterior = np.full_like(counts, 1.0 / k)
    posterior[labeled] = counts[labeled] / totals[labeled, None]
    confidence = np.where(labeled, _pick(counts, label) / np.maximum(totals, 1.0), 0.0)
    return Aggregate(label=label, confidence=confidence, posterior=posterior)


def _vote_weights(reliability: npt.ArrayLike, n_classes: int, *, clip: float = 1e-4) -> FloatArray:
    """One-coin log-odds weights: log(K - 1) + log(p / (1 - p)) for an annotator of accuracy p.

    Under the one-coin model (an annotator is right with probability p and otherwise picks one of
    the K - 1 wrong classes uniformly) this is the log-likelihood ratio a vote adds to the class it
    names, so summing weights and taking the softmax is the posterior under a uniform prior.
    An annotator at chance (p = 1/K) weighs 0, one below chance weighs less than 0 (its vote is
    evidence against the class it names). p is clipped to [clip, 1 - clip] first, so p = 0 or 1 stays
    finite (|weight| <= log(K - 1) + log((1 - clip) / clip)). With K <= 1 every weight is 0.
    ValueError when a reliability is not in [0, 1] (or NaN).
    """
    p = np.asarray(reliability, dtype=np.float64)
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("reliability must be in [0, 1]")
    if not 0.0 < clip < 0.5:
        raise ValueError("clip must be in (0, 0.5)")
    if n_classes <= 1:
        return np.zeros_like(p)
    p = np.clip(p, clip, 1.0 - clip)
    return np.asarray(np.log(n_classes - 1) + np.log(p) - np.log1p(-p), dtype=np.float64)


def weighted_vote(r: Ratings, reliability: FloatArray, *, clip: float = 1e-4) -> Aggregate:
    """Votes weighted by each annotator's reliability (its accuracy in [0, 1], one per annotator).

    Each label adds its annotator's one-coin log-odds weight, log(K - 1) + log(p / (1 - p)), to the
    score of the class it names. Under the one-coin model (right with probability p, otherwise one of
    the K - 1 wrong classes uniformly) that is the log-likelihood ratio the vote carries, so the
    softmax of the scores is the item's posterior under a uniform prior. An annotator at chance
    (p = 1/K) weighs 0 and changes nothing; one below chance weighs less than 0 (its vote counts
    against the class it names); p is clipped to [clip, 1 - clip] so 0 and 1 stay finite.

    Returns `label` = the class with the highest score, ties (up to rounding) to the smallest class
    index; `posterior` = softmax of the scores; `confidence` = the posterior of the label. An item
    with no labels (or only labels of weight 0) has all scores 0: uniform posterior, label 0,
    confidence 1/K. With one class every weight is 0 and every item gets it, confidence 1. Empty
    ratings give empty arrays. ValueError when `reliability` is not one value in [0, 1] per
    annotator, or when there are items but no classes.
    """
    _check_classes(r)
    weights = _vote_weights(reliability, r.n_classes, clip=clip)
    if weights.shape != (r.n_annotators,):
        raise ValueError(f"reliability needs one value per annotator ({r.n_annotators}), got shape {weights.shape}")
    k = r.n_classes
    flat = np.bincount(r.item * k + r.value, weights=weights[r.annotator], minlength=r.n_items * k)
    scores = np.asarray(flat, dtype=np.float64).reshape(r.n_items, k)
    if r.n_items == 0:
        empty = np.zeros(0, dtype=np.float64)
        return Aggregate(label=np.zeros(0, dtype=np.intp), confidence=empty, posterior=scores)
    label = _first_max(scores)
    posterior, _ = _softmax(scores)
    return Aggregate(label=label, confidence=_pick(posterior, label), posterior=posterior)


def _m_step(counts: FloatArray, n_annotators: int, k: int) -> tuple[FloatArray, FloatArray]:
    """P(given | true) per annotator and its log, each (annotators * K given) x K true, from expected counts.

    `counts[a * K + given, true]` = the posterior mass of `true` over the items where annotator a
    gave `given` (incidence.T @ posterior). As in crowd-kit, each count is floored at 1e-10 before
    the column is normalised over `given`, so an unused class or an annotator without labels gets
    a finite (uniform, when nothing is seen) distribution, never a zero to take the log of.
    """
    floored = np.maximum(counts, _EPS).reshape(n_annotators, k, k)
    floored /= floored.sum(axis=1, keepdims=True)
    given_true = floored.reshape(n_annotators * k, k)
    return given_true, np.log(given_true)


def _confusion(given_true: FloatArray, n_annotators: int, k: int) -> FloatArray:
    """The stored layout: confusion[a, true, given] (row = true class, rows sum to 1)."""
    return np.ascontiguousarray(given_true.reshape(n_annotators, k, k).transpose(0, 2, 1))


def _log_prior(prior: FloatArray) -> FloatArray:
    return np.asarray(np.log(np.maximum(prior, _EPS)), dtype=np.float64)


def _normalise_log_likelihood(log_joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row-wise softmax of the E-step's log joint, in place: (posterior, log posterior).

    Every entry is a sum of logs of probabilities, so <= 0 and exp cannot overflow: exp is taken
    without the usual per-row max shift (a slow reduction over rows of K), and only the rows whose
    sum is below 1e-200 (every entry under about -460: very many improbable labels) are redone
    shifted, so no row underflows to 0/0. Row sums go through einsum and divisions are products
    with the reciprocal: numpy's reductions and broadcasts over short rows are several times slower.
    """
    weights = np.exp(log_joint)
    total = np.einsum("ij->i", weights)
    small = np.flatnonzero(total < 1e-200)
    if small.size:
        shifted = log_joint[small] - log_joint[small].max(axis=1, keepdims=True)
        log_joint[small] = shifted
        weights[small] = np.exp(shifted)
        total[small] = np.einsum("ij->i", weights[small])
    weights *= (1.0 / total)[:, None]
    log_joint -= np.log(total)[:, None]
    return weights, log_joint


def _floored_entropy(posterior: FloatArray, log_posterior: FloatArray) -> float:
    """-sum q log q over all cells, with crowd-kit's floor: q and log q taken at max(q, 1e-10)."""
    exact = float(np.einsum("ij,ij->", posterior, log_posterior))
    tiny = posterior < _EPS
    n_tiny = int(np.count_nonzero(tiny))
    if n_tiny:  # cells under the floor count as 1e-10 * log(1e-10), as crowd-kit clips them
        exact += n_tiny * _EPS * np.log(_EPS) - float(np.einsum("i,i->", posterior[tiny], log_posterior[tiny]))
    return -exact


@dataclass(frozen=True)
class _Clamp:
    """The items of a Dawid-Skene fit whose true class is known, and how they enter the prior."""

    rows: IntArray  # the known items
    classes: IntArray  # their classes
    free: IntArray  # the other items
    prior_weight: FloatArray  # per item: 1 where it counts in the prior, else 0
    prior_labels: FloatArray  # per item: its labels where it counts in the prior, else 0
    in_prior: bool

    @classmethod
    def of(cls, known: npt.ArrayLike | None, r: Ratings, *, in_prior: bool) -> _Clamp | None:
        n, k = r.n_items, r.n_classes
        if known is None:
            return None
        truth = np.asarray(known)
        if truth.shape != (n,) or (truth.size and not np.issubdtype(truth.dtype, np.integer)):
            raise ValueError(f"known must hold one class index (or -1) per item ({n}), got shape {truth.shape}")
        if truth.size and (truth.min() < -1 or truth.max() >= k):
            raise ValueError("known class index out of range")
        rows = np.flatnonzero(truth >= 0)
        if not rows.size:
            return None
        weight = np.ones(n, dtype=np.float64)
        if not in_prior:
            weight[rows] = 0.0
        labels = weight * r.labels_per_item()
        return cls(rows, truth[rows].astype(np.intp), np.flatnonzero(truth < 0), weight, labels, in_prior)

    def posterior(self, posterior: FloatArray, log_posterior: FloatArray | None = None) -> None:
        """Clamp the known rows, in place, to the one-hot of their class (the log: 0 there and
        log 1e-10 elsewhere, what the entropy's floor makes of a 0)."""
        posterior[self.rows] = 0.0
        posterior[self.rows, self.classes] = 1.0
        if log_posterior is not None:
            log_posterior[self.rows] = np.log(_EPS)
            log_posterior[self.rows, self.classes] = 0.0

    def prior(self, posterior: FloatArray) -> FloatArray:
        """The mean posterior of the items that count in the prior (uniform when none does)."""
        total = float(self.prior_weight.sum())
        k = posterior.shape[1]
        if total == 0.0:
            return np.full(k, 1.0 / k)
        return np.asarray((self.prior_weight @ posterior) / total, dtype=np.float64)


def dawid_skene(
    r: Ratings,
    *,
    max_iter: int = 100,
    tol: float = 1e-5,
    init: Aggregate | None = None,
    known: npt.ArrayLike | None = None,
    known_in_prior: bool = False,
) -> Aggregate:
    """Dawid & Skene (1979) EM: per-annotator confusion matrices, a class prior, and item posteriors.

    Model: item i has a hidden true class z_i ~ prior; annotator a labelling it gives class l with
    probability confusion[a, z_i, l], independently of the others.

    Initialisation: the posterior is `init.posterior` when given (e.g. a `weighted_vote`), else the
    majority-vote fractions; the prior is its column mean and the confusion the M-step on it.
    Each iteration then runs, vectorised over all labels through the incidence X (items x
    annotators*K, column a*K + l):
      E-step: log posterior = log max(prior, 1e-10) + X @ log P(l | c), softmax per row;
      M-step: prior = mean posterior; expected counts X.T @ posterior, each floored at 1e-10,
              normalised over the given class l for every (annotator, true class).
    Stopping rule, crowd-kit's `DawidSkene.fit` exactly, so the two stop at the same iteration: after
    each E+M pass compute crowd-kit's loss, the evidence lower bound divided by the number of labels,
        ELBO = sum over labels (i, a, l) of sum_c q[i,c] (log P_a(l | c) + log max(prior_c, 1e-10))
               + sum over items of -sum_c max(q[i,c], 1e-10) log max(q[i,c], 1e-10)
    (the prior term counted once per label, as crowd-kit does), starting from -inf, and stop as soon
    as new_loss - old_loss < tol (a drop stops it too). `converged` is True when that fired,
    `iterations` counts the passes run (at most `max_iter`). The one difference from crowd-kit: it
    floors only the (annotator, class) pairs the annotator used, we floor all K*K cells, which moves a
    probability by at most K*1e-10 relative.

    Returns `posterior` from the last E-step and `confusion` and `prior` from the M-step after it
    (crowd-kit's order); `label` = argmax posterior, ties (up to rounding) to the smallest class;
    `confidence` = the posterior of the label. Edge cases: an item with no labels gets the prior as
    its posterior; an annotator with no labels gets a uniform confusion; one annotator alone keeps
    its own labels (its confusion stays near the identity); empty ratings give empty arrays, a
    uniform confusion and prior, 0 iterations, converged. `max_iter=0` returns the initial posterior
    with the M-step on it, not converged. ValueError for items without classes, a negative
    `max_iter`, or an `init` whose posterior is not items x classes.

    Known truths (semi-supervised Dawid-Skene): `known[i]` is item i's true class index when it is
    known (a gold question's answer), -1 when not. A known item's posterior is clamped to the
    one-hot of its class at the start and after every E-step, so it never moves, and its labels
    enter the M-step's expected counts like any other: they show each annotator's confusion on
    items whose truth is certain. By default (`known_in_prior=False`) known items stay out of the
    class prior, which is the mean posterior of the other items (uniform when there are none):
    known items are chosen (a manager picks gold questions), so their class mix says nothing about
    the classes of the items to decide, and the loss counts the prior and the entropy over those
    other items only (a known item's likelihood is that of its labels given its class). With
    `known_in_prior=True` they count in the prior and the loss as every item does, which is what
    crowd-kit's `DawidSkene.fit(data, true_labels)` does. A known item's `label` is its class and
    its `confidence` 1. With no known item (`known` None or all -1) the fit is the unsupervised one.

    Caveat (the model's, not the code's): with little overlap, e.g. annotators seen on one item
    each, the likelihood can prefer merging classes, so even a unanimous item may get another
    class; with every annotator on every item, unanimous labels stay.
    """
    _check_classes(r)
    if max_iter < 0:
        raise ValueError("max_iter must be >= 0")
    n, a, k = r.n_items, r.n_annotators, r.n_classes
    if n == 0 or k == 0:
        uniform = 1.0 / k if k else 0.0
        return Aggregate(
            label=np.zeros(0, dtype=np.intp),
            confidence=np.zeros(0, dtype=np.float64),
            posterior=np.zeros((0, k), dtype=np.float64),
            confusion=np.full((a, k, k), uniform),
            prior=np.full(k, uniform),
            iterations=0,
            converged=True,
        )
    if init is not None and init.posterior.shape != (n, k):
        raise ValueError(f"init.posterior must be items x classes {(n, k)}, got {init.posterior.shape}")
    clamp = _Clamp.of(known, r, in_prior=known_in_prior)

    x = r.incidence()  # items x (annotators * K), column a * K + l; duplicate labels add up
    xt = x.T  # a CSC view, no copy: the M-step's product
    if init is not None:
        posterior = np.array(init.posterior, dtype=np.float64)
    else:  # majority-vote fractions, from the incidence: summing its columns over annotators
        votes = np.asarray(x @ np.tile(np.eye(k), (a, 1)))
        per_item = votes.sum(axis=1)
        posterior = np.full_like(votes, 1.0 / k)
        np.divide(votes, per_item[:, None], out=posterior, where=per_item[:, None] > 0)
    n_labels = float(x.sum())
    if clamp is not None:
        clamp.posterior(posterior)
    prior = clamp.prior(posterior) if clamp is not None else np.einsum("ij->j", posterior) / n
    counts = np.asarray(xt @ posterior)
    given_true, log_given_true = _m_step(counts, a, k)

    loss = -np.inf
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        log_joint = np.asarray(x @ log_given_true)
        log_joint += _log_prior(prior)
        posterior, log_posterior = _normalise_log_likelihood(log_joint)
        if clamp is not None:
            clamp.posterior(posterior, log_posterior)
            prior = clamp.prior(posterior)
        else:
            prior = np.einsum("ij->j", posterior) / n
        counts = np.asarray(xt @ posterior)
        given_true, log_given_true = _m_step(counts, a, k)
        # Expected log joint: each label's log P(l | c) weighted by the posterior, which is what the
        # M-step's counts add up; the prior once per label (the counts' column sums); then the
        # posterior's entropy. With known items outside the prior, the prior and the entropy are
        # those of the other items (a known item's posterior is certain and drawn from no prior).
        joint = float(np.vdot(counts, log_given_true))
        if clamp is None or clamp.in_prior:
            joint += float(counts.sum(axis=0) @ _log_prior(prior))
            entropy = _floored_entropy(posterior, log_posterior)
        else:
            joint += float((clamp.prior_labels @ posterior) @ _log_prior(prior))
            entropy = _floored_entropy(posterior[clamp.free], log_posterior[clamp.free])
        new_loss = (joint + entropy) / n_labels
        if new_loss - loss < tol:
            converged = True
            break
        loss = new_loss

    label = _first_max(posterior, probabilities=True)
    return Aggregate(
        label=label,
        confidence=_pick(posterior, label),
        posterior=posterior,
        confusion=_confusion(given_true, a, k),
        prior=prior,
        iterations=iterations,
        converged=converged,
    )


def dawid_skene_with_known(
    r: Ratings, known: npt.ArrayLike, *, max_iter: int = 100, tol: float = 1e-5, known_in_prior: bool = False
) -> Aggregate:
    """Semi-supervised Dawid-Skene (`dawid_skene` with `known`) from two starts, keeping the fit of
    the higher `log_likelihood` (the first one on a tie, up to 1e-9 relative).

    EM only climbs to the nearest optimum. From the vote fractions (`dawid_skene`'s own start), a
    majority that is consistently wrong (annotators who swap two classes, say) pulls the free
    items its way, and a few known items cannot turn the fit round: their counts are outweighed by
    the free items' in every confusion matrix. The second start believes the known items first:
    each annotator's confusion column (true class c) is its counts on the known items plus one
    pseudo-label spread as the vote fractions' M-step would spread it (so an annotator or a class
    without known items falls back to the votes, and one known item is not taken as certainty);
    one E-step from those confusions and the free items' vote prior gives the start. With no known
    item this is `dawid_skene` itself. ValueError as `dawid_skene` for a bad `known`.
    """
    first = dawid_skene(r, max_iter=max_iter, tol=tol, known=known, known_in_prior=known_in_prior)
    clamp = _Clamp.of(known, r, in_prior=known_in_prior) if r.n_items and r.n_classes else None
    if clamp is None:
        return first
    start = _known_start(r, clamp)
    second = dawid_skene(r, max_iter=max_iter, tol=tol, init=start, known=known, known_in_prior=known_in_prior)
    best = log_likelihood(r, first, known, known_in_prior=known_in_prior)
    other = log_likelihood(r, second, known, known_in_prior=known_in_prior)
    return second if other > best + 1e-9 * max(abs(best), 1.0) else first


def _known_start(r: Ratings, clamp: _Clamp) -> Aggregate:
    """The start `dawid_skene_with_known` tries second: one E-step from confusions counted on the
    known items, each (annotator, true class) column given one pseudo-label as the votes say."""
    n, a, k = r.n_items, r.n_annotators, r.n_classes
    x = r.incidence()
    votes = majority_vote(r).posterior
    clamp.posterior(votes)  # the known rows one-hot, as in dawid_skene's own start
    certain = np.zeros((n, k))
    certain[clamp.rows, clamp.classes] = 1.0
    free = votes - certain  # the known rows become 0
    known_counts = np.asarray(x.T @ certain).reshape(a, k, k)  # [annotator, given, true]
    voted = np.asarray(x.T @ free).reshape(a, k, k)
    total = voted.sum(axis=1, keepdims=True)
    pseudo = np.divide(voted, total, out=np.zeros_like(voted), where=total > 0)
    _, log_given_true = _m_step((known_counts + pseudo).reshape(a * k, k), a, k)
    log_joint = np.asarray(x @ log_given_true) + _log_prior(clamp.prior(votes))
    posterior, _ = _normalise_log_likelihood(log_joint)
    clamp.posterior(posterior)
    label = _first_max(posterior, probabilities=True)
    return Aggregate(label=label, confidence=_pick(posterior, label), posterior=posterior)


def log_likelihood(
    r: Ratings, fit: Aggregate, known: npt.ArrayLike | None = None, *, known_in_prior: bool = False
) -> float:
    """The log-probability of the labels under a fitted Dawid-Skene model (its `confusion` and
    `prior`, each cell floored at 1e-10): over the items of unknown class, log sum_c prior_c prod
    P_a(l | c); over the known ones (`known` as in `dawid_skene`), log prod P_a(l | known class),
    plus log prior of that class with `known_in_prior`. Natural log. ValueError when `fit` has no
    confusion (a vote) or does not fit `r`, or for a bad `known`."""
    if fit.confusion is None or fit.prior is None:
        raise ValueError("log_likelihood needs a Dawid-Skene fit (confusion and prior)")
    n, a, k = r.n_items, r.n_annotators, r.n_classes
    if fit.confusion.shape != (a, k, k) or fit.prior.shape != (k,):
        raise ValueError("the fit's confusion and prior do not match the ratings")
    if n == 0 or k == 0:
        return 0.0
    clamp = _Clamp.of(known, r, in_prior=known_in_prior)
    given_true = np.maximum(fit.confusion.transpose(0, 2, 1).reshape(a * k, k), _EPS)
    evidence = np.asarray(r.incidence() @ np.log(given_true))  # items x K: sum of log P(l | c)
    log_prior = _log_prior(fit.prior)
    if clamp is None:
        free, total = np.arange(n), 0.0
    else:
        free = clamp.free
        total = float(evidence[clamp.rows, clamp.classes].sum())
        if known_in_prior:
            total += float(log_prior[clamp.classes].sum())
    joint = evidence[free] + log_prior
    top = joint.max(axis=1, keepdims=True)
    return total + float((top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))).sum())


def item_posterior(annotators: IntArray, values: IntArray, confusion: FloatArray, prior: FloatArray) -> FloatArray:
    """One item's posterior over the K classes from its labels, given a fitted confusion and prior.

    The Dawid-Skene E-step for one item, the online update of a live project: log posterior =
    log max(prior, 1e-10) + sum over the item's labels (annotator a, class l) of
    log confusion[a, :, l], normalised with a softmax. A confusion cell of 0 is floored at the
    smallest positive double (log = -708), so nothing is -inf or NaN. With no labels it returns the
    (floored, renormalised) prior. ValueError when `annotators` and `values` differ in length, an
    index is out of range, or `confusion` is not annotators x K x K with `prior` of length K.
    """
    who = np.asarray(annotators, dtype=np.intp)
    what = np.asarray(values, dtype=np.intp)
    conf = np.asarray(confusion, dtype=np.float64)
    pri = np.asarray(prior, dtype=np.float64)
    if who.shape != what.shape or who.ndim != 1:
        raise ValueError("annotators and values must be 1-d and of the same length")
    if conf.ndim != 3 or conf.shape[1] != conf.shape[2] or pri.shape != (conf.shape[1],):
        raise ValueError("confusion must be annotators x K x K and prior of length K")
    n_annotators, k = conf.shape[0], conf.shape[1]
    if k == 0:
        raise ValueError("at least one class is needed")
    if who.size and (who.min() < 0 or who.max() >= n_annotators or what.min() < 0 or what.max() >= k):
        raise ValueError("annotator or class index out of range")
    evidence = np.log(np.maximum(conf[who, :, what], _TINY)).sum(axis=0)  # K: sum of log P(l | c)
    posterior, _ = _softmax((_log_prior(pri) + evidence)[None, :])
    return np.asarray(posterior[0], dtype=np.float64)


def smoothed_confusion(r: Ratings, posterior: FloatArray, pseudo_count: float) -> FloatArray:
    """Per-annotator confusion matrices (annotators x K x K, `[a, true, given]`, rows sum to 1) from
    a posterior over `r`'s items, with `pseudo_count` labels added to every cell:

        confusion[a, c, l] = (expected labels l of a on items of class c + pseudo_count)
                             / (expected labels of a on items of class c + K * pseudo_count)

    With 0 this is the M-step of `dawid_skene` on that posterior (without its 1e-10 floor; a row
    with nothing seen is uniform). With pseudo labels it is the estimate under a symmetric
    Dirichlet prior on each row: a row seen on few items stays near uniform instead of holding
    zeros, so one label of an annotator known from little data cannot make a posterior certain,
    and a cell no label fell into is not taken for impossible. ValueError for a negative
    pseudo_count or a posterior that is not items x classes.
    """
    if pseudo_count < 0 or not np.isfinite(pseudo_count):
        raise ValueError("pseudo_count must be a finite number >= 0")
    n_annotators, k = r.n_annotators, r.n_classes
    weights = np.asarray(posterior, dtype=np.float64)
    if weights.shape != (r.n_items, k):
        raise ValueError(f"posterior must be items x classes {(r.n_items, k)}, got {weights.shape}")
    counts = np.asarray(r.incidence().T @ weights)  # (annotator * K + given) x true
    cells = counts.reshape(n_annotators, k, k).transpose(0, 2, 1) + pseudo_count  # annotator, true, given
    totals = cells.sum(axis=2, keepdims=True)
    uniform = np.full_like(cells, 1.0 / k if k else 0.0)
    return np.asarray(np.divide(cells, totals, out=uniform, where=totals > 0), dtype=np.float64)
