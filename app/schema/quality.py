"""The quality program of a project: its consensus policy, the expert queue of escalations, and
what it measures (projectQuality)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.projects import models as project_models
from app.schema.context import Info
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation
from app.schema.workflow import AggregationMethod, Decision, WorkflowError
from app.workflow import escalations, estimates, models, policy

if TYPE_CHECKING:
    from app.schema.items import Item
    from app.schema.projects import Project


@strawberry.type(
    description="How items of a project get decided: labels to start with and at most, the aggregation, when "
    "it may decide alone, and what a reviewer sees. Defaults: k = maxOverlap, acceptConfidence 0, reviewRate 1 "
    "(every item is reviewed after its k labels)."
)
class QualityPolicy:
    overlap: int = strawberry.field(description="Labels every item gets to start with (k).")
    max_overlap: int = strawberry.field(description="At most this many labels (k_max); dynamic overlap adds one.")
    method: AggregationMethod  # type: ignore[valid-type]
    accept_confidence: float = strawberry.field(
        description="An item whose aggregated confidence reaches this is decided; below it, it gets one more label "
        "up to maxOverlap, then is escalated to an expert."
    )
    review_rate: float = strawberry.field(description="Share of decided items a reviewer sees (a seeded sample).")
    review_below_confidence: float = strawberry.field(
        description="Every item decided under this confidence is reviewed as well."
    )
    refresh_every: int = strawberry.field(
        description="WEIGHTED and DAWID_SKENE: annotator reliability is re-estimated after this many new labels."
    )

    @classmethod
    def of(cls, row: project_models.Project) -> QualityPolicy:
        rules = policy.of(row)
        return cls(
            overlap=rules.overlap,
            max_overlap=rules.max_overlap,
            method=rules.method,
            accept_confidence=rules.accept_confidence,
            review_rate=rules.review_rate,
            review_below_confidence=rules.review_below_confidence,
            refresh_every=rules.refresh_every,
        )


@strawberry.input(description="Fields left out keep their value.")
class UpdateQualityPolicyInput:
    project_id: strawberry.ID
    overlap: int | None = None
    max_overlap: int | None = None
    method: AggregationMethod | None = None  # type: ignore[valid-type]
    accept_confidence: float | None = None
    review_rate: float | None = None
    review_below_confidence: float | None = None
    refresh_every: int | None = None


@strawberry.type
class UpdateQualityPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[WorkflowError]


@strawberry.type(description="An item whose labels stayed unresolved at maxOverlap, waiting for an expert.")
class Escalation:
    reason: str
    confidence: float = strawberry.field(description="The aggregation's confidence when it gave up.")
    created_at: datetime
    lease_expires_at: datetime | None = strawberry.field(description="Until when the claiming expert holds it.")
    resolved_at: datetime | None
    _row: strawberry.Private[models.Escalation]

    @classmethod
    def of(cls, row: models.Escalation) -> Escalation:
        return cls(
            reason=row.reason,
            confidence=row.confidence,
            created_at=row.created_at,
            lease_expires_at=row.lease_expires_at,
            resolved_at=row.resolved_at,
            _row=row,
        )

    @strawberry.field
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")] | None:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._row.item_id)
        return Item.of(row) if row else None

    @strawberry.field
    async def claimed_by(self, info: Info) -> User | None:
        return await known_user(info, self._row.claimed_by) if self._row.claimed_by else None


@strawberry.input
class ClaimNextEscalationInput:
    project_id: strawberry.ID


@strawberry.type
class ClaimNextEscalationPayload:
    escalation: Escalation | None
    resumed: bool = strawberry.field(description="True when this is the caller's still-leased escalation.")
    errors: list[WorkflowError]


@strawberry.input
class ResolveEscalationInput:
    item_id: strawberry.ID
    value: JSON = strawberry.field(description="The expert's value, checked against the label schema in force.")
    rationale: str = strawberry.field(description="Why: required, and kept as the decision's evidence.")


@strawberry.type
class ResolveEscalationPayload:
    decision: Decision | None
    item: Annotated[Item, strawberry.lazy("app.schema.items")] | None
    errors: list[WorkflowError]


@strawberry.input
class RefreshQualityInput:
    project_id: strawberry.ID


@strawberry.type
class RefreshQualityPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    fields: int = strawberry.field(description="Label fields estimated.")
    labels_used: int = strawberry.field(description="Counted labels the estimate was made from.")
    redecided: int = strawberry.field(
        description="Items the aggregation had decided whose value changed: each got a new decision version."
    )
    errors: list[WorkflowError]


@strawberry.type
class QualityMutation:
    @strawberry.mutation(
        description="Re-estimate the annotators now (WEIGHTED, DAWID_SKENE; a no-op under MAJORITY) and re-decide "
        "the items the aggregation decided whose value the new estimate changes. Also runs by itself after every "
        "refreshEvery new labels. Project managers and admins."
    )
    async def refresh_quality(self, info: Info, input: RefreshQualityInput) -> RefreshQualityPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> estimates.Refreshed:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await estimates.refresh_quality(session, info.context.actor, project_id)

        result = await run_mutation(info, estimates.REFRESH_QUALITY, input, act, WorkflowError)
        if isinstance(result, list):
            return RefreshQualityPayload(project=None, fields=0, labels_used=0, redecided=0, errors=result)
        return RefreshQualityPayload(
            project=Project.of(result.project),
            fields=result.fields,
            labels_used=result.labels_used,
            redecided=result.redecided,
            errors=[],
        )

    @strawberry.mutation(
        description="Experts: lease the oldest open escalation of the project that you did not label yourself; "
        "returns your live one if you have one."
    )
    async def claim_next_escalation(
        self, info: Info, input: ClaimNextEscalationInput
    ) -> ClaimNextEscalationPayload | None:
        async def act(session: AsyncSession) -> escalations.EscalationClaim:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await escalations.claim_next(session, info.context.actor, project_id)

        result = await run_mutation(info, escalations.CLAIM_NEXT_ESCALATION, input, act, WorkflowError)
        if isinstance(result, list):
            return ClaimNextEscalationPayload(escalation=None, resumed=False, errors=result)
        return ClaimNextEscalationPayload(
            escalation=Escalation.of(result.escalation), resumed=result.resumed, errors=[]
        )

    @strawberry.mutation(
        description="Experts: decide an escalated item with your value and rationale (EXPERT_RESOLVED). Not on "
        "an item you labeled (SELF_REVIEW) or one another expert holds (NOT_ASSIGNEE)."
    )
    async def resolve_escalation(self, info: Info, input: ResolveEscalationInput) -> ResolveEscalationPayload | None:
        from app.schema.items import Item

        async def act(session: AsyncSession) -> escalations.Resolved:
            new = escalations.Resolution(
                item_id=input_id(input.item_id, "Item", "itemId"), value=input.value, rationale=input.rationale
            )
            return await escalations.resolve(session, info.context.actor, new)

        result = await run_mutation(info, escalations.RESOLVE_ESCALATION, input, act, WorkflowError)
        if isinstance(result, list):
            return ResolveEscalationPayload(decision=None, item=None, errors=result)
        return ResolveEscalationPayload(decision=Decision.of(result.decision), item=Item.of(result.item), errors=[])

    @strawberry.mutation(
        description="Change a project's quality policy (project managers and admins); audited with the values "
        "before and after. The new overlap applies to items imported from now on, the rest to every item settled "
        "from now on."
    )
    async def update_quality_policy(
        self, info: Info, input: UpdateQualityPolicyInput
    ) -> UpdateQualityPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            change = policy.PolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                overlap=input.overlap,
                max_overlap=input.max_overlap,
                method=input.method,
                accept_confidence=input.accept_confidence,
                review_rate=input.review_rate,
                review_below_confidence=input.review_below_confidence,
                refresh_every=input.refresh_every,
            )
            return await policy.update_policy(session, info.context.actor, change)

        result = await run_mutation(info, policy.UPDATE_QUALITY_POLICY, input, act, WorkflowError)
        if isinstance(result, list):
            return UpdateQualityPolicyPayload(project=None, errors=result)
        return UpdateQualityPolicyPayload(project=Project.of(result), errors=[])
