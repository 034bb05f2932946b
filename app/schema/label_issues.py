"""Label-issue detection: detectLabelIssues, its runs (LabelIssueRun) and Project.labelIssues
(app/automation/detection.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.audits.models import AuditStatus as AuditStatusValue
from app.auth.actor import Actor
from app.automation import detection, models, reads
from app.errors import DomainError
from app.projects import models as project_models
from app.schema.audits import AuditStatus
from app.schema.automation import AutomationError, ShownModelVersion, shown_model_versions
from app.schema.connections import Connection, connection, int_cursor, page_size
from app.schema.context import Info
from app.schema.errors import errors_of
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, decode_id, global_id

if TYPE_CHECKING:
    from app.schema.items import Item

IssueSource = strawberry.enum(models.IssueSource, description=models.IssueSource.__doc__)
IssueOutcome = strawberry.enum(models.IssueOutcome, description=models.IssueOutcome.__doc__)


@strawberry.type(
    description="One run of label-issue detection over a single-choice field's decided items: out-of-fold "
    "probabilities (the built-in model's, or a model version's suggestions), confident learning's ranked issues, "
    "and the top ones flagged for a QA audit."
)
class LabelIssueRun(Node):
    field: str
    source: IssueSource  # type: ignore[valid-type]
    item_count: int = strawberry.field(description="Decided items ranked.")
    left_out: int = strawberry.field(
        description="Decided items of the field left out: no text, no suggestion of the model, or a class with "
        "fewer than 2 decided items."
    )
    issue_count: int = strawberry.field(description="Issues confident learning found (every one is ranked).")
    top: int = strawberry.field(description="How many of the first ranks were to be flagged for audit.")
    flagged: int = strawberry.field(description="Audits this run queued (the top ranks not already pending audit).")
    cv_accuracy: float | None = strawberry.field(
        description="The built-in model's cross-validated accuracy on these items; null for a model version."
    )
    class_counts: JSON = strawberry.field(description="Class -> decided items with it (before any was left out).")
    created_at: datetime
    _row: strawberry.Private[models.LabelIssueRun]

    @classmethod
    def of(cls, row: models.LabelIssueRun) -> LabelIssueRun:
        return cls(
            id=global_id("LabelIssueRun", row.id),
            field=row.field,
            source=row.source,
            item_count=row.item_count,
            left_out=row.left_out,
            issue_count=row.issue_count,
            top=row.top,
            flagged=row.flagged,
            cv_accuracy=row.cv_accuracy,
            class_counts=JSON(row.class_counts),
            created_at=row.created_at,
            _row=row,
        )

    @strawberry.field(
        description="The model version whose suggestions were used (MODEL_VERSION): its name, version and kind "
        "only (a run's readers need not read the model registry); else null."
    )
    async def model_version(self, info: Info) -> ShownModelVersion | None:
        if self._row.model_version_id is None:
            return None
        found = await shown_model_versions(info, [str(self._row.model_version_id)])
        return found[0] if found else None


@strawberry.type(
    description="One ranked label issue: the decided class, the class the model believes, how likely it is wrong."
)
class LabelIssue:
    rank: int = strawberry.field(description="1 = most likely mislabeled.")
    given: str = strawberry.field(description="The class decided (the decision in force when the run ran).")
    suggested: str = strawberry.field(description="The class the model believes.")
    score: float = strawberry.field(description="1 - the label's normalized margin, in 0..1: higher = likelier wrong.")
    self_confidence: float = strawberry.field(description="The model's probability of the decided class.")
    outcome: IssueOutcome  # type: ignore[valid-type]
    audit_status: AuditStatus | None = strawberry.field(  # type: ignore[valid-type]
        description="The status of the audit this run queued for it (FLAGGED); null when it queued none."
    )
    _row: strawberry.Private[models.LabelIssue]

    @strawberry.field(description="The item; null when you may not read it.")
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")] | None:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._row.item_id)
        return Item.of(row) if row else None


@strawberry.type(description="A label-issue run's ranked issues.")
class LabelIssues:
    run: LabelIssueRun
    issues: Connection[LabelIssue]


async def project_label_issues(
    info: Info, row: project_models.Project, first: int, after: str | None, run_id: strawberry.ID | None
) -> LabelIssues | None:
    limit, cursor = page_size(first), int_cursor(after)
    wanted = decode_id(run_id, "LabelIssueRun", "runId") if run_id is not None else None
    async with info.context.db() as session:
        run = await reads.issue_run_of(session, info.context.actor, row, wanted)
        if run is None:
            return None
        rows = await reads.issue_page(session, run.id, cursor, limit + 1)

    def node(found: tuple[models.LabelIssue, AuditStatusValue | None]) -> LabelIssue:
        issue, status = found
        return LabelIssue(
            rank=issue.rank,
            given=issue.given,
            suggested=issue.suggested,
            score=issue.score,
            self_confidence=issue.self_confidence,
            outcome=issue.outcome,
            audit_status=status,
            _row=issue,
        )

    return LabelIssues(
        run=LabelIssueRun.of(run),
        issues=connection(rows, limit, key=lambda r: r[0].rank, node=node, after=after),
    )


async def node_of(session: AsyncSession, actor: Actor, pk: uuid.UUID) -> LabelIssueRun | None:
    found = await reads.get_issue_run(session, actor, pk)
    return LabelIssueRun.of(found) if found else None


@strawberry.input
class DetectLabelIssuesInput:
    project_id: strawberry.ID
    field: str | None = strawberry.field(
        default=None, description="A single-choice field of the schema in force; default: its first one."
    )
    top: int | None = strawberry.field(
        default=None,
        description="How many of the first ranks to flag for a QA audit (0..1000); default: the project's "
        "qualityPolicy.labelIssuesTop.",
    )
    model_name: str | None = strawberry.field(
        default=None,
        description="With modelVersion: judge the labels by that version's pushed suggestions instead of the "
        "built-in model.",
    )
    model_version: str | None = None
    item_field: str | None = strawberry.field(
        default=None,
        description="The built-in model reads this dotted key of the item's data; default: every string of the data.",
    )


@strawberry.type
class DetectLabelIssuesPayload:
    run: LabelIssueRun | None
    errors: list[AutomationError]


@strawberry.type
class LabelIssuesMutation:
    @strawberry.mutation(
        description="Find likely mislabeled decided items of a single-choice field by confident learning over "
        "out-of-fold probabilities, store the ranked run, and flag its top ranks into the QA audit queue "
        "(FLAGGED), skipping items already pending audit (project managers and admins; audited). Too few "
        "decided items, one class only, an unknown field or model: typed errors, nothing written."
    )
    async def detect_label_issues(self, info: Info, input: DetectLabelIssuesInput) -> DetectLabelIssuesPayload | None:
        actor = info.context.actor
        try:
            change = detection.Detect(
                project_id=input_id(input.project_id, "Project", "projectId"),
                field=input.field,
                top=input.top,
                model_name=input.model_name,
                model_version=input.model_version,
                item_field=input.item_field,
            )
            async with info.context.db() as session:
                plan = await detection.prepare(session, actor, change)
            await info.context.refresh()  # the read transaction ends before the fit
            fitted = await detection.fit_in_thread(plan)
        except DomainError as exc:
            return DetectLabelIssuesPayload(run=None, errors=errors_of(AutomationError, exc.problems))

        async def act(session: AsyncSession) -> detection.Detected:
            return await detection.store(session, actor, plan, fitted)

        result = await run_mutation(info, detection.DETECT_LABEL_ISSUES, input, act, AutomationError)
        if isinstance(result, list):
            return DetectLabelIssuesPayload(run=None, errors=result)
        return DetectLabelIssuesPayload(run=LabelIssueRun.of(result.run), errors=[])
