"""Labels as integer arrays (app/quality/ratings.py): numbering is by sorted id and value, not arrival."""

from __future__ import annotations

import numpy as np
import pytest

from app.quality.ratings import Ratings


def test_numbering_follows_sorted_ids_and_values_not_row_order() -> None:
    rows = [("b", "u2", "pos"), ("a", "u1", "neg"), ("a", "u2", "pos")]
    one = Ratings.from_rows(rows)
    other = Ratings.from_rows(list(reversed(rows)))
    assert one.item_ids == ("a", "b")
    assert one.annotator_ids == ("u1", "u2")
    assert one.classes == ("neg", "pos")
    assert sorted(zip(one.item, one.annotator, one.value, strict=True)) == sorted(
        zip(other.item, other.annotator, other.value, strict=True)
    )


def test_integers_sort_as_numbers_and_schema_classes_join_unused_ones() -> None:
    ratings = Ratings.from_rows([("i", "u", 10), ("j", "u", 9)], classes=[2])
    assert ratings.classes == (2, 9, 10)
    assert ratings.numeric_classes().tolist() == [2.0, 9.0, 10.0]


def test_counts_and_incidence_agree_with_the_rows() -> None:
    ratings = Ratings.from_rows([("a", "u1", "x"), ("a", "u2", "y"), ("a", "u3", "y"), ("b", "u1", "x")])
    assert ratings.counts().tolist() == [[1.0, 2.0], [1.0, 0.0]]
    assert ratings.labels_per_item().tolist() == [3, 1]
    incidence = ratings.incidence().toarray()
    assert incidence.shape == (2, 6)
    assert np.array_equal(incidence.reshape(2, 3, 2).sum(axis=1), ratings.counts())


def test_interval_levels_refuse_string_classes() -> None:
    with pytest.raises(ValueError, match="numeric"):
        Ratings.from_rows([("a", "u", "x")]).numeric_classes()
