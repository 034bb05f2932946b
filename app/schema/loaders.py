"""Request-scoped DataLoaders: a page of N items costs one query per relation, not N."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import select
from strawberry.dataloader import DataLoader

from app.auth.models import User
from app.guidelines.models import GuidelineVersion
from app.ingestion.models import Item
from app.taxonomy.models import LabelSchemaVersion
from app.workflow.models import Assignment, FinalLabel, Label, Review

if TYPE_CHECKING:
    from app.schema.context import Context

M = TypeVar("M")
# Keeps IN () lists well inside SQLite's bound-parameter limit.
BATCH = 500


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.user = self._one(User, User.id)
        self.item = self._one(Item, Item.id)
        self.schema_version = self._one(LabelSchemaVersion, LabelSchemaVersion.id)
        self.guideline_version = self._one(GuidelineVersion, GuidelineVersion.id)
        self.review = self._one(Review, Review.id)
        self.final_label = self._one(FinalLabel, FinalLabel.item_id)
        self.label_of_assignment = self._one(Label, Label.assignment_id)
        self.labels_of_item = self._many(Label, Label.item_id)
        self.reviews_of_item = self._many(Review, Review.item_id)
        self.assignments_of_item = self._many(Assignment, Assignment.item_id)

    def _fetch(self, model: type[M], column: Any) -> Callable[[Sequence[uuid.UUID]], Awaitable[Sequence[M]]]:
        async def fetch(keys: Sequence[uuid.UUID]) -> Sequence[M]:
            async with self._ctx.db() as session:
                stmt = select(model).where(column.in_(keys)).order_by(model.id)  # type: ignore[attr-defined]
                return (await session.scalars(stmt)).all()

        return fetch

    def _one(self, model: type[M], column: Any) -> DataLoader[uuid.UUID, M | None]:
        fetch, key = self._fetch(model, column), column.key

        async def load(keys: Sequence[uuid.UUID]) -> list[M | None]:
            found = {getattr(row, key): row for row in await fetch(keys)}
            return [found.get(k) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    def _many(self, model: type[M], column: Any) -> DataLoader[uuid.UUID, list[M]]:
        fetch, key = self._fetch(model, column), column.key

        async def load(keys: Sequence[uuid.UUID]) -> list[list[M]]:
            grouped: dict[uuid.UUID, list[M]] = defaultdict(list)
            for row in await fetch(keys):
                grouped[getattr(row, key)].append(row)
            return [grouped.get(k, []) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)
