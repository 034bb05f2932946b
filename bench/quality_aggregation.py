"""Aggregation on the seeded crowd: our Dawid-Skene against crowd-kit's, side by side in one run.

    .venv/bin/python -m bench.quality_aggregation [--runs N] [--items N] [--max-iter N] [--tol X] [--profile]

On `bench.crowd.make_crowd()` (100,000 items x 5 labels, 10 classes, 50 annotators of mixed skill)
it times `app.quality.aggregation.dawid_skene` (from the `Ratings`, incidence included) and
crowd-kit's `DawidSkene(n_iter=max_iter, tol=tol).fit_predict` (its DataFrame built once, outside
the timing), alternating the two, with the same stopping rule. Then majority and weighted votes
(ours, and crowd-kit's MajorityVote as the peer). Prints medians with [min-max], the ratios, the
share of items given the same label, and every method's accuracy against the crowd's truth.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene, MajorityVote

from app.quality.aggregation import dawid_skene, majority_vote, weighted_vote
from bench.crowd import make_crowd

TARGET_RATIO = 8.0
TARGET_SAME = 0.999


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s [{min(times):.3f}-{max(times):.3f}]"


def their_labels(series: pd.Series[Any], n_items: int) -> np.ndarray:
    # Tasks are our item indices (make_crowd numbers items 0..n-1), so reindexing lines them up.
    return series.reindex(range(n_items)).to_numpy(dtype=np.intp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality_aggregation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each method (default 3)")
    parser.add_argument("--items", type=int, default=100_000, help="items in the crowd (default 100,000)")
    parser.add_argument("--max-iter", type=int, default=100, help="EM iterations at most, both (default 100)")
    parser.add_argument("--tol", type=float, default=1e-5, help="stopping tolerance, both (default 1e-5)")
    parser.add_argument("--profile", action="store_true", help="also profile one run of our Dawid-Skene")
    args = parser.parse_args(argv)
    # crowd-kit 1.4 still passes inplace=/copy= to pandas 3, which warns on every call.
    warnings.simplefilter("ignore", pd.errors.Pandas4Warning)

    crowd = make_crowd(n_items=args.items)
    ratings, truth = crowd.ratings, crowd.truth
    frame = pd.DataFrame({"task": ratings.item, "worker": ratings.annotator, "label": ratings.value})
    print(
        f"crowd: {ratings.n_items:,} items, {ratings.n_labels:,} labels, {ratings.n_classes} classes, "
        f"{ratings.n_annotators} annotators; max_iter={args.max_iter}, tol={args.tol:g}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    # Dawid-Skene, alternating ours and theirs so both see the same machine.
    ours_times: list[float] = []
    theirs_times: list[float] = []
    ours = labels = None
    model = DawidSkene(n_iter=args.max_iter, tol=args.tol)
    for _ in range(args.runs):
        seconds, ours = timed(partial(dawid_skene, ratings, max_iter=args.max_iter, tol=args.tol))
        ours_times.append(seconds)
        model = DawidSkene(n_iter=args.max_iter, tol=args.tol)
        seconds, labels = timed(partial(model.fit_predict, frame))
        theirs_times.append(seconds)
    assert ours is not None
    assert labels is not None
    theirs_label = their_labels(labels, ratings.n_items)
    same = float(np.mean(ours.label == theirs_label))
    ratio = statistics.median(theirs_times) / statistics.median(ours_times)
    probas = model.probas_.reindex(range(ratings.n_items))[list(range(ratings.n_classes))].to_numpy()
    print("\nDawid-Skene")
    print(f"  ours       {spread(ours_times)}  {ours.iterations} iterations, converged={ours.converged}")
    print(f"  crowd-kit  {spread(theirs_times)}  {len(model.loss_history_)} iterations")
    print(
        f"  ratio      crowd-kit / ours = {ratio:.1f}x  (target >= {TARGET_RATIO:g}x: {verdict(ratio >= TARGET_RATIO)})"
    )
    print(f"  same label {same:.4%} of items  (target >= {TARGET_SAME:.1%}: {verdict(same >= TARGET_SAME)})")
    print(f"  posterior  largest difference {np.abs(ours.posterior - probas).max():.1e}")
    print(f"  accuracy   ours {np.mean(ours.label == truth):.4f}, crowd-kit {np.mean(theirs_label == truth):.4f}")

    # Votes.
    reliability = ours.annotator_accuracy_estimate()
    assert reliability is not None
    mv_times, wv_times, peer_times = [], [], []
    for _ in range(args.runs):
        seconds, majority = timed(lambda: majority_vote(ratings))
        mv_times.append(seconds)
        seconds, weighted = timed(lambda: weighted_vote(ratings, reliability))
        wv_times.append(seconds)
        seconds, peer = timed(lambda: MajorityVote().fit_predict(frame))
        peer_times.append(seconds)
    peer_label = their_labels(peer, ratings.n_items)
    counts = ratings.counts()
    untied = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) == 1
    print("\nVotes (weighted: one-coin log-odds of the accuracies our Dawid-Skene estimated)")
    print(f"  majority   ours {spread(mv_times)}, accuracy {np.mean(majority.label == truth):.4f}")
    print(
        f"  majority   crowd-kit MajorityVote {spread(peer_times)}, "
        f"ratio {statistics.median(peer_times) / statistics.median(mv_times):.1f}x, "
        f"same label {np.mean(majority.label == peer_label):.2%} of items, "
        f"{np.mean(majority.label[untied] == peer_label[untied]):.4%} of the {untied.mean():.1%} without a tie"
    )
    print("             (crowd-kit breaks ties by the order classes first appear in, ours to the smallest class)")
    print(f"  weighted   ours {spread(wv_times)}, accuracy {np.mean(weighted.label == truth):.4f}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        dawid_skene(ratings, max_iter=args.max_iter, tol=args.tol)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print("\nProfile of one run of ours (tottime):")
        print(out.getvalue())
    return 0


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
