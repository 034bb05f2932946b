"""Span and box agreement (app/quality/regions.py): regions compared as sets, one-to-one matching.

Hand-computed cases (arithmetic in the comments), cases where a greedy matching would fall short
of the maximum one, and properties: symmetry, order invariance, bounds, identical lists give 1.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.quality.regions import BoxMatch, box_iou, box_match, mean_pairwise, span_f1

PROPERTY = settings(database=None, deadline=None, max_examples=200)


def span(start: int, end: int, label: str = "PER") -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


def box(x: float, y: float, width: float, height: float, label: str = "cat") -> dict[str, Any]:
    return {"x": x, "y": y, "width": width, "height": height, "label": label}


# -- spans ---------------------------------------------------------------------------------------


def test_exact_spans_by_hand() -> None:
    # a: [0,5) PER, [6,9) ORG, [10,12) PER; b: [0,5) PER, [6,9) PER. One exact match: F1 = 2 * 1 / (3 + 2) = 0.4
    a = [span(0, 5), span(6, 9, "ORG"), span(10, 12)]
    b = [span(0, 5), span(6, 9)]
    assert span_f1(a, b) == pytest.approx(0.4)
    assert span_f1(b, a) == pytest.approx(0.4)


def test_spans_are_sets_order_and_repeats_do_not_count() -> None:
    a = [span(0, 5), span(6, 9), span(0, 5)]
    b = [span(6, 9), span(0, 5)]
    assert span_f1(a, b) == 1.0
    assert span_f1(a, b, match="overlap") == 1.0


def test_empty_spans() -> None:
    assert span_f1([], []) == 1.0
    assert span_f1([], [], match="overlap") == 1.0
    assert span_f1([span(0, 1)], []) == 0.0
    assert span_f1([], [span(0, 1)], match="overlap") == 0.0


def test_overlap_needs_the_same_label_and_a_shared_character() -> None:
    # [0,5) and [5,8) touch but share no character (end exclusive); [0,5) PER vs [2,4) ORG differ in label.
    assert span_f1([span(0, 5)], [span(5, 8)], match="overlap") == 0.0
    assert span_f1([span(0, 5)], [span(2, 4, "ORG")], match="overlap") == 0.0
    assert span_f1([span(0, 5)], [span(4, 8)], match="overlap") == 1.0
    # A zero-length span overlaps nothing, not even itself; exact matching still pairs it.
    assert span_f1([span(3, 3)], [span(3, 3)], match="overlap") == 0.0
    assert span_f1([span(3, 3)], [span(3, 3)]) == 1.0


def test_overlap_matches_one_to_one() -> None:
    # One long span in a overlaps two spans in b: only one pair, F1 = 2 * 1 / (1 + 2) = 2/3.
    assert span_f1([span(0, 20)], [span(0, 5), span(10, 15)], match="overlap") == pytest.approx(2 / 3)


def test_overlap_matching_is_maximum_not_greedy() -> None:
    # a1 [0,10) overlaps b1 [5,15) by 5 and b2 [0,2) by 2; a2 [12,14) overlaps only b1 (by 2).
    # Greedy by overlap size takes a1-b1 first and leaves a2 and b2 alone: F1 = 2 * 1 / 4 = 0.5.
    # The maximum matching is a1-b2, a2-b1: F1 = 2 * 2 / 4 = 1.0.
    a = [span(0, 10), span(12, 14)]
    b = [span(5, 15), span(0, 2)]
    assert span_f1(a, b, match="overlap") == 1.0


def test_malformed_spans_are_refused() -> None:
    with pytest.raises(ValueError, match="ends before"):
        span_f1([span(5, 2)], [])
    with pytest.raises(ValueError, match="integers"):
        span_f1([{"start": 1.5, "end": 3, "label": "PER"}], [])
    with pytest.raises(ValueError, match="match"):
        span_f1([], [], match="fuzzy")  # type: ignore[arg-type]


spans = st.lists(
    st.builds(
        lambda start, length, label: span(start, start + length, label),
        st.integers(0, 30),
        st.integers(0, 8),
        st.sampled_from(["PER", "ORG"]),
    ),
    max_size=8,
)


@PROPERTY
@given(spans, spans, st.sampled_from(["exact", "overlap"]), st.randoms(use_true_random=False))
def test_span_f1_is_symmetric_order_free_and_bounded(a: list[Any], b: list[Any], match: Any, rnd: Any) -> None:
    score = span_f1(a, b, match)
    assert 0.0 <= score <= 1.0
    assert span_f1(b, a, match) == pytest.approx(score)
    shuffled_a, shuffled_b = a[:], b[:]
    rnd.shuffle(shuffled_a)
    rnd.shuffle(shuffled_b)
    assert span_f1(shuffled_a, shuffled_b, match) == pytest.approx(score)


@PROPERTY
@given(spans, spans)
def test_exact_matches_are_overlaps_and_identical_lists_agree(a: list[Any], b: list[Any]) -> None:
    # Every exact match of a non-empty span is also an overlap match.
    non_empty_a = [s for s in a if s["end"] > s["start"]]
    non_empty_b = [s for s in b if s["end"] > s["start"]]
    assert span_f1(non_empty_a, non_empty_b, "overlap") >= span_f1(non_empty_a, non_empty_b, "exact") - 1e-12
    assert span_f1(a, list(a)) == 1.0
    assert span_f1(non_empty_a, list(reversed(non_empty_a)), "overlap") == 1.0


# -- boxes ---------------------------------------------------------------------------------------


def test_box_iou_by_hand() -> None:
    # (0,0,2,2) and (1,1,2,2): intersection 1x1 = 1, union 4 + 4 - 1 = 7.
    assert box_iou(box(0, 0, 2, 2), box(1, 1, 2, 2)) == pytest.approx(1 / 7)
    # Containment: 2x2 inside 4x4 -> 4 / 16.
    assert box_iou(box(0, 0, 4, 4), box(1, 1, 2, 2)) == pytest.approx(0.25)
    # Touching edges share no area.
    assert box_iou(box(0, 0, 2, 2), box(2, 0, 2, 2)) == 0.0
    assert box_iou(box(0, 0, 2, 2), box(0, 0, 2, 2, "dog")) == 1.0  # labels are not looked at


def test_degenerate_boxes() -> None:
    assert box_iou(box(1, 1, 0, 0), box(1, 1, 0, 0)) == 1.0
    assert box_iou(box(1, 1, 0, 0), box(2, 1, 0, 0)) == 0.0
    assert box_iou(box(1, 1, 0, 3), box(0, 0, 4, 4)) == 0.0  # a line inside a box: no area in common
    with pytest.raises(ValueError, match="negative"):
        box_iou(box(0, 0, -1, 2), box(0, 0, 1, 1))
    with pytest.raises(ValueError, match="finite"):
        box_iou(box(0, 0, float("nan"), 2), box(0, 0, 1, 1))


def test_box_match_by_hand() -> None:
    # cat (0,0,2,2) vs cat (0,0,2,1): IoU 2/4 = 0.5 >= 0.5, matched. dog (10,10,2,2) vs cat (10,10,2,2): labels differ.
    # a has 2 boxes, b 2; one match: precision 1/2, recall 1/2, F1 = 2 * 1 / 4 = 0.5, mean IoU 0.5.
    a = [box(0, 0, 2, 2), box(10, 10, 2, 2, "dog")]
    b = [box(10, 10, 2, 2), box(0, 0, 2, 1)]
    result = box_match(a, b)
    assert result == BoxMatch(pairs=((0, 1),), precision=0.5, recall=0.5, f1=0.5, mean_iou=0.5)


def test_box_match_threshold() -> None:
    # IoU 1/7: no match at 0.5, a match at 0.1.
    a, b = [box(0, 0, 2, 2)], [box(1, 1, 2, 2)]
    assert box_match(a, b).f1 == 0.0
    assert box_match(a, b).mean_iou is None
    low = box_match(a, b, iou_threshold=0.1)
    assert (low.pairs, low.f1) == (((0, 0),), 1.0)
    assert low.mean_iou == pytest.approx(1 / 7)
    # Threshold 0 still needs some overlap.
    assert box_match([box(0, 0, 1, 1)], [box(5, 5, 1, 1)], iou_threshold=0.0).pairs == ()
    with pytest.raises(ValueError, match="iou_threshold"):
        box_match(a, b, iou_threshold=1.5)


def test_box_match_maximises_summed_iou_not_greedy() -> None:
    # Boxes one unit high on the same row, so IoU is the IoU of the x-intervals:
    # a1 [0,10) vs b1 [1,10): 9/10; a1 vs b2 [0,6): 6/10; a2 [2,10) vs b1: 8/9; a2 vs b2: 4/10 (< 0.5).
    # Greedy takes a1-b1 (0.9) and matches nothing else. The assignment a1-b2 + a2-b1 sums 0.6 + 8/9 = 1.489 > 0.9.
    a = [box(0, 0, 10, 1), box(2, 0, 8, 1)]
    b = [box(1, 0, 9, 1), box(0, 0, 6, 1)]
    result = box_match(a, b)
    assert result.pairs == ((0, 1), (1, 0))
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)
    assert result.mean_iou == pytest.approx((0.6 + 8 / 9) / 2)


def test_box_match_empty_sides() -> None:
    assert box_match([], []) == BoxMatch(pairs=(), precision=1.0, recall=1.0, f1=1.0, mean_iou=None)
    assert box_match([], [box(0, 0, 1, 1)]) == BoxMatch(pairs=(), precision=0.0, recall=0.0, f1=0.0, mean_iou=None)
    assert box_match([box(0, 0, 1, 1)], []) == BoxMatch(pairs=(), precision=0.0, recall=0.0, f1=0.0, mean_iou=None)


def test_repeated_boxes_count_once_and_pairs_name_the_first() -> None:
    a = [box(5, 5, 1, 1, "dog"), box(0, 0, 2, 2), box(0, 0, 2, 2)]
    b = [box(0, 0, 2, 2)]
    result = box_match(a, b)
    # a holds two distinct boxes; the cat matches: precision 1/2, recall 1, F1 = 2 / 3.
    assert result.pairs == ((1, 0),)
    assert (result.precision, result.recall) == (0.5, 1.0)
    assert result.f1 == pytest.approx(2 / 3)


boxes = st.lists(
    st.builds(
        box,
        st.integers(0, 10),
        st.integers(0, 10),
        st.integers(0, 6),
        st.integers(0, 6),
        st.sampled_from(["cat", "dog"]),
    ),
    max_size=6,
)


@PROPERTY
@given(boxes, boxes, st.sampled_from([0.0, 0.3, 0.5, 0.9]), st.randoms(use_true_random=False))
def test_box_match_is_symmetric_order_free_and_bounded(a: list[Any], b: list[Any], threshold: float, rnd: Any) -> None:
    result = box_match(a, b, threshold)
    assert 0.0 <= result.f1 <= 1.0
    assert 0.0 <= result.precision <= 1.0
    assert 0.0 <= result.recall <= 1.0
    assert result.mean_iou is None or threshold - 1e-12 <= result.mean_iou <= 1.0
    assert len({i for i, _ in result.pairs}) == len(result.pairs) == len({j for _, j in result.pairs})
    for i, j in result.pairs:
        assert a[i]["label"] == b[j]["label"]
        assert box_iou(a[i], b[j]) >= threshold
    flipped = box_match(b, a, threshold)
    assert flipped.f1 == pytest.approx(result.f1)
    assert (flipped.precision, flipped.recall) == (pytest.approx(result.recall), pytest.approx(result.precision))
    order = list(range(len(a)))
    rnd.shuffle(order)
    shuffled = box_match([a[i] for i in order], b, threshold)
    assert shuffled.f1 == pytest.approx(result.f1)
    assert (shuffled.mean_iou is None) == (result.mean_iou is None)
    if result.mean_iou is not None:
        assert shuffled.mean_iou == pytest.approx(result.mean_iou)


@PROPERTY
@given(boxes)
def test_identical_box_lists_agree_fully(a: list[Any]) -> None:
    # Every box matches itself (IoU 1, or 1 for the same zero-area box), so F1 is 1.
    assert box_match(a, list(reversed(a))).f1 == 1.0


@PROPERTY
@given(
    st.builds(box, st.integers(0, 9), st.integers(0, 9), st.integers(0, 5), st.integers(0, 5)),
    st.builds(box, st.integers(0, 9), st.integers(0, 9), st.integers(0, 5), st.integers(0, 5)),
)
def test_box_iou_is_symmetric_and_bounded(a: dict[str, Any], b: dict[str, Any]) -> None:
    value = box_iou(a, b)
    assert 0.0 <= value <= 1.0
    assert box_iou(b, a) == value
    assert box_iou(a, a) == 1.0


# -- mean over annotator pairs -------------------------------------------------------------------


def test_mean_pairwise_by_hand() -> None:
    # Three annotators: (1,2) agree fully (1.0), (1,3) and (2,3) share nothing (0.0): mean 1/3.
    by_annotator = [[span(0, 5)], [span(0, 5)], [span(7, 9)]]
    assert mean_pairwise(by_annotator, span_f1) == pytest.approx(1 / 3)
    boxes_by_annotator = [[box(0, 0, 2, 2)], [box(0, 0, 2, 1)]]
    assert mean_pairwise(boxes_by_annotator, lambda x, y: box_match(x, y).f1) == 1.0


def test_mean_pairwise_needs_two_annotators() -> None:
    assert mean_pairwise([[span(0, 5)]], span_f1) is None
    assert mean_pairwise([], span_f1) is None
