"""The math of projectOperations on its own: buckets, percentiles, classes, distributions, their
distance, agreement and the attention rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.insights import pure
from app.insights.pure import AttentionReason, Buckets


def test_a_period_is_cut_into_whole_buckets_the_last_one_clipped() -> None:
    buckets = Buckets(0.0, 2.5 * 3600, 3600.0)
    assert buckets.count == 3
    assert buckets.starts() == [0.0, 3600.0, 7200.0]
    assert [buckets.index(t) for t in (0.0, 3599.9, 3600.0, 8999.0)] == [0, 0, 1, 2]
    assert buckets.index(-1.0) is None
    assert buckets.index(2.5 * 3600) is None  # [from, to): `to` itself is outside


def test_latency_is_count_median_and_linear_p90() -> None:
    assert pure.latency([]) == pure.Latency(0, None, None)
    assert pure.latency([20.0, 30.0, 40.0, 50.0]) == pure.Latency(4, 35.0, 47.0)


def test_classes_are_canonical_json_and_multi_choice_counts_each_choice() -> None:
    fields = ["sentiment", "topics"]
    assert pure.class_keys({"sentiment": "pos", "topics": ["price", "delivery"]}, fields) == {
        ("sentiment", '"pos"'),
        ("topics", '"price"'),
        ("topics", '"delivery"'),
    }
    assert pure.class_keys({"sentiment": None}, fields) == set()
    assert pure.distribution([{"sentiment": "pos"}, {"sentiment": "neg"}, {"sentiment": "pos"}], fields) == {
        ("sentiment", '"neg"'): 1 / 3,
        ("sentiment", '"pos"'): 2 / 3,
    }


def test_divergence_is_the_base_2_jensen_shannon_distance_averaged_over_fields() -> None:
    p = {("a", '"x"'): 1.0, ("b", '"u"'): 0.5, ("b", '"v"'): 0.5}
    q = {("a", '"y"'): 1.0, ("b", '"u"'): 0.5, ("b", '"v"'): 0.5}
    assert pure.divergence(p, q) == pytest.approx(0.5)  # field a: disjoint (1), field b: equal (0)
    assert pure.divergence(p, p) == 0.0
    assert pure.divergence(p, {("c", "1"): 1.0}) is None


@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6), st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6))
def test_divergence_lies_in_0_1_and_is_symmetric(a: list[float], b: list[float]) -> None:
    p = {("f", str(i)): v / sum(a) for i, v in enumerate(a)}
    q = {("f", str(i)): v / sum(b) for i, v in enumerate(b)}
    d = pure.divergence(p, q)
    assert d is not None
    assert 0.0 <= d <= 1.0 + 1e-12
    assert math.isclose(d, pure.divergence(q, p) or 0.0, abs_tol=1e-12)


def test_agreement_pairs_labels_of_one_item_and_compares_with_the_decision() -> None:
    labels = [
        ("i1", "a", {"s": "pos"}),
        ("i1", "b", {"s": "pos"}),
        ("i2", "a", {"s": "pos"}),
        ("i2", "b", {"s": "neg"}),
    ]
    assert pure.pairwise(labels, ["s"]) == 0.5
    assert pure.pairwise([("i1", "a", {"s": "pos"})], ["s"]) is None  # no overlap
    assert pure.agreement_with([({"s": "pos"}, {"s": "pos"}), ({"s": "neg"}, {"s": "pos"})], ["s"]) == 0.5


def test_attention_reasons_follow_the_projects_floor_and_the_rejection_rule() -> None:
    calm = {
        "suspended": False,
        "certificate_days_left": None,
        "gold_answered": 0,
        "gold_accuracy": None,
        "gold_floor": 0.0,
        "gold_min_answers": 5,
        "reviews": 0,
        "rejection_rate": None,
    }
    assert pure.attention(**calm) == []  # type: ignore[arg-type]
    assert pure.attention(**{**calm, "gold_answered": 5, "gold_accuracy": 0.1}) == []  # type: ignore[arg-type]
    low = {**calm, "gold_floor": 0.6, "gold_answered": 5, "gold_accuracy": 0.5}
    assert pure.attention(**low) == [AttentionReason.LOW_GOLD_ACCURACY]  # type: ignore[arg-type]
    assert pure.attention(**{**low, "gold_answered": 4}) == []  # type: ignore[arg-type]
    everything = {**low, "suspended": True, "certificate_days_left": -1.0, "reviews": 3, "rejection_rate": 0.34}
    assert pure.attention(**everything) == list(AttentionReason)  # type: ignore[arg-type]
    assert pure.attention(**{**calm, "reviews": 2, "rejection_rate": 1.0}) == []  # type: ignore[arg-type]
