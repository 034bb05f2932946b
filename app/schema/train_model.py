"""trainModel: the built-in text classifier trained from the project's decided items, its
suggestions for the undecided ones, and the runs it leaves (`Project.trainingRuns`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation import training
from app.automation import training_models as models
from app.errors import DomainError
from app.projects import models as project_models
from app.schema.automation import AutomationError, AutomationErrorCode, ModelVersion
from app.schema.context import Info
from app.schema.errors import errors_of
from app.schema.mutation import input_id, run_mutation
from app.schema.node import global_id

TrainingStatus = strawberry.enum(models.TrainingStatus, description="How a training run ended.")
TrainingTrigger = strawberry.enum(
    models.TrainingTrigger, description="MANUAL: trainModel; RETRAIN: the background retrain every N decisions."
)


@strawberry.type(description="One attempt to train the built-in model of one single-choice field.")
class TrainingRun:
    id: strawberry.ID
    field: str = strawberry.field(description="The field trained (empty when a retrain was refused before any).")
    status: TrainingStatus  # type: ignore[valid-type]
    trigger: TrainingTrigger  # type: ignore[valid-type]
    error_code: AutomationErrorCode | None = strawberry.field(  # type: ignore[valid-type]
        description="Why it FAILED (a TrainingCode such as TOO_FEW_EXAMPLES, or TRAINING_FORBIDDEN)."
    )
    error_message: str | None
    started_at: datetime
    finished_at: datetime
    training_size: int = strawberry.field(description="Decided items with a class of the field.")
    predicted: int = strawberry.field(description="Undecided items given a suggestion.")
    _row: strawberry.Private[models.TrainingRun]

    @classmethod
    def of(cls, row: models.TrainingRun) -> TrainingRun:
        return cls(
            id=global_id("TrainingRun", row.id),
            field=row.field,
            status=row.status,
            trigger=row.trigger,
            error_code=row.error_code,
            error_message=row.error_message,
            started_at=row.started_at,
            finished_at=row.finished_at,
            training_size=row.training_size,
            predicted=row.predicted,
            _row=row,
        )

    @strawberry.field(description="The BUILT_IN version it registered, with its metrics; null when it failed.")
    async def model_version(self, info: Info) -> ModelVersion | None:
        if self._row.model_version_id is None:
            return None
        found = await info.context.loaders.model_version.load(self._row.model_version_id)
        return ModelVersion.of(*found) if found else None


async def project_training_runs(info: Info, row: project_models.Project, first: int) -> list[TrainingRun]:
    async with info.context.db() as session:
        runs = await training.training_runs(session, info.context.actor, row, max(1, min(first, 100)))
    return [TrainingRun.of(r) for r in runs]


@strawberry.input
class TrainModelInput:
    project_id: strawberry.ID
    field: str | None = strawberry.field(
        default=None, description="A single-choice field of the schema in force; omitted: every one of them."
    )


@strawberry.type
class TrainModelPayload:
    runs: list[TrainingRun] = strawberry.field(
        description="One per field, recorded also when it FAILED (then `errors` says why, and nothing else was "
        "written)."
    )
    errors: list[AutomationError]


@strawberry.type
class TrainModelMutation:
    @strawberry.mutation(
        description="Train the built-in text classifier from the decided items (project managers and admins; "
        "audited as automation.train): cross-validated accuracy and calibration in the new BUILT_IN model "
        "version's metrics (model builtin-<field>, versions 1, 2, ...), suggestions for the undecided items "
        "written as a push's are, and their uncertainty for the queue's sampling. Too few decided items or one "
        "class only is a typed error (TrainingCode) with a FAILED run recorded and nothing else written."
    )
    async def train_model(self, info: Info, input: TrainModelInput) -> TrainModelPayload | None:
        actor = info.context.actor
        try:
            project_id = input_id(input.project_id, "Project", "projectId")
            async with info.context.db() as session:
                plan = await training.prepare(session, actor, project_id, input.field)
        except DomainError as exc:
            return TrainModelPayload(runs=[], errors=errors_of(AutomationError, exc.problems))
        await info.context.refresh()  # the read transaction ends before the fit
        outcomes = await training.fit_in_thread(plan)

        async def act(session: AsyncSession) -> training.Stored:
            return await training.store(session, actor, plan, outcomes)

        result = await run_mutation(info, training.TRAIN_MODEL, input, act, AutomationError)
        if isinstance(result, list):
            return TrainModelPayload(runs=[], errors=result)
        return TrainModelPayload(
            runs=[TrainingRun.of(r) for r in result.runs], errors=errors_of(AutomationError, result.problems)
        )
