"""The report's table (app/quality/report.py) keeps gold answers apart from the labels."""

from __future__ import annotations

import math

import numpy as np

from app.quality.report import figures, label_table, windows


def _labels(rows: list[tuple[str, str, float, str]]) -> list[list[object]]:
    """(item, annotator, epoch seconds, sentiment) rows as label_table's label columns."""
    return [[r[0] for r in rows], [r[1] for r in rows], [None] * len(rows), [r[2] for r in rows], [r[3] for r in rows]]


def test_gold_answers_are_dropped_from_the_labels_and_scored_apart() -> None:
    labels = _labels(
        [("i", "a", 0.0, '"pos"'), ("i", "b", 1.0, '"neg"'), ("g", "a", 2.0, '"pos"'), ("g", "b", 3.0, '"pos"')]
    )
    gold = [["g", "g"], ["a", "b"], [2.0, 3.0], [1.0, 0.5], [{"sentiment": 1.0}, {"sentiment": 0.0, "x": 1.0}]]
    table = label_table(["sentiment"], labels, [["i"], ['"neg"']], gold=gold, gold_items=["g"])
    assert table.n_labels == 2
    assert table.item_ids == ("g", "i")
    assert table.gold.item.tolist() == [0, 0]
    assert table.gold.annotator.tolist() == [0, 1]
    np.testing.assert_array_equal(table.gold.fields["sentiment"], [1.0, 0.0])

    result = figures(table, [("sentiment", "single_choice")])
    assert (result.labels, result.items, result.gold_answers, result.gold_accuracy) == (2, 1, 2, 0.75)
    [field] = result.fields
    assert (field.pairwise_agreement, field.gold_answers, field.gold_accuracy) == (0.0, 2, 0.5)
    a, b = result.annotators
    assert (a.labels, a.gold_answers, a.gold_accuracy, b.gold_accuracy) == (1, 1, 1.0, 0.5)
    assert [(f.gold_answers, f.gold_accuracy) for f in b.fields] == [(1, 0.0)]

    # Windows of 2 s: [0, 2) has both labels, [2, 4) the two gold answers only.
    first, second = windows(table, 2.0, ["sentiment"])
    assert (first.labels, first.gold_answers, first.gold_accuracy) == (2, 0, None)
    assert (second.labels, second.gold_answers, second.gold_accuracy) == (0, 2, 0.75)
    assert second.drift == {"sentiment": None}


def test_gold_answers_without_their_labels_still_find_their_item_and_annotator() -> None:
    table = label_table(
        ["sentiment"],
        _labels([("i", "a", 0.0, '"pos"')]),
        [[], []],
        gold=[["g"], ["c"], [5.0], [0.0], [{"sentiment": 0.0}]],
    )
    assert (table.item_ids, table.annotator_ids) == (("g", "i"), ("a", "c"))
    assert (table.gold.item.tolist(), table.gold.annotator.tolist(), table.n_labels) == ([0], [1], 1)
    [c] = [x for x in figures(table, [("sentiment", "single_choice")]).annotators if x.annotator == "c"]
    assert (c.labels, c.gold_answers) == (0, 1)
    assert c.gold_accuracy is not None
    assert math.isclose(c.gold_accuracy, 0.0)
