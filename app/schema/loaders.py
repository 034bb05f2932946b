"""Request-scoped DataLoaders: a page of N items costs one query per relation, not N.

Loaders of what an actor may or may not read start from the capability's scoped statement, so
a row the caller may not see is simply not found. Users, schema and guideline versions are
looked up as the rows the caller can read point at them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar
from strawberry.dataloader import DataLoader

from app.auth.models import User
from app.guidelines.models import GuidelineVersion
from app.ingestion import reads as item_reads
from app.ingestion.models import Item
from app.taxonomy.models import LabelSchemaVersion
from app.workflow import reads as workflow_reads
from app.workflow.models import FinalLabel, Label, Review

if TYPE_CHECKING:
    from app.schema.context import Context

M = TypeVar("M")
# Keeps IN () lists well inside SQLite's bound-parameter limit.
BATCH = 500


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        actor = ctx.actor
        self.user = self._one(select(User), User.id)
        self.schema_version = self._one(select(LabelSchemaVersion), LabelSchemaVersion.id)
        self.guideline_version = self._one(select(GuidelineVersion), GuidelineVersion.id)
        self.item = self._one(item_reads.readable_items(actor), Item.id)
        self.review = self._one(workflow_reads.readable_reviews(actor), Review.id)
        self.final_label = self._one(workflow_reads.readable_final_labels(actor), FinalLabel.item_id)
        self.label_of_assignment = self._one(workflow_reads.readable_labels(actor), Label.assignment_id)
        self.labels_of_item = self._many(workflow_reads.readable_labels(actor), Label.item_id)
        self.reviews_of_item = self._many(workflow_reads.readable_reviews(actor), Review.item_id)

    def _fetch(self, base: SelectOfScalar[M], column: Any) -> Callable[[Sequence[uuid.UUID]], Awaitable[Sequence[M]]]:
        model = column.class_

        async def fetch(keys: Sequence[uuid.UUID]) -> Sequence[M]:
            async with self._ctx.db() as session:
                stmt = base.where(column.in_(keys)).order_by(model.id)
                return (await session.scalars(stmt)).all()

        return fetch

    def _one(self, base: SelectOfScalar[M], column: Any) -> DataLoader[uuid.UUID, M | None]:
        fetch, key = self._fetch(base, column), column.key

        async def load(keys: Sequence[uuid.UUID]) -> list[M | None]:
            found = {getattr(row, key): row for row in await fetch(keys)}
            return [found.get(k) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    def _many(self, base: SelectOfScalar[M], column: Any) -> DataLoader[uuid.UUID, list[M]]:
        fetch, key = self._fetch(base, column), column.key

        async def load(keys: Sequence[uuid.UUID]) -> list[list[M]]:
            grouped: dict[uuid.UUID, list[M]] = defaultdict(list)
            for row in await fetch(keys):
                grouped[getattr(row, key)].append(row)
            return [grouped.get(k, []) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)
