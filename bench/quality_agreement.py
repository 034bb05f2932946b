"""How long the agreement statistics take on a large crowd, next to the `krippendorff` package.

    .venv/bin/python -m bench.quality_agreement [--runs N] [--items N]

On bench.crowd.make_crowd() (100,000 items x 5 labels x 10 classes x 50 annotators) it times our
krippendorff_alpha (nominal and interval), from the Ratings as they are (our preprocessing is
inside the time), against krippendorff.alpha given the annotators x items reliability matrix with
nan for missing labels (building that matrix is outside its time). Then it times pairwise
agreement, Fleiss' kappa (next to statsmodels, given the items x classes table), per-class alpha
and the per-pair figures. Prints medians of the runs; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import krippendorff
import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from app.quality.agreement import (
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_agreement,
    per_class_agreement,
    per_pair_agreement,
)
from bench.crowd import make_crowd


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times = []
    result: Any = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def figure(times: list[float]) -> str:
    return f"{statistics.median(times) * 1e3:8.1f} ms [{min(times) * 1e3:.1f}-{max(times) * 1e3:.1f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality_agreement", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args(argv)

    crowd = make_crowd(n_items=args.items)
    r = crowd.ratings
    print(
        f"crowd: {r.n_items:,} items, {r.n_labels:,} labels, {r.n_classes} classes, {r.n_annotators} annotators; "
        f"median [min-max] of {args.runs} runs"
    )
    # The peer's input, built outside its time: annotators x items, the class value or nan.
    reliability = np.full((r.n_annotators, r.n_items), np.nan)
    reliability[r.annotator, r.item] = np.asarray(r.classes, dtype=np.float64)[r.value]

    print("\nKrippendorff's alpha        ours                          krippendorff.alpha            peer/ours  |diff|")
    for level in ("nominal", "interval"):
        ours_times, ours = timed(lambda level=level: krippendorff_alpha(r, level), args.runs)
        peer_times, peer = timed(
            lambda level=level: krippendorff.alpha(reliability_data=reliability, level_of_measurement=level), args.runs
        )
        ratio = statistics.median(peer_times) / statistics.median(ours_times)
        print(
            f"  {level:<24}  {figure(ours_times):<28}  {figure(peer_times):<28}  {ratio:7.1f}x  "
            f"{abs(ours - float(peer)):.1e}   (alpha {ours:.6f})"
        )

    print("\nother statistics            ours                          peer")
    times, value = timed(lambda: pairwise_agreement(r), args.runs)
    print(f"  {'pairwise_agreement':<24}  {figure(times):<28}  {'-':<28}  value {value:.6f}")
    table = r.counts()
    ours_times, ours = timed(lambda: fleiss_kappa(r), args.runs)
    peer_times, peer = timed(lambda: statsmodels_fleiss(table, method="fleiss"), args.runs)
    print(
        f"  {'fleiss_kappa':<24}  {figure(ours_times):<28}  {figure(peer_times):<28}  "
        f"statsmodels, table built outside its time; |diff| {abs(ours - float(peer)):.1e}"
    )
    times, per_class = timed(lambda: per_class_agreement(r), args.runs)
    print(f"  {'per_class_agreement':<24}  {figure(times):<28}  {'-':<28}  {len(per_class)} classes")
    times, pairs = timed(lambda: per_pair_agreement(r), args.runs)
    print(f"  {'per_pair_agreement':<24}  {figure(times):<28}  {'-':<28}  {len(pairs):,} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
