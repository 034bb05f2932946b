"""Majority consensus and agreement over independent labels (app/quality/consensus.py).

Covers strict majorities, ties, fields some labels leave out, order-insensitive multi-choice
values, and properties that hold for any set of labels.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.quality.consensus import agreement_with, majority

PROPERTY = settings(database=None, deadline=None, max_examples=200)


def test_no_labels_decide_nothing_and_disagree_on_nothing() -> None:
    consensus = majority([])
    assert consensus.value is None
    assert consensus.field_agreement == {}
    assert consensus.agreement == 1.0


def test_strict_majority_wins_each_field() -> None:
    consensus = majority(
        [
            {"sentiment": "pos", "topics": ["price"]},
            {"sentiment": "pos", "topics": ["price"]},
            {"sentiment": "neg", "topics": ["price"]},
        ]
    )
    assert consensus.value == {"sentiment": "pos", "topics": ["price"]}
    assert consensus.field_agreement == {"sentiment": pytest.approx(2 / 3), "topics": 1.0}
    assert consensus.agreement == pytest.approx(5 / 6)


def test_a_single_label_is_its_own_majority() -> None:
    assert majority([{"sentiment": "neu"}]).value == {"sentiment": "neu"}


def test_a_tie_in_any_field_leaves_the_item_undecided() -> None:
    consensus = majority(
        [
            {"sentiment": "pos", "topics": ["price"]},
            {"sentiment": "neg", "topics": ["price"]},
        ]
    )
    # Half is no majority: the item needs a human decision.
    assert consensus.value is None
    assert consensus.field_agreement == {"sentiment": 0.5, "topics": 1.0}


def test_a_three_way_split_is_undecided() -> None:
    consensus = majority([{"sentiment": "pos"}, {"sentiment": "neg"}, {"sentiment": "neu"}])
    assert consensus.value is None
    assert consensus.field_agreement == {"sentiment": pytest.approx(1 / 3)}


def test_multi_choice_order_does_not_matter() -> None:
    consensus = majority(
        [
            {"topics": ["price", "quality"]},
            {"topics": ["quality", "price"]},
            {"topics": ["delivery"]},
        ]
    )
    assert consensus.value is not None
    assert sorted(consensus.value["topics"]) == ["price", "quality"]
    assert consensus.field_agreement == {"topics": pytest.approx(2 / 3)}


def test_a_left_out_field_counts_as_null_and_a_null_majority_is_left_out() -> None:
    consensus = majority([{"sentiment": "pos"}, {"sentiment": "pos"}, {"sentiment": "pos", "topics": ["price"]}])
    assert consensus.value == {"sentiment": "pos"}
    assert consensus.field_agreement == {"sentiment": 1.0, "topics": pytest.approx(2 / 3)}


def test_agreement_with_a_final_value_is_the_mean_share_of_matching_labels_per_field() -> None:
    labels = [
        {"sentiment": "pos", "topics": ["price"]},
        {"sentiment": "neg", "topics": ["price"]},
    ]
    assert agreement_with(labels, {"sentiment": "pos", "topics": ["price"]}) == pytest.approx(0.75)
    assert agreement_with(labels, {"sentiment": "neu", "topics": ["delivery"]}) == 0.0


def test_agreement_with_ignores_multi_choice_order() -> None:
    labels = [{"topics": ["quality", "price"]}, {"topics": ["price", "quality"]}]
    assert agreement_with(labels, {"topics": ["price", "quality"]}) == 1.0


def test_agreement_with_counts_fields_only_the_final_value_has() -> None:
    # A correction that adds a field no annotator chose disagrees with all of them there.
    assert agreement_with([{"sentiment": "pos"}], {"sentiment": "pos", "topics": ["price"]}) == 0.5


def test_agreement_with_nothing_to_compare_is_full() -> None:
    assert agreement_with([], {"sentiment": "pos"}) == 1.0
    assert agreement_with([{}], {}) == 1.0


CLASSES = ["a", "b", "c"]
label_values = st.fixed_dictionaries(
    {},
    optional={
        "single": st.sampled_from(CLASSES),
        "multi": st.lists(st.sampled_from(CLASSES), unique=True, max_size=3),
        "rating": st.integers(1, 3),
    },
)
label_sets = st.lists(label_values, min_size=1, max_size=7)


@PROPERTY
@given(label_sets)
def test_a_decided_majority_agrees_with_the_labels_as_much_as_the_consensus_says(labels: list[dict[str, Any]]) -> None:
    consensus = majority(labels)
    if consensus.value is not None:
        assert agreement_with(labels, consensus.value) == pytest.approx(consensus.agreement)
        assert consensus.agreement > 0.5


@PROPERTY
@given(label_sets, st.randoms(use_true_random=False))
def test_consensus_ignores_the_order_of_labels_and_of_choices(labels: list[dict[str, Any]], rnd: Any) -> None:
    shuffled = [
        {name: rnd.sample(value, len(value)) if isinstance(value, list) else value for name, value in label.items()}
        for label in rnd.sample(labels, len(labels))
    ]
    before, after = majority(labels), majority(shuffled)

    assert after.field_agreement == before.field_agreement
    assert (after.value is None) == (before.value is None)
    if before.value is not None and after.value is not None:
        assert agreement_with([before.value], after.value) == 1.0


@PROPERTY
@given(label_sets, label_values)
def test_agreement_is_a_share(labels: list[dict[str, Any]], final: dict[str, Any]) -> None:
    assert 0.0 <= agreement_with(labels, final) <= 1.0


@PROPERTY
@given(label_values, st.integers(1, 7))
def test_unanimous_labels_are_decided_with_full_agreement(label: dict[str, Any], copies: int) -> None:
    consensus = majority([label] * copies)
    expected = {name: value for name, value in label.items() if value is not None}
    assert consensus.value is not None
    assert agreement_with([consensus.value], expected) == 1.0
    assert consensus.agreement == 1.0
