"""The quality program of a project: its consensus policy, the expert queue of escalations, and
what it measures (projectQuality)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.projects import models as project_models
from app.schema.context import Info
from app.schema.mutation import input_id, run_mutation
from app.schema.workflow import AggregationMethod, WorkflowError
from app.workflow import policy

if TYPE_CHECKING:
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


@strawberry.type
class QualityMutation:
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
