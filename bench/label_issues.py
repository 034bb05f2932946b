"""Label-issue detection against planted label noise: ours next to cleanlab's, on the same inputs.

    .venv/bin/python -m bench.label_issues [--items 2000] [--seeds 3] [--first-seed 1] [--quick] [--service]

Per scenario and seed: a corpus from `bench.text_corpus` (5 classes, uneven sizes, ambiguous
texts), its true labels with a share flipped (`plant_flips`: uniformly to another class, or to a
neighbouring, confusable class), then out-of-fold probabilities from the built-in classifier
trained on the noisy labels (`classifier.train`, 5-fold). On those same labels and probabilities:

- ours: `app.automation.label_issues.find_label_issues` (default BOTH; the two rules alone too);
- cleanlab: `cleanlab.filter.find_label_issues(labels, pred_probs)` with its defaults
  (prune_by_noise_rate), and with filter_by="both" for reference.

Printed per run and as medians [min-max] over the seeds: items flagged, precision, recall and F1
against the planted flips, and precision among the 50 highest-ranked (what a targeted audit queue
would take first; cleanlab ranked by its normalized margin). Target: our F1 >= cleanlab's default.

With --service, each corpus also runs through the product end to end: a fresh SQLite database
(migrated), a project whose single-choice field has the corpus's classes, the items with their
noisy labels as decisions in force (written straight to the tables: the labeling loop is not what
is measured), then `detectLabelIssues` through the ASGI app as an admin (top = a tenth of the
items, at most 1,000) and every page of `project.labelIssues`. Its ranked issues are scored like the
detectors above ("service"), with "service top K" the items it flagged for audit, and cleanlab's default on
the same out-of-fold probabilities (the built-in model trained as the service trains it: seed 0,
items in id order) printed beside it ("service cleanlab"). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from cleanlab.filter import find_label_issues as cleanlab_find

from app.automation.classifier import train
from app.automation.label_issues import Method, find_label_issues
from bench.text_corpus import make_corpus, plant_flips

SCENARIOS = (("uniform", 0.10), ("neighbour", 0.10), ("uniform", 0.20))
TOP = 50
DETECTORS = ("ours BOTH", "ours PRUNE_BY_CLASS", "ours PRUNE_BY_NOISE_RATE", "cleanlab default", "cleanlab both")
SERVICE = ("service", "service top K", "service cleanlab")


@dataclass(frozen=True)
class Scores:
    flagged: int
    precision: float
    recall: float
    f1: float
    top_precision: float


def score(ranked: npt.NDArray[np.intp], flips: npt.NDArray[np.bool_]) -> Scores:
    hits = int(flips[ranked].sum())
    precision = hits / ranked.size if ranked.size else 0.0
    recall = hits / int(flips.sum())
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    top = ranked[:TOP]
    return Scores(ranked.size, precision, recall, f1, float(flips[top].mean()) if top.size else 0.0)


def detect(given: npt.NDArray[np.intp], proba: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.intp]]:
    """Each detector's flagged items, most likely first."""
    out = {f"ours {m.value}": find_label_issues(given, proba, method=m).indices for m in Method}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about small classes; not what is measured
        for name, filter_by in (("cleanlab default", "prune_by_noise_rate"), ("cleanlab both", "both")):
            out[name] = np.asarray(
                cleanlab_find(given, proba, filter_by=filter_by, return_indices_ranked_by="normalized_margin"),
                dtype=np.intp,
            )
    return out


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.label_issues", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000, help="items per corpus (default 2,000)")
    parser.add_argument("--seeds", type=int, default=3, help="corpora per scenario (default 3)")
    parser.add_argument("--first-seed", type=int, default=1, help="seeds run from here (default 1)")
    parser.add_argument("--quick", action="store_true", help="600 items, 1 seed: a smoke check")
    parser.add_argument("--service", action="store_true", help="also run detectLabelIssues end to end (SQLite)")
    args = parser.parse_args(argv)
    items, seeds = (600, 1) if args.quick else (args.items, args.seeds)
    first = args.first_seed
    print(f"{items} items per corpus, seeds {first}..{first + seeds - 1}; load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    met_all = True
    for kind, rate in SCENARIOS:
        print(f"\n== {rate:.0%} of labels flipped, {kind} ==")
        names = DETECTORS + (SERVICE if args.service else ())
        results: dict[str, list[Scores]] = {d: [] for d in names}
        for seed in range(first, first + seeds):
            corpus = make_corpus(items, seed=seed)
            k = len(corpus.classes)
            given, flips = plant_flips(corpus.truth, k, rate=rate, seed=1000 + seed, neighbour=kind == "neighbour")
            t0 = time.perf_counter()
            trained = train(corpus.texts, [corpus.classes[g] for g in given], classes=corpus.classes, seed=seed)
            seconds = time.perf_counter() - t0
            flagged = detect(given, trained.oof_proba)
            if args.service:
                from bench.label_issues_service import run_service

                t1 = time.perf_counter()
                found = run_service(corpus.texts, [corpus.classes[g] for g in given], corpus.classes)
                flagged.update(found)
                print(f"  service end to end: {time.perf_counter() - t1:.1f} s (migrate, seed, detect, read)")
            print(
                f"seed {seed}: {int(flips.sum())} flips; classifier cv accuracy {trained.cv_accuracy:.3f} "
                f"(on the noisy labels), ECE {trained.calibration.ece:.3f}, trained in {seconds:.1f} s"
            )
            for d in names:
                s = score(flagged[d], flips)
                results[d].append(s)
                print(
                    f"  {d:>25}: flagged {s.flagged:4d}  P {s.precision:.3f}  R {s.recall:.3f}  F1 {s.f1:.3f}"
                    f"  P@{TOP} {s.top_precision:.3f}"
                )
        print(f"median [min-max] over {seeds} seed(s):")
        print(f"  {'detector':>25}  {'flagged':>9}  {'precision':>19}  {'recall':>19}  {'F1':>19}  {f'P@{TOP}':>19}")
        for d in names:
            r = results[d]
            print(
                f"  {d:>25}  {statistics.median(s.flagged for s in r):>9.0f}  {spread([s.precision for s in r]):>19}"
                f"  {spread([s.recall for s in r]):>19}  {spread([s.f1 for s in r]):>19}"
                f"  {spread([s.top_precision for s in r]):>19}"
            )
        ours = statistics.median(s.f1 for s in results["ours BOTH"])
        theirs = statistics.median(s.f1 for s in results["cleanlab default"])
        wins = sum(a.f1 >= b.f1 for a, b in zip(results["ours BOTH"], results["cleanlab default"], strict=True))
        met = ours >= theirs
        met_all &= met
        print(
            f"  target: median F1 ours {ours:.3f} >= cleanlab default {theirs:.3f}: {'met' if met else 'MISSED'}"
            f" (ours >= theirs in {wins} of {seeds} seeds)"
        )
    print(f"\nall targets {'met' if met_all else 'MISSED'}; {time.perf_counter() - started:.1f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
