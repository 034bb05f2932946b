"""`labelgraph quality`: agreement and aggregation over a labels file from elsewhere (`labels_file`).

Both commands print JSON on stdout. A bad file or option is one `error: ...` line on stderr and exit
code 2 (as in `app.cli`), never a traceback. No database, no settings: the file is all they read.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from app.quality.aggregation import Aggregate, dawid_skene, majority_vote, weighted_vote
from app.quality.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha, pairwise_agreement
from app.quality.labels_file import LabelsFileError, read_labels
from app.quality.ratings import FloatArray, Ratings

# The exit code of a command that could not run on what it was given (app.cli's CONFIG_ERROR).
INPUT_ERROR = 2

quality = typer.Typer(
    no_args_is_help=True,
    help="Agreement and aggregated labels from a labels file (JSON Lines or CSV of item_id, annotator_id, label); "
    "a project's quality report from the API (report).",
)


class Level(StrEnum):
    nominal = "nominal"
    ordinal = "ordinal"
    interval = "interval"
    ratio = "ratio"


class Weights(StrEnum):
    none = "none"
    linear = "linear"
    quadratic = "quadratic"


class Method(StrEnum):
    majority = "majority"
    weighted = "weighted"
    dawid_skene = "dawid-skene"


FILE_HELP = (
    'JSON Lines of {"item_id": str, "annotator_id": str, "label": int | str | null}, or a .csv with the header '
    "item_id,annotator_id,label (an integer cell is an integer, an empty one null). Null labels are dropped."
)


def _fail(message: str) -> typer.Exit:
    """Print one line to stderr; raise what this returns to exit with INPUT_ERROR."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(INPUT_ERROR)


def _ratings(path: Path) -> Ratings:
    try:
        rows = read_labels(path)
    except LabelsFileError as exc:
        raise _fail(str(exc)) from None
    return Ratings.from_rows((row.item_id, row.annotator_id, row.label) for row in rows)


@quality.command()
def agreement(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=FILE_HELP, show_default=False)],
    level: Annotated[
        Level, typer.Option(help="Krippendorff's alpha level; interval and ratio need integer labels.")
    ] = Level.nominal,
    weights: Annotated[
        Weights, typer.Option(help="Cohen's kappa weights, by the labels' sort order (integers as numbers).")
    ] = Weights.none,
) -> None:
    """Print one JSON object: counts, pairwise agreement, Krippendorff's alpha, Fleiss' and Cohen's kappa.

    pairwise_agreement: agreeing label pairs / all pairs, pooled over items with two labels or more.

    fleiss_kappa is null unless every item has the same number (at least 2) of labels.

    cohen_kappa is null unless there are exactly two annotators; it uses the items both labeled.

    A statistic is null, too, when it is undefined (no pairable items, or no variation in the labels).
    """
    r = _ratings(file)
    if level in (Level.interval, Level.ratio):
        text = next((c for c in r.classes if isinstance(c, str)), None)
        if text is not None:
            raise _fail(f"--level {level.value} needs integer labels; {text!r} is a string")
    result = {
        "items": r.n_items,
        "annotators": r.n_annotators,
        "labels": r.n_labels,
        "classes": list(r.classes),
        "level": level.value,
        "weights": weights.value,
        "pairwise_agreement": pairwise_agreement(r),
        "krippendorff_alpha": krippendorff_alpha(r, level.value),
        "fleiss_kappa": fleiss_kappa(r),
        "cohen_kappa": cohen_kappa(r, weights.value),
    }
    typer.echo(json.dumps(result))


def _majority_confusion(r: Ratings, aggregate: Aggregate) -> tuple[FloatArray, FloatArray]:
    """Per annotator: its labels against the majority labels, as (accuracy, confusion[a, majority, given]).

    Accuracy is the share of its labels that equal the item's majority label; a confusion row is the
    distribution of its labels on the items whose majority label is that class, uniform (1/K) for a
    class it never met (as Dawid-Skene does for what it has not seen).
    """
    a, k = r.n_annotators, r.n_classes
    truth = aggregate.label[r.item]
    flat = np.bincount((r.annotator * k + truth) * k + r.value, minlength=a * k * k)
    counts = flat.reshape(a, k, k).astype(np.float64)
    rows = counts.sum(axis=2, keepdims=True)
    confusion = np.divide(counts, rows, out=np.full_like(counts, 1.0 / k), where=rows > 0)
    per_annotator = np.bincount(r.annotator, minlength=a).astype(np.float64)
    agreeing = np.bincount(r.annotator, weights=(truth == r.value).astype(np.float64), minlength=a)
    return agreeing / np.maximum(per_annotator, 1.0), confusion


def _annotators_report(r: Ratings, method: Method, aggregate: Aggregate, fit: Aggregate | None) -> dict[str, Any]:
    """The --annotators file: per annotator its label count, estimated accuracy and confusion matrix."""
    if fit is not None and fit.confusion is not None:
        accuracy = fit.annotator_accuracy_estimate()
        assert accuracy is not None  # a fit with a confusion has a prior
        confusion = fit.confusion
        source = "dawid-skene"
    else:
        accuracy, confusion = _majority_confusion(r, aggregate)
        source = "majority"
    per_annotator = np.bincount(r.annotator, minlength=r.n_annotators)
    return {
        "method": method.value,
        "estimated_by": source,
        "classes": list(r.classes),
        "confusion_layout": "confusion[true][given], rows and columns in the order of classes; each row sums to 1",
        "prior": None if fit is None or fit.prior is None else [float(p) for p in fit.prior],
        "iterations": None if fit is None else fit.iterations,
        "converged": None if fit is None else fit.converged,
        "annotators": [
            {
                "annotator_id": annotator_id,
                "labels": int(per_annotator[i]),
                "accuracy": float(accuracy[i]),
                "confusion": [[float(p) for p in row] for row in confusion[i]],
            }
            for i, annotator_id in enumerate(r.annotator_ids)
        ],
    }


@quality.command()
def aggregate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=FILE_HELP, show_default=False)],
    method: Annotated[
        Method,
        typer.Option(
            help="majority, weighted (each annotator's reliability from a Dawid-Skene fit) or dawid-skene.",
            show_default=False,
        ),
    ],
    max_iter: Annotated[
        int, typer.Option("--max-iter", min=0, help="EM iterations at most (dawid-skene and weighted).")
    ] = 100,
    tol: Annotated[
        float, typer.Option(min=0.0, help="EM stops when the loss gains less than this (dawid-skene and weighted).")
    ] = 1e-5,
    annotators: Annotated[
        Path | None,
        typer.Option(
            "--annotators",
            help=(
                "Write each annotator's estimated accuracy and confusion matrix (with the class list) here as JSON: "
                "the Dawid-Skene fit's for dawid-skene and weighted, its labels against the majority labels "
                "for majority."
            ),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print one JSON line per item, sorted by item_id: {"item_id", "label", "confidence"}.

    majority: the most frequent label; confidence = its share of the item's labels.

    weighted: each label votes log(K - 1) + log(p / (1 - p)); confidence = the label's posterior.

    Here p is an annotator's accuracy as a Dawid-Skene fit of the file estimates it: sum_k prior_k * C_kk.

    dawid-skene: Dawid & Skene's (1979) EM; confidence = the label's posterior.

    --max-iter and --tol apply to the Dawid-Skene fit (dawid-skene and weighted).

    Ties go to the smallest label (integers as numbers, strings as strings).
    """
    if not math.isfinite(tol):
        raise _fail("--tol must be a finite number")
    r = _ratings(file)
    fit: Aggregate | None = None
    if method is Method.majority:
        result = majority_vote(r)
    else:
        fit = dawid_skene(r, max_iter=max_iter, tol=tol)
        if method is Method.dawid_skene:
            result = fit
        else:
            accuracy = fit.annotator_accuracy_estimate()
            assert accuracy is not None  # dawid_skene fills confusion and prior
            result = weighted_vote(r, np.clip(accuracy, 0.0, 1.0))
        if not fit.converged:
            typer.echo(f"warning: Dawid-Skene stopped after --max-iter {max_iter} iterations, not converged", err=True)
    if annotators is not None:
        report = _annotators_report(r, method, result, fit)
        try:
            annotators.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise _fail(f"{annotators}: cannot write: {exc.strerror}") from None
    lines = (
        json.dumps({"item_id": item_id, "label": r.classes[label], "confidence": float(confidence)})
        for item_id, label, confidence in zip(r.item_ids, result.label.tolist(), result.confidence, strict=True)
    )
    typer.echo("\n".join(lines))
