"""A synthetic crowd for the quality benches: items with a known true class, labeled by
annotators of mixed skill (good, medium, spammers, biased). Seeded, so every run sees the same data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.quality.ratings import Ratings


@dataclass(frozen=True)
class Crowd:
    ratings: Ratings
    truth: npt.NDArray[np.intp]  # per item: the true class index
    skill: tuple[str, ...]  # per annotator: good, medium, spammer or biased


def make_crowd(
    n_items: int = 100_000, per_item: int = 5, n_classes: int = 10, n_annotators: int = 50, seed: int = 7
) -> Crowd:
    rng = np.random.default_rng(seed)
    kinds = ("good", "medium", "spammer", "biased")
    skill = tuple(kinds[i % 4] if i >= 4 else "good" for i in range(n_annotators))
    truth = rng.integers(0, n_classes, n_items)
    # Each item gets `per_item` distinct annotators.
    keys = rng.random((n_items, n_annotators))
    chosen = np.argpartition(keys, per_item, axis=1)[:, :per_item]
    item = np.repeat(np.arange(n_items), per_item)
    annotator = chosen.ravel()
    true_class = truth[item]
    kind = np.asarray(skill)[annotator]
    draw = rng.random(item.size)
    noise = rng.integers(0, n_classes, item.size)
    value = true_class.copy()
    good = kind == "good"
    value[good & (draw > 0.9)] = noise[good & (draw > 0.9)]
    medium = kind == "medium"
    value[medium & (draw > 0.65)] = noise[medium & (draw > 0.65)]
    spammer = kind == "spammer"
    value[spammer] = noise[spammer]
    # A biased annotator is right half the time and otherwise answers class 0.
    biased = kind == "biased"
    value[biased & (draw > 0.5)] = 0
    classes = tuple(range(n_classes))
    ratings = Ratings(
        item=item.astype(np.intp),
        annotator=annotator.astype(np.intp),
        value=value.astype(np.intp),
        item_ids=tuple(range(n_items)),
        annotator_ids=tuple(range(n_annotators)),
        classes=classes,
    )
    return Crowd(ratings=ratings, truth=truth.astype(np.intp), skill=skill)


KINDS = ("good", "medium", "spammer", "biased")


def confusion(kind: str, n_classes: int, biased_toward: int = 0) -> npt.NDArray[np.float64]:
    """The confusion matrix (row = true class, column = the answer) that make_crowd draws an
    annotator of this kind from: good is right 90% of the time and otherwise answers a uniformly
    random class (the true one included), medium likewise at 65%, a spammer answers uniformly at
    random, and a biased annotator is right half the time and otherwise answers `biased_toward`."""
    uniform = np.full((n_classes, n_classes), 1.0 / n_classes)
    eye = np.eye(n_classes)
    if kind == "good":
        return 0.9 * eye + 0.1 * uniform
    if kind == "medium":
        return 0.65 * eye + 0.35 * uniform
    if kind == "spammer":
        return uniform
    if kind == "biased":
        toward = np.zeros((n_classes, n_classes))
        toward[:, biased_toward] = 1.0
        return 0.5 * eye + 0.5 * toward
    raise ValueError(f"unknown annotator kind {kind!r}; one of {', '.join(KINDS)}")
