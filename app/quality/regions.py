"""Agreement on regions: text spans and image boxes, compared as sets (their order carries no meaning).

A span is `{"start": int, "end": int, "label": str}` with `end` exclusive; a box is
`{"x", "y", "width", "height", "label"}` with the origin at its top-left corner. Two identical regions
in one annotator's list count once. Pure: numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal, TypeVar

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import maximum_bipartite_matching

from app.quality.ratings import FloatArray

Span = Mapping[str, Any]
Box = Mapping[str, Any]
T = TypeVar("T")

SpanKey = tuple[int, int, str]
BoxKey = tuple[str, float, float, float, float]


def _span_key(span: Span) -> SpanKey:
    start, end = span["start"], span["end"]
    if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
        raise ValueError("a span's start and end are integers")
    if end < start:
        raise ValueError("a span ends before it starts")
    return (start, end, str(span["label"]))


def _f1(matched: int, first: int, second: int) -> float:
    """2 * matched / (first + second): 1.0 when both sides are empty."""
    if first + second == 0:
        return 1.0
    return 2.0 * matched / (first + second)


def span_f1(a: Sequence[Span], b: Sequence[Span], match: Literal["exact", "overlap"] = "exact") -> float:
    """F1 between two annotators' spans on one text: 2 * matched / (|a| + |b|), symmetric in a and b.

    "exact": a span matches a span with the same start, end and label. "overlap": spans match when they
    have the same label and their ranges share at least one character (a zero-length span overlaps
    nothing), each span matched at most once; the matching is a maximum one (the most pairs possible,
    Hopcroft-Karp via scipy's maximum_bipartite_matching), so F1 does not depend on the order of the
    lists. Both empty -> 1.0; one empty -> 0.0. ValueError for a non-integer bound or end < start.
    """
    first = sorted({_span_key(s) for s in a})
    second = sorted({_span_key(s) for s in b})
    if match == "exact":
        return _f1(len(set(first) & set(second)), len(first), len(second))
    if match != "overlap":
        raise ValueError(f"unknown span match: {match!r}")
    if not first or not second:
        return _f1(0, len(first), len(second))
    start_a, end_a = (np.array([s[i] for s in first], dtype=np.int64) for i in (0, 1))
    start_b, end_b = (np.array([s[i] for s in second], dtype=np.int64) for i in (0, 1))
    same_label = np.equal.outer(np.array([s[2] for s in first]), np.array([s[2] for s in second]))
    overlapping = (start_a[:, None] < end_b[None, :]) & (start_b[None, :] < end_a[:, None])
    graph = sparse.csr_array((same_label & overlapping).astype(np.int8))
    if graph.nnz == 0:
        return _f1(0, len(first), len(second))
    partner = maximum_bipartite_matching(graph, perm_type="column")
    return _f1(int((partner >= 0).sum()), len(first), len(second))


def _box_key(box: Box) -> BoxKey:
    x, y, width, height = (float(box[name]) for name in ("x", "y", "width", "height"))
    if not np.isfinite([x, y, width, height]).all():
        raise ValueError("a box's coordinates are finite numbers")
    if width < 0 or height < 0:
        raise ValueError("a box's width and height are not negative")
    return (str(box["label"]), x, y, width, height)


def _iou_matrix(first: Sequence[BoxKey], second: Sequence[BoxKey]) -> FloatArray:
    """IoU of every box of `first` with every box of `second`, ignoring labels."""
    a = np.array([k[1:] for k in first], dtype=np.float64).reshape(-1, 4)
    b = np.array([k[1:] for k in second], dtype=np.float64).reshape(-1, 4)
    left = np.maximum.outer(a[:, 0], b[:, 0])
    right = np.minimum.outer(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    top = np.maximum.outer(a[:, 1], b[:, 1])
    bottom = np.minimum.outer(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = np.add.outer(a[:, 2] * a[:, 3], b[:, 2] * b[:, 3]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    # Two degenerate (zero-area) boxes have no union: the same box is a full match, any other none.
    same = (a[:, None, :] == b[None, :, :]).all(axis=2)
    return np.asarray(np.where((union <= 0) & same, 1.0, iou), dtype=np.float64)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes' areas, in [0, 1]; labels are not looked at.

    Two zero-area boxes give 1.0 when they are the same box and 0.0 otherwise. ValueError for a
    negative width or height or a non-finite coordinate.
    """
    return float(_iou_matrix([_box_key(a)], [_box_key(b)])[0, 0])


@dataclass(frozen=True)
class BoxMatch:
    pairs: tuple[tuple[int, int], ...]  # (index in a, index in b) of each matched pair, sorted
    precision: float  # matched / boxes in a
    recall: float  # matched / boxes in b
    f1: float  # 2 * matched / (|a| + |b|)
    mean_iou: float | None  # mean IoU over the matched pairs; None when nothing matched


def box_match(a: Sequence[Box], b: Sequence[Box], iou_threshold: float = 0.5) -> BoxMatch:
    """One-to-one matching of two annotators' boxes on one image, and its precision, recall and F1.

    Two boxes can match when they have the same label and an IoU >= `iou_threshold` and > 0; among such
    pairs, the matching maximises the summed IoU (Hungarian algorithm, scipy's linear_sum_assignment).
    Identical boxes within a list count once (the pair names the first one); the boxes are put in a
    canonical order first, so the result does not depend on the lists' order. Counts: precision is
    matched / |a|, recall matched / |b|, each 1.0 when both lists are empty and 0.0 when only its own
    denominator is 0 (zero division -> 0.0); f1 is 1.0 when both are empty, 0.0 when one is.
    ValueError for a threshold outside [0, 1] or a malformed box.
    """
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError("iou_threshold is within [0, 1]")
    first_at: dict[BoxKey, int] = {}
    for i, box in enumerate(a):
        first_at.setdefault(_box_key(box), i)
    second_at: dict[BoxKey, int] = {}
    for j, box in enumerate(b):
        second_at.setdefault(_box_key(box), j)
    first, second = sorted(first_at), sorted(second_at)
    pairs: list[tuple[int, int]] = []
    ious: list[float] = []
    if first and second:
        iou = _iou_matrix(first, second)
        same_label = np.equal.outer(np.array([k[0] for k in first]), np.array([k[0] for k in second]))
        allowed = same_label & (iou >= iou_threshold) & (iou > 0)
        gain = np.where(allowed, iou, 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if allowed[i, j]:
                pairs.append((first_at[first[i]], second_at[second[j]]))
                ious.append(float(iou[i, j]))
    matched = len(pairs)
    both_empty = not first and not second
    precision = matched / len(first) if first else (1.0 if both_empty else 0.0)
    recall = matched / len(second) if second else (1.0 if both_empty else 0.0)
    return BoxMatch(
        pairs=tuple(sorted(pairs)),
        precision=precision,
        recall=recall,
        f1=_f1(matched, len(first), len(second)),
        mean_iou=float(np.mean(ious)) if ious else None,
    )


def mean_pairwise(values_by_annotator: Sequence[T], measure: Callable[[T, T], float]) -> float | None:
    """The mean of a symmetric `measure` over every pair of annotators' values on one item.

    E.g. `mean_pairwise(spans_by_annotator, span_f1)` or
    `mean_pairwise(boxes_by_annotator, lambda a, b: box_match(a, b).f1)`. Returns None with fewer than
    two annotators.
    """
    scores = [measure(x, y) for x, y in combinations(values_by_annotator, 2)]
    return float(np.mean(scores)) if scores else None
