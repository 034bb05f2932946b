"""Tasks, labels, reviews and decisions: the labeling loop."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.clock import utcnow
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id
from app.schema.taxonomy import CarriedValue, carried_value
from app.workflow import error_codes as area_codes
from app.workflow import labeling, models, queue, review, tasks
from app.workflow import reads as workflow_reads

WorkflowErrorCode = strawberry.enum(area_codes.WorkflowErrorCode, description=area_codes.WorkflowErrorCode.__doc__)


@strawberry.type(description="A failure of a labeling-loop mutation (claim, submit, review, renew, release).")
class WorkflowError(UserError):
    codes = area_codes.WorkflowErrorCode
    code: WorkflowErrorCode  # type: ignore[valid-type]


if TYPE_CHECKING:
    from app.schema.automation import ShownModelVersion, TaskSuggestion
    from app.schema.items import Item
    from app.schema.qualification import Qualification, QualificationFeedback

AssignmentStatus = strawberry.enum(models.AssignmentStatus)
LabelStatus = strawberry.enum(models.LabelStatus)
Verdict = strawberry.enum(models.Verdict)
ReviewStage = strawberry.enum(models.ReviewStage)
DecisionMethod = strawberry.enum(
    models.DecisionMethod,
    description="How a decision was made: a reviewer accepting agreeing labels (CONSENSUS_ACCEPTED) or one of "
    "disagreeing ones (ADJUDICATED), a reviewer's correction, the aggregation alone (AGGREGATED), an expert "
    "settling an escalation (EXPERT_RESOLVED).",
)
AggregationMethod = strawberry.enum(
    models.AggregationMethod,
    description="How labels are aggregated into a proposal: plurality vote, vote weighted by annotator "
    "reliability, or Dawid-Skene (per-annotator confusion matrices estimated by EM).",
)


async def _schema_version(info: Info, schema_version_id: Any) -> int:
    schema = await info.context.loaders.schema_version.load(schema_version_id)
    assert schema is not None
    return schema.version


async def _guideline_version(info: Info, guideline_version_id: Any) -> int | None:
    if guideline_version_id is None:
        return None
    guideline = await info.context.loaders.guideline_version.load(guideline_version_id)
    return guideline.version if guideline else None


@strawberry.type(description="One annotator's independent judgment of an item.")
class Label(Node):
    value: JSON
    rationale: str
    time_spent_ms: int | None
    status: LabelStatus  # type: ignore[valid-type]
    created_at: datetime
    suggestions_shown: bool = strawberry.field(
        description="Whether the task it was made on had returned model suggestions to its annotator before it "
        "was submitted (Assignment.suggestions, under the project's showSuggestions)."
    )
    imported_from: str | None = strawberry.field(
        description='Where an imported label was made ("label-studio": importLabelStudio); null for a label '
        "submitted here. Imported labels count towards decisions like the others."
    )
    external_id: str | None = strawberry.field(description="An imported label's id where it was made.")
    _row: strawberry.Private[models.Label]

    @classmethod
    def of(cls, row: models.Label) -> Label:
        return cls(
            id=global_id("Label", row.id),
            value=JSON(row.value),
            rationale=row.rationale,
            time_spent_ms=row.time_spent_ms,
            status=row.status,
            created_at=row.created_at,
            suggestions_shown=row.suggestions_shown,
            imported_from=row.imported_from,
            external_id=row.external_id,
            _row=row,
        )

    @strawberry.field(description="The model versions whose suggestions its task had shown; empty when none.")
    async def shown_model_versions(
        self, info: Info
    ) -> list[Annotated[ShownModelVersion, strawberry.lazy("app.schema.automation")]]:
        from app.schema.automation import shown_model_versions

        return await shown_model_versions(info, list(self._row.shown_model_versions or []))

    @strawberry.field
    async def author(self, info: Info) -> User:
        return await known_user(info, self._row.author_id)

    @strawberry.field(description="The label-schema version the label was made under.")
    async def schema_version(self, info: Info) -> int:
        return await _schema_version(info, self._row.schema_version_id)

    @strawberry.field(description="The guideline version in force when the label was made.")
    async def guideline_version(self, info: Info) -> int | None:
        return await _guideline_version(info, self._row.guideline_version_id)


@strawberry.type
class Review(Node):
    stage: ReviewStage  # type: ignore[valid-type]
    verdict: Verdict  # type: ignore[valid-type]
    corrected_value: JSON | None
    comment: str
    label_id: strawberry.ID
    created_at: datetime
    _row: strawberry.Private[models.Review]

    @classmethod
    def of(cls, row: models.Review) -> Review:
        return cls(
            id=global_id("Review", row.id),
            stage=row.stage,
            verdict=row.verdict,
            corrected_value=JSON(row.corrected_value) if row.corrected_value is not None else None,
            comment=row.comment,
            label_id=global_id("Label", row.label_id),
            created_at=row.created_at,
            _row=row,
        )

    @strawberry.field
    async def reviewer(self, info: Info) -> User:
        return await known_user(info, self._row.reviewer_id)


@strawberry.type(
    description="One decision on an item's value, with how, by whom or what, how sure and from which labels. "
    "A later decision supersedes it (supersededAt); the one in force is the item's finalLabel."
)
class Decision(Node):
    version: int = strawberry.field(description="1 for the first decision on the item, then 2, 3, ...")
    value: JSON
    method: DecisionMethod  # type: ignore[valid-type]
    aggregation: AggregationMethod | None = strawberry.field(  # type: ignore[valid-type]
        description="The aggregation that decided (method AGGREGATED); null for a human's decision."
    )
    confidence: float = strawberry.field(
        description="The aggregation's confidence in the value (0..1); 1 for a reviewer's or expert's own decision."
    )
    agreement: float = strawberry.field(description="Share of the counted labels that match the value (0..1).")
    detail: JSON = strawberry.field(
        description="Per field: the aggregation's proposal, its confidence and the votes or posterior behind it."
    )
    rationale: str = strawberry.field(description="The reviewer's comment or the expert's rationale.")
    decided_at: datetime
    superseded_at: datetime | None = strawberry.field(description="When a later decision replaced this one.")
    _row: strawberry.Private[models.Decision]

    @classmethod
    def of(cls, row: models.Decision) -> Decision:
        return cls(
            id=global_id("Decision", row.id),
            version=row.version,
            value=JSON(row.value),
            method=row.method,
            aggregation=row.aggregation,
            confidence=row.confidence,
            agreement=row.agreement,
            detail=JSON(row.detail),
            rationale=row.rationale,
            decided_at=row.decided_at,
            superseded_at=row.superseded_at,
            _row=row,
        )

    @strawberry.field(description="Whether this is the decision in force (the item's finalLabel).")
    def in_force(self) -> bool:
        return self._row.superseded_at is None

    @strawberry.field(
        description="The person who decided; null when the aggregation decided, and for those who may not read "
        "labels: they see decisions, not people."
    )
    async def decided_by(self, info: Info) -> User | None:
        if self._row.decided_by is None or not workflow_reads.shows_people(info.context.actor, self._row.project_id):
            return None
        return await known_user(info, self._row.decided_by)

    @strawberry.field(
        description="The model version whose suggestion decided the item (method AUTO_ACCEPTED): the agent of the "
        "decision; null for every other method."
    )
    async def decided_by_model(
        self, info: Info
    ) -> Annotated[ShownModelVersion, strawberry.lazy("app.schema.automation")] | None:
        from app.schema.automation import shown_model_versions

        if self._row.model_version_id is None:
            return None
        found = await shown_model_versions(info, [str(self._row.model_version_id)])
        return found[0] if found else None

    @strawberry.field(description="The review that decided it; null without one or for those who may not read labels.")
    async def review(self, info: Info) -> Review | None:
        if self._row.review_id is None:
            return None
        row = await info.context.loaders.review.load(self._row.review_id)
        return Review.of(row) if row else None

    @strawberry.field(description="The labels the decision was made from.")
    async def source_label_ids(self, info: Info) -> list[strawberry.ID]:
        ids = await info.context.loaders.labels_of_decision.load(self._row.id)
        return [global_id("Label", v) for v in ids]

    @strawberry.field
    async def schema_version(self, info: Info) -> int:
        return await _schema_version(info, self._row.schema_version_id)

    @strawberry.field
    async def guideline_version(self, info: Info) -> int | None:
        return await _guideline_version(info, self._row.guideline_version_id)

    @strawberry.field(description="The value read under the schema in force, through the approved mappings.")
    async def in_active_schema(self, info: Info) -> CarriedValue:
        row = self._row
        return await carried_value(info, row.project_id, row.item_id, row.value, row.schema_version_id)


@strawberry.type(
    description="A task: one item leased to one annotator until leaseExpiresAt (for a RELEASED task, when it "
    "was handed back). A lease that ran out reads as EXPIRED."
)
class Assignment(Node):
    status: AssignmentStatus  # type: ignore[valid-type]
    claimed_at: datetime
    lease_expires_at: datetime
    submitted_at: datetime | None
    _row: strawberry.Private[models.Assignment]

    @classmethod
    def of(cls, row: models.Assignment) -> Assignment:
        return cls(
            id=global_id("Assignment", row.id),
            status=tasks.effective_status(row, utcnow()),
            claimed_at=row.claimed_at,
            lease_expires_at=row.lease_expires_at,
            submitted_at=row.submitted_at,
            _row=row,
        )

    @strawberry.field
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")]:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._row.item_id)
        assert row is not None
        return Item.of(row)

    @strawberry.field(
        description="The label submitted on this task, once there is one. Null with FORBIDDEN on others' tasks "
        "for roles that may not read labels."
    )
    async def label(self, info: Info) -> Label | None:
        workflow_reads.require_task_label(info.context.actor, self._row)
        row = await info.context.loaders.label_of_assignment.load(self._row.id)
        return Label.of(row) if row else None

    @strawberry.field(
        description="The qualification set this task is a question of, to its annotator and the project's "
        "managers; null for ordinary tasks."
    )
    async def qualification(
        self, info: Info
    ) -> Annotated[Qualification, strawberry.lazy("app.schema.qualification")] | None:
        from app.schema.qualification import qualification_of_task

        return await qualification_of_task(info, self._row.qualification_attempt_id)

    @strawberry.field(
        description="The models' suggestions on this task's item, latest version per model (made under the schema "
        "in force), when the project's showSuggestions allows them for this task; else empty. What a task returns "
        "to its own annotator is recorded as shown, and its label says so (Label.suggestionsShown)."
    )
    async def suggestions(
        self, info: Info
    ) -> list[Annotated[TaskSuggestion, strawberry.lazy("app.schema.automation")]]:
        from app.schema.automation import task_suggestions

        return await task_suggestions(info, self._row.id)

    @strawberry.field(
        description="For rework: the reviews that rejected the assignee's earlier labels on this item, oldest "
        "first, with the reviewer's comment. Empty on a fresh item, and for anyone but the assignee."
    )
    async def feedback(self, info: Info) -> list[Review]:
        annotator = self._row.annotator_id
        if info.context.actor.id != annotator:
            return []
        labels = await info.context.loaders.labels_of_item.load(self._row.item_id)
        rejected = {
            row.id for row in labels if row.author_id == annotator and row.status is models.LabelStatus.REJECTED
        }
        if not rejected:
            return []
        reviews = await info.context.loaders.reviews_of_item.load(self._row.item_id)
        return [Review.of(r) for r in reviews if r.label_id in rejected and r.verdict is models.Verdict.REJECT]


@strawberry.input
class ClaimNextTaskInput:
    project_id: strawberry.ID


@strawberry.type
class ClaimNextTaskPayload:
    assignment: Assignment | None
    resumed: bool = strawberry.field(description="True when this is the caller's still-leased task, handed back.")
    errors: list[WorkflowError]


@strawberry.input
class SubmitLabelInput:
    assignment_id: strawberry.ID
    value: JSON = strawberry.field(description="Keyed by label-schema field name.")
    rationale: str = ""
    time_spent_ms: int | None = None


@strawberry.type
class SubmitLabelPayload:
    label: Label | None
    errors: list[WorkflowError]

    @strawberry.field(
        description="When the task was a question of your qualification set: your score, the correct value and the "
        "guideline's definitions of its classes, and the set's progress. Null for every other task."
    )
    async def qualification(
        self, info: Info
    ) -> Annotated[QualificationFeedback, strawberry.lazy("app.schema.qualification")] | None:
        from app.schema.qualification import feedback_on

        return await feedback_on(info, self.label._row.id) if self.label else None


@strawberry.input
class ReviewLabelInput:
    label_id: strawberry.ID
    verdict: Verdict  # type: ignore[valid-type]
    corrected_value: JSON | None = None
    comment: str = ""


@strawberry.type
class ReviewLabelPayload:
    review: Review | None
    label: Label | None
    final_label: Decision | None
    item: Annotated[Item, strawberry.lazy("app.schema.items")] | None
    errors: list[WorkflowError]


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(
        description="Lease the next item of the project: highest priority first, then oldest. Never an item "
        "you already labeled, never more leases than the project's overlap. Returns your live task if you have one."
    )
    async def claim_next_task(self, info: Info, input: ClaimNextTaskInput) -> ClaimNextTaskPayload | None:
        async def act(session: AsyncSession) -> queue.Claim:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await queue.claim_next(session, info.context.actor, project_id)

        result = await run_mutation(info, queue.CLAIM_NEXT_TASK, input, act, WorkflowError)
        if isinstance(result, list):
            return ClaimNextTaskPayload(assignment=None, resumed=False, errors=result)
        # The UI always asks for the item next; hand over the row the claim already read.
        info.context.loaders.item.prime(result.item.id, result.item)
        return ClaimNextTaskPayload(assignment=Assignment.of(result.assignment), resumed=result.resumed, errors=[])

    @strawberry.mutation(description="Submit the label of your task, validated against the active label schema.")
    async def submit_label(self, info: Info, input: SubmitLabelInput) -> SubmitLabelPayload | None:
        async def act(session: AsyncSession) -> models.Label:
            new = labeling.NewLabel(
                assignment_id=input_id(input.assignment_id, "Assignment", "assignmentId"),
                value=input.value,
                rationale=input.rationale,
                time_spent_ms=input.time_spent_ms,
            )
            return await labeling.submit_label(session, info.context.actor, new)

        result = await run_mutation(info, labeling.SUBMIT_LABEL, input, act, WorkflowError)
        if isinstance(result, list):
            return SubmitLabelPayload(label=None, errors=result)
        return SubmitLabelPayload(label=Label.of(result), errors=[])

    @strawberry.mutation(
        description="Accept, correct or reject a label of someone else. Accept and correct decide the item's "
        "final label; reject sends the item back to the queue with your comment."
    )
    async def review_label(self, info: Info, input: ReviewLabelInput) -> ReviewLabelPayload | None:
        from app.schema.items import Item

        async def act(session: AsyncSession) -> review.ReviewOutcome:
            new = review.NewReview(
                label_id=input_id(input.label_id, "Label", "labelId"),
                verdict=input.verdict,
                corrected_value=input.corrected_value,
                comment=input.comment,
            )
            return await review.review_label(session, info.context.actor, new)

        result = await run_mutation(info, review.REVIEW_LABEL, input, act, WorkflowError)
        if isinstance(result, list):
            return ReviewLabelPayload(review=None, label=None, final_label=None, item=None, errors=result)
        return ReviewLabelPayload(
            review=Review.of(result.review),
            label=Label.of(result.label),
            final_label=Decision.of(result.final) if result.final else None,
            item=Item.of(result.item),
            errors=[],
        )
