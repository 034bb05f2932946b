"""Request-scoped DataLoaders: a page of N items costs one query per relation, not N.

Loaders of what an actor may or may not read start from the capability's scoped statement, so
a row the caller may not see is simply not found. Users, schema and guideline versions are
looked up as the rows the caller can read point at them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar
from strawberry.dataloader import DataLoader

from app.audits import reads as audit_reads
from app.audits.models import AuditFinding, QaAudit
from app.auth import reads as user_reads
from app.auth.models import User
from app.automation import reads as automation_reads
from app.automation import service as automation_service
from app.automation.models import Model, ModelVersion
from app.discussion import reads as discussion_reads
from app.discussion.models import Comment, CommentMention
from app.guidelines.models import GuidelineVersion
from app.ingestion import reads as item_reads
from app.ingestion.models import Item
from app.projects import reads as project_reads
from app.scopes import rows_where_in
from app.taxonomy.models import LabelSchemaVersion
from app.workflow import reads as workflow_reads
from app.workflow.models import Decision, DecisionLabel, Label, Review

if TYPE_CHECKING:
    from app.schema.context import Context

M = TypeVar("M")
# Keeps IN () lists well inside SQLite's bound-parameter limit.
BATCH = 500


class Loaders:
    """Each loader is built on first use: a mutation that primes one (the claim's item) must not
    pay for building every scoped statement."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @cached_property
    def user(self) -> DataLoader[uuid.UUID, User | None]:
        return self._one(user_reads.referenced_users(), User.id)

    @cached_property
    def schema_version(self) -> DataLoader[uuid.UUID, LabelSchemaVersion | None]:
        return self._one(project_reads.cited_schema_versions(), LabelSchemaVersion.id)

    @cached_property
    def guideline_version(self) -> DataLoader[uuid.UUID, GuidelineVersion | None]:
        return self._one(project_reads.cited_guideline_versions(), GuidelineVersion.id)

    @cached_property
    def item(self) -> DataLoader[uuid.UUID, Item | None]:
        return self._one(item_reads.readable_items(self._ctx.actor), Item.id)

    @cached_property
    def review(self) -> DataLoader[uuid.UUID, Review | None]:
        return self._one(workflow_reads.readable_reviews(self._ctx.actor), Review.id)

    @cached_property
    def final_label(self) -> DataLoader[uuid.UUID, Decision | None]:
        base = workflow_reads.readable_decisions(self._ctx.actor).where(workflow_reads.in_force())
        return self._one(base, Decision.item_id)

    @cached_property
    def decisions_of_item(self) -> DataLoader[uuid.UUID, list[Decision]]:
        return self._many(workflow_reads.readable_decisions(self._ctx.actor), Decision.item_id)

    @cached_property
    def labels_of_decision(self) -> DataLoader[uuid.UUID, list[uuid.UUID]]:
        """The ids of the labels behind decisions the caller already holds (so no scope of its own)."""

        async def load(keys: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
            grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
            async with self._ctx.db() as session:
                rows = await rows_where_in(
                    session, select(DecisionLabel), DecisionLabel.decision_id, keys, order_by=DecisionLabel.label_id
                )
            for row in rows:
                grouped[row.decision_id].append(row.label_id)
            return [grouped.get(k, []) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    @cached_property
    def label_of_assignment(self) -> DataLoader[uuid.UUID, Label | None]:
        return self._one(workflow_reads.readable_labels(self._ctx.actor), Label.assignment_id)

    @cached_property
    def labels_of_item(self) -> DataLoader[uuid.UUID, list[Label]]:
        return self._many(workflow_reads.readable_labels(self._ctx.actor), Label.item_id)

    @cached_property
    def reviews_of_item(self) -> DataLoader[uuid.UUID, list[Review]]:
        return self._many(workflow_reads.readable_reviews(self._ctx.actor), Review.item_id)

    @cached_property
    def comments_of_item(self) -> DataLoader[uuid.UUID, list[Comment]]:
        return self._many(discussion_reads.readable_comments(self._ctx.actor), Comment.item_id)

    @cached_property
    def mentions_of_comment(self) -> DataLoader[uuid.UUID, list[uuid.UUID]]:
        """The people mentioned by comments the caller already holds (so no scope of its own)."""

        async def load(keys: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
            grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
            async with self._ctx.db() as session:
                rows = await rows_where_in(
                    session, select(CommentMention), CommentMention.comment_id, keys, order_by=CommentMention.user_id
                )
            for row in rows:
                grouped[row.comment_id].append(row.user_id)
            return [grouped.get(k, []) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    @cached_property
    def audits_of_item(self) -> DataLoader[uuid.UUID, list[QaAudit]]:
        return self._many(audit_reads.readable_audits(self._ctx.actor), QaAudit.item_id)

    @cached_property
    def findings_of_audit(self) -> DataLoader[uuid.UUID, list[AuditFinding]]:
        """Findings of audits the caller already holds."""

        async def load(keys: Sequence[uuid.UUID]) -> list[list[AuditFinding]]:
            grouped: dict[uuid.UUID, list[AuditFinding]] = defaultdict(list)
            async with self._ctx.db() as session:
                rows = await rows_where_in(
                    session, audit_reads.findings(), AuditFinding.audit_id, keys, order_by=AuditFinding.field
                )
            for row in rows:
                grouped[row.audit_id].append(row)
            return [sorted(grouped.get(k, []), key=lambda f: (f.field, f.class_value)) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    @cached_property
    def versions_of_model(self) -> DataLoader[uuid.UUID, list[ModelVersion]]:
        """Versions of models the caller already holds, newest first."""

        async def load(keys: Sequence[uuid.UUID]) -> list[list[ModelVersion]]:
            grouped: dict[uuid.UUID, list[ModelVersion]] = defaultdict(list)
            async with self._ctx.db() as session:
                for row in await automation_reads.versions_of_models(session, keys):
                    grouped[row.model_id].append(row)
            return [grouped.get(k, []) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    @cached_property
    def suggestion_count(self) -> DataLoader[uuid.UUID, int]:
        async def load(keys: Sequence[uuid.UUID]) -> list[int]:
            async with self._ctx.db() as session:
                counts = await automation_reads.suggestion_counts(session, keys)
            return [counts.get(k, 0) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    @cached_property
    def model_version(self) -> DataLoader[uuid.UUID, tuple[ModelVersion, Model] | None]:
        """Model versions a readable label names (only their names and versions are shown)."""

        async def load(keys: Sequence[uuid.UUID]) -> list[tuple[ModelVersion, Model] | None]:
            async with self._ctx.db() as session:
                found = {v.id: (v, m) for v, m in await automation_reads.versions_by_id(session, keys)}
            return [found.get(k) for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    @cached_property
    def suggestions_of_task(self) -> DataLoader[uuid.UUID, list[automation_reads.Shown]]:
        """What readable tasks show under their project's policy. What the actor's own tasks return
        to it is recorded as shown, committed before the answer goes out (app/automation/reads.py)."""

        async def load(keys: Sequence[uuid.UUID]) -> list[list[automation_reads.Shown]]:
            async with self._ctx.db() as session:
                found = await automation_reads.task_suggestions(session, self._ctx.actor, keys)
                to_record = await automation_reads.unrecorded(session, self._ctx.actor, found)
            if to_record:
                async with self._ctx.writer() as session:
                    await automation_service.record_shown(session, to_record)
            return [found[k][1] if k in found else [] for k in keys]

        return DataLoader(load_fn=load, max_batch_size=BATCH)

    def _fetch(self, base: SelectOfScalar[M], column: Any) -> Callable[[Sequence[uuid.UUID]], Awaitable[Sequence[M]]]:
        model = column.class_

        async def fetch(keys: Sequence[uuid.UUID]) -> Sequence[M]:
            async with self._ctx.db() as session:
                return await rows_where_in(session, base, column, keys, order_by=model.id)

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
