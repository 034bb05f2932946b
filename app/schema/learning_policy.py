"""updateActiveLearningPolicy: retraining the built-in model every N decisions, and the order the
queue hands items out in (sampling strategy and uncertainty measure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation import training
from app.automation import training_models as models
from app.projects import models as project_models
from app.schema.automation import AutomationError
from app.schema.context import Info
from app.schema.mutation import input_id, run_mutation

if TYPE_CHECKING:
    from app.schema.projects import Project

SamplingStrategy = strawberry.enum(
    models.SamplingStrategy,
    description="The queue's order after priority: SEQUENTIAL (oldest first), UNCERTAINTY (the built-in model's "
    "most uncertain first, by uncertaintyMeasure) or DIVERSE_UNCERTAINTY (uncertain and spread over the texts). "
    "Items the model has not scored come after the scored ones, oldest first.",
)
UncertaintyMeasure = strawberry.enum(
    models.UncertaintyMeasure,
    description="How UNCERTAINTY sampling scores an item: 1 - top probability, "
    "1 - the gap between the two likeliest classes, or normalised entropy.",
)


@strawberry.input
class UpdateActiveLearningPolicyInput:
    project_id: strawberry.ID
    retrain_every: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Retrain after this many new decisions (1..1,000,000), on behalf of you; null turns it off; "
        "omitted keeps it.",
    )
    sampling_strategy: SamplingStrategy | None = None  # type: ignore[valid-type]
    uncertainty_measure: UncertaintyMeasure | None = None  # type: ignore[valid-type]


@strawberry.type
class UpdateActiveLearningPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[AutomationError]


@strawberry.type
class LearningPolicyMutation:
    @strawberry.mutation(
        description="Set the built-in model's retraining and the queue's sampling strategy (project managers and "
        "admins; audited as automation.policy)."
    )
    async def update_active_learning_policy(
        self, info: Info, input: UpdateActiveLearningPolicyInput
    ) -> UpdateActiveLearningPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            change = training.LearningPolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                set_retrain_every=input.retrain_every is not strawberry.UNSET,
                retrain_every=None if input.retrain_every is strawberry.UNSET else input.retrain_every,
                sampling_strategy=models.SamplingStrategy(input.sampling_strategy) if input.sampling_strategy else None,
                uncertainty_measure=(
                    models.UncertaintyMeasure(input.uncertainty_measure) if input.uncertainty_measure else None
                ),
            )
            return await training.update_learning_policy(session, info.context.actor, change)

        result = await run_mutation(info, training.UPDATE_LEARNING_POLICY, input, act, AutomationError)
        if isinstance(result, list):
            return UpdateActiveLearningPolicyPayload(project=None, errors=result)
        return UpdateActiveLearningPolicyPayload(project=Project.of(result), errors=[])
