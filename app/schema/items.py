"""Items: their content, their labels and reviews, and importing them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.access import note as access
from app.expertise import service as expertise
from app.ingestion import error_codes as area_codes
from app.ingestion import models
from app.ingestion.service import IMPORT_ITEMS, ImportResult, NewItem, import_items
from app.projects import reads as project_reads
from app.schema.audits import ItemAudit
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.expertise import GoldAnswer
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id
from app.schema.workflow import Decision, Label, Review
from app.workflow import reads as workflow_reads

IngestionErrorCode = strawberry.enum(area_codes.IngestionErrorCode, description=area_codes.IngestionErrorCode.__doc__)


@strawberry.type(description="A failure of importing items; `field` names the row (items.N.field).")
class IngestionError(UserError):
    codes = area_codes.IngestionErrorCode
    code: IngestionErrorCode  # type: ignore[valid-type]


if TYPE_CHECKING:
    from app.schema.anonymization import ItemAnonymization
    from app.schema.discussion import Comment
    from app.schema.projects import Project

ItemStatus = strawberry.enum(models.ItemStatus)


@strawberry.type(description="A unit of data to label, as imported.")
class Item(Node):
    external_id: str
    content_hash: str = strawberry.field(
        description="HMAC-SHA256 (the server's content hash key) of the canonical JSON (sorted keys, no spaces, "
        "UTF-8) of the data as imported, before anonymization: equal hashes, equal content. Items imported "
        "before anonymization existed hold a plain SHA-256."
    )
    priority: float
    status: ItemStatus  # type: ignore[valid-type]
    created_at: datetime
    finalized_at: datetime | None = strawberry.field(description="When the decision in force was made.")
    labels_required: int = strawberry.field(
        description="Labels the item still needs before it is settled (live tasks included); dynamic overlap "
        "raises it when the aggregation is not confident enough."
    )
    erased_at: datetime | None = strawberry.field(
        description="When its content was erased (eraseSubject or retention): data and metadata are a tombstone."
    )
    _row: strawberry.Private[models.Item]

    @classmethod
    def of(cls, row: models.Item) -> Item:
        return cls(
            id=global_id("Item", row.id),
            external_id=row.external_id,
            content_hash=row.content_hash,
            priority=row.priority,
            status=row.status,
            created_at=row.created_at,
            finalized_at=row.finalized_at,
            labels_required=row.labels_required,
            erased_at=row.erased_at,
            _row=row,
        )

    @strawberry.field(description="The content to label, as imported; each response carrying it is in accessEvents.")
    def data(self) -> JSON:
        access.read("Item", self._row.id)
        return JSON(self._row.data)

    @strawberry.field(description="The item's metadata, as imported (recorded in accessEvents like data).")
    def metadata(self) -> JSON:
        access.read("Item", self._row.id)
        return JSON(self._row.meta)

    @strawberry.field(
        description="What anonymization replaced in the data at import; null when the project's anonymization was off."
    )
    def anonymization(self) -> Annotated[ItemAnonymization, strawberry.lazy("app.schema.anonymization")] | None:
        from app.schema.anonymization import ItemAnonymization

        row = self._row
        return ItemAnonymization.of(row.anonymizer, row.anonymizer_version, row.redactions)

    @strawberry.field(
        description="Labels you may see: all of them for reviewers and managers; for an annotator, its own and, "
        "once it has submitted its own, the others'. Null with FORBIDDEN for roles that may not read labels "
        "(ML services)."
    )
    async def labels(self, info: Info) -> list[Label] | None:
        workflow_reads.require_label_list(info.context.actor, self._row.project_id)
        rows = await info.context.loaders.labels_of_item.load(self._row.id)
        return [Label.of(row) for row in rows]

    @strawberry.field(
        description="The known answer of a gold question: only for those who may set gold answers (null for "
        "everyone else, to whom a gold item is an item like any other)."
    )
    async def gold_answer(self, info: Info) -> GoldAnswer | None:
        async with info.context.db() as session:
            found = await expertise.gold_answer_of(session, info.context.actor, self._row)
        return GoldAnswer(value=JSON(found.value), set_at=found.set_at) if found else None

    @strawberry.field(description="Reviews of the labels you may see; null where `labels` is.")
    async def reviews(self, info: Info) -> list[Review] | None:
        workflow_reads.require_label_list(info.context.actor, self._row.project_id)
        rows = await info.context.loaders.reviews_of_item.load(self._row.id)
        return [Review.of(row) for row in rows]

    @strawberry.field(
        description="Discussion threads (root comments with their replies), oldest first. Empty for an annotator "
        "until it has submitted its own label on the item; null with FORBIDDEN for roles that may not read "
        "comments (ML services)."
    )
    async def comments(self, info: Info) -> list[Annotated[Comment, strawberry.lazy("app.schema.discussion")]] | None:
        from app.schema.discussion import threads_of_item

        return await threads_of_item(info, self._row.project_id, self._row.id)

    @strawberry.field(
        description="QA audits of the item's decisions, oldest first: why each was queued, who audited, the "
        "verdict and findings. Empty for annotators; null where `labels` is."
    )
    async def audits(self, info: Info) -> list[ItemAudit] | None:
        workflow_reads.require_label_list(info.context.actor, self._row.project_id)
        rows = await info.context.loaders.audits_of_item.load(self._row.id)
        return [ItemAudit.of(row) for row in rows]

    @strawberry.field(
        description="The decision; null until there is one, or for those who read neither items nor labels."
    )
    async def final_label(self, info: Info) -> Decision | None:
        row = await info.context.loaders.final_label.load(self._row.id)
        return Decision.of(row) if row else None

    @strawberry.field(
        description="Every decision on the item, oldest first: the last is the finalLabel, the earlier ones were "
        "superseded (an audit, an expert, a re-aggregation). Empty for those who read neither items nor labels."
    )
    async def decisions(self, info: Info) -> list[Decision]:
        rows = await info.context.loaders.decisions_of_item.load(self._row.id)
        return [Decision.of(row) for row in sorted(rows, key=lambda row: row.version)]


@strawberry.input
class ItemInput:
    external_id: str = strawberry.field(description="Your id for the item; unique within the project.")
    data: JSON = strawberry.field(description='The content to label, e.g. {"text": "..."}.')
    metadata: JSON | None = None
    priority: float = strawberry.field(default=0.0, description="Higher is handed out first.")
    gold: JSON | None = strawberry.field(
        default=None,
        description="The known answer: the item becomes a gold question, served blind at the project's goldRate "
        "(needs the right to set gold answers).",
    )
    consent_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The consent record the item is imported under: required where the project's consentPolicy "
        "requires it; when given, it must be in force and cover annotation.",
    )


@strawberry.input
class ImportItemsInput:
    project_id: strawberry.ID
    items: list[ItemInput] = strawberry.field(
        description="Up to 10,000 items. One bad row rejects the whole call, with an error per row."
    )


@strawberry.type
class ImportItemsPayload:
    imported_count: int
    duplicate_rows: list[int] = strawberry.field(
        description="Rows (0-based) whose content the project already held or an earlier row repeated: imported "
        "under duplicateContent ALLOW (under REJECT they are DUPLICATE_CONTENT errors instead)."
    )
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[IngestionError]


@strawberry.type
class ItemsMutation:
    @strawberry.mutation(description="Import items into a project: all rows or none.")
    async def import_items(self, info: Info, input: ImportItemsInput) -> ImportItemsPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> ImportResult:
            project_id = input_id(input.project_id, "Project", "projectId")
            rows = [
                NewItem(
                    i.external_id,
                    i.data,
                    i.metadata,
                    i.priority,
                    i.gold,
                    input_id(i.consent_id, "ConsentRecord", f"items.{n}.consentId") if i.consent_id else None,
                )
                for n, i in enumerate(input.items)
            ]
            limit = info.context.runtime.settings.max_import_items
            settings = info.context.runtime.settings
            return await import_items(
                session, info.context.actor, project_id, rows, max_items=limit, hash_key=settings.hash_key()
            )

        result = await run_mutation(info, IMPORT_ITEMS, input, act, IngestionError)
        if isinstance(result, list):
            return ImportItemsPayload(imported_count=0, duplicate_rows=[], project=None, errors=result)
        async with info.context.db() as session:
            project = await project_reads.get_project(session, info.context.actor, result.project_id)
        return ImportItemsPayload(
            imported_count=result.created,
            duplicate_rows=result.duplicate_rows,
            project=Project.of(project) if project else None,
            errors=[],
        )
