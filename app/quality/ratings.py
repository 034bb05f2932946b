"""Labels as the quality math reads them: one row per (item, annotator, value), as integer arrays.

Every statistic and aggregator in `app/quality` takes a `Ratings`. Items, annotators and classes
are numbered 0..n-1 in sorted order of their ids and values, so results do not depend on the order
the labels came in. Classes sort as their values do: integers as numbers, strings as strings
(a mix of both sorts the integers first). Pure: numpy only, nothing of ours imported.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


def class_order(value: Any) -> tuple[int, Any]:
    """Sort key for class values: numbers first (as numbers), then strings."""
    if isinstance(value, bool):
        return (2, int(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value))


@dataclass(frozen=True)
class Ratings:
    item: IntArray  # per label: item index into item_ids
    annotator: IntArray  # per label: annotator index into annotator_ids
    value: IntArray  # per label: class index into classes
    item_ids: tuple[Hashable, ...]
    annotator_ids: tuple[Hashable, ...]
    classes: tuple[Any, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Hashable, Hashable, Any]], classes: Iterable[Any] = ()) -> Ratings:
        """(item, annotator, value) rows; `classes` adds values no label used (a schema's choices)."""
        triples = list(rows)
        item_ids = tuple(sorted({r[0] for r in triples}, key=str))
        annotator_ids = tuple(sorted({r[1] for r in triples}, key=str))
        all_classes = tuple(sorted({r[2] for r in triples} | set(classes), key=class_order))
        item_at = {v: i for i, v in enumerate(item_ids)}
        annotator_at = {v: i for i, v in enumerate(annotator_ids)}
        class_at = {v: i for i, v in enumerate(all_classes)}
        n = len(triples)
        return cls(
            item=np.fromiter((item_at[r[0]] for r in triples), dtype=np.intp, count=n),
            annotator=np.fromiter((annotator_at[r[1]] for r in triples), dtype=np.intp, count=n),
            value=np.fromiter((class_at[r[2]] for r in triples), dtype=np.intp, count=n),
            item_ids=item_ids,
            annotator_ids=annotator_ids,
            classes=all_classes,
        )

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_ids)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_labels(self) -> int:
        return int(self.item.size)

    def numeric_classes(self) -> FloatArray:
        """The class values as numbers (for interval and ratio distances); ValueError if some are not."""
        if any(isinstance(c, bool) or not isinstance(c, int | float) for c in self.classes):
            raise ValueError("interval and ratio levels need numeric labels")
        return np.asarray(self.classes, dtype=np.float64)

    def counts(self) -> FloatArray:
        """items x classes: how many labels each item got of each class."""
        flat = np.bincount(self.item * self.n_classes + self.value, minlength=self.n_items * self.n_classes)
        return flat.reshape(self.n_items, self.n_classes).astype(np.float64)

    def incidence(self) -> sparse.csr_array:
        """items x (annotators * classes), 1 where annotator a gave item i class c (column a * K + c)."""
        k = self.n_classes
        return sparse.csr_array(
            (np.ones(self.n_labels), (self.item, self.annotator * k + self.value)),
            shape=(self.n_items, self.n_annotators * k),
        )

    def labels_per_item(self) -> IntArray:
        return np.bincount(self.item, minlength=self.n_items).astype(np.intp)
