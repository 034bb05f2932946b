"""Active learning on a simulated text project: the built-in model's held-out accuracy against the
number of human labels, for each sampling strategy and for random order. Seeded; in process.

    .venv/bin/python -m bench.learning_curve [--seeds 3] [--first-seed 1] [--pool 3000] [--test 1000] [--quick]

Per seed: a corpus from `bench.text_corpus` (5 classes of uneven size, shared stems between
neighbouring classes, ambiguous texts, typos), split into an unlabeled pool and a held-out test set.
Every arm starts from the same 20 random labels (more while fewer than 2 classes have any), then
asks for labels in batches (10 up to 60 labels, 20 up to 120, 40 up to 320), refitting the model
(`classifier.fit`, no cross-validation: what a loop refits) after each batch and scoring the rest of
the pool with it. The simulated annotator answers with the true class. Arms: random order, least
confidence, margin, entropy, and diversity-aware margin (`sampling.diverse_order` over the pool's
TF-IDF rows, candidates = 10 x batch). Accuracy is measured on the test set at 20, 40, 80, 160 and
320 labels. Prints each seed's table, then medians over the seeds with [min-max], and the mean
accuracy over the checkpoints (area under the learning curve) per arm. Asserts nothing.

The service (`app/automation/training.py`: trainModel, the background retrain, the queue's scores)
trains with `classifier.train` and scores with these same `sampling` functions; what it adds is
reading the decided items and writing versions, suggestions and scores, so this bench drives the
pure modules directly and measures the learning, not the database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from app.automation import sampling
from app.automation.classifier import TextModel, fit
from bench.text_corpus import CLASSES, make_corpus

CHECKPOINTS = (20, 40, 80, 160, 320)
ARMS = ("random", "least confidence", "margin", "entropy", "diverse margin")


def batch_after(labeled: int) -> int:
    """How many labels the next batch asks for, after `labeled` labels."""
    if labeled < 60:
        return 10
    if labeled < 120:
        return 20
    return 40


def first_labels(truth: npt.NDArray[np.intp], order: npt.NDArray[np.intp], n: int) -> list[int]:
    """The first `n` items of a random order, extended until 2 classes have labels."""
    picked = [int(i) for i in order[:n]]
    at = n
    while len({int(truth[i]) for i in picked}) < 2:
        picked.append(int(order[at]))
        at += 1
    return picked


Chooser = Callable[[TextModel, list[int], int], list[int]]


def run_arm(
    arm: str,
    texts: list[str],
    truth: npt.NDArray[np.intp],
    test_texts: list[str],
    test_truth: npt.NDArray[np.intp],
    seed_order: npt.NDArray[np.intp],
) -> dict[int, float]:
    """Accuracy on the test set at each checkpoint for one arm."""
    labeled = first_labels(truth, seed_order, CHECKPOINTS[0])
    accuracy: dict[int, float] = {}
    in_random_order = [int(i) for i in seed_order if int(i) not in set(labeled)]
    while True:
        model = fit([texts[i] for i in labeled], [CLASSES[truth[i]] for i in labeled], classes=CLASSES)
        if len(labeled) in CHECKPOINTS:
            predicted = model.predict_proba(test_texts).argmax(axis=1)
            accuracy[len(labeled)] = float(np.mean(predicted == test_truth))
        if len(labeled) >= CHECKPOINTS[-1]:
            return accuracy
        batch = min(batch_after(len(labeled)), CHECKPOINTS[-1] - len(labeled))
        if arm == "random":
            taken = set(labeled)
            labeled += [i for i in in_random_order if i not in taken][:batch]
            continue
        rest = np.setdiff1d(np.arange(len(texts)), labeled)
        x = model.features([texts[i] for i in rest])
        proba = model.proba_of(x)
        if arm == "diverse margin":
            order = sampling.diverse_order(proba, x, batch=batch, strategy=sampling.Strategy.MARGIN)
        else:
            strategy = {
                "least confidence": sampling.Strategy.LEAST_CONFIDENCE,
                "margin": sampling.Strategy.MARGIN,
                "entropy": sampling.Strategy.ENTROPY,
            }[arm]
            order = sampling.uncertainty_order(proba, strategy)
        labeled += [int(rest[j]) for j in order[:batch]]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.learning_curve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="corpora to run (default 3)")
    parser.add_argument("--first-seed", type=int, default=1, help="seeds run from here (default 1)")
    parser.add_argument("--pool", type=int, default=3000, help="unlabeled pool per seed (default 3,000)")
    parser.add_argument("--test", type=int, default=1000, help="held-out test texts per seed (default 1,000)")
    parser.add_argument("--quick", action="store_true", help="1 seed, pool 600, test 400: a smoke check")
    args = parser.parse_args(argv)
    seeds, pool, test = (1, 600, 400) if args.quick else (args.seeds, args.pool, args.test)
    first = args.first_seed
    print(f"pool {pool}, test {test}, seeds {first}..{first + seeds - 1}; load average {os.getloadavg()[0]:.2f}")
    results: dict[str, dict[int, list[float]]] = {arm: {c: [] for c in CHECKPOINTS} for arm in ARMS}
    started = time.perf_counter()
    for seed in range(first, first + seeds):
        corpus = make_corpus(pool + test, seed=seed)
        texts, truth = corpus.texts[:pool], corpus.truth[:pool]
        test_texts, test_truth = corpus.texts[pool:], corpus.truth[pool:]
        seed_order = np.random.default_rng(seed).permutation(pool).astype(np.intp)
        per_arm: dict[str, dict[int, float]] = {}
        seconds: dict[str, float] = {}
        for arm in ARMS:
            t0 = time.perf_counter()
            per_arm[arm] = run_arm(arm, texts, truth, test_texts, test_truth, seed_order)
            seconds[arm] = time.perf_counter() - t0
            for c, value in per_arm[arm].items():
                results[arm][c].append(value)
        sizes = np.bincount(truth, minlength=len(CLASSES)).tolist()
        print(f"\nseed {seed}: pool classes {sizes}; seconds per arm " + ", ".join(f"{seconds[a]:.1f}" for a in ARMS))
        print(f"{'labels':>8} " + " ".join(f"{arm:>17}" for arm in ARMS))
        for c in CHECKPOINTS:
            print(f"{c:>8} " + " ".join(f"{per_arm[arm][c]:>17.3f}" for arm in ARMS))
    print(f"\nmedian [min-max] held-out accuracy over {seeds} seed(s), by human labels")
    print(f"{'labels':>8} " + " ".join(f"{arm:>24}" for arm in ARMS))
    for c in CHECKPOINTS:
        print(f"{c:>8} " + " ".join(f"{spread(results[arm][c]):>24}" for arm in ARMS))
    print("\nmean accuracy over the checkpoints (area under the curve), median over seeds; vs random")
    base = statistics.median(statistics.mean(results["random"][c][s] for c in CHECKPOINTS) for s in range(seeds))
    for arm in ARMS:
        area = statistics.median(statistics.mean(results[arm][c][s] for c in CHECKPOINTS) for s in range(seeds))
        print(f"  {arm:>17}: {area:.3f} ({area - base:+.3f})")
    print(f"\n{time.perf_counter() - started:.1f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
