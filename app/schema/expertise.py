"""Gold questions and annotator standing: setGoldAnswers, updateGoldPolicy, liftSuspension,
Project.goldPolicy, Project.annotators and Item.goldAnswer (app/expertise/)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.expertise import error_codes as area_codes
from app.expertise import qualification, service
from app.projects import models as project_models
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation

if TYPE_CHECKING:
    from app.schema.projects import Project
    from app.schema.qualification import Certification

ExpertiseErrorCode = strawberry.enum(area_codes.ExpertiseErrorCode, description=area_codes.ExpertiseErrorCode.__doc__)


@strawberry.type(description="A failure of a gold or annotator-standing mutation.")
class ExpertiseError(UserError):
    codes = area_codes.ExpertiseErrorCode
    code: ExpertiseErrorCode  # type: ignore[valid-type]


@strawberry.type(description="Gold questions: how often they are served and what their scores do.")
class GoldPolicy:
    gold_rate: float = strawberry.field(description="Share of claims served a gold item (a seeded draw), 0..1.")
    gold_window: int = strawberry.field(description="Rolling gold accuracy spans this many latest gold answers.")
    gold_floor: float = strawberry.field(
        description="Under this rolling accuracy (after goldMinAnswers) an annotator is suspended here; 0 is off."
    )
    gold_min_answers: int

    @classmethod
    def of(cls, row: project_models.Project) -> GoldPolicy:
        return cls(
            gold_rate=row.gold_rate,
            gold_window=row.gold_window,
            gold_floor=row.gold_floor,
            gold_min_answers=row.gold_min_answers,
        )


@strawberry.type(description="Why and since when an annotator may not claim in a project.")
class Suspension:
    reason: str
    gold_accuracy: float | None
    since: datetime


@strawberry.type(description="An annotator of a project with its gold figures and standing.")
class ProjectAnnotator:
    gold_answers: int = strawberry.field(description="Gold answers in the rolling window (at most goldWindow).")
    gold_accuracy: float | None = strawberry.field(description="Mean score of those answers, 0..1.")
    suspension: Suspension | None
    certification: Annotated[Certification, strawberry.lazy("app.schema.qualification")] = strawberry.field(
        description="Certified, expiring, qualifying, in a cool-down after a failed attempt, or uncertified."
    )
    _user: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await known_user(info, self._user)


async def project_annotators(info: Info, row: project_models.Project) -> list[ProjectAnnotator]:
    from app.schema.qualification import Certification

    async with info.context.db() as session:
        found = await service.annotators(session, info.context.actor, row)
        certified = await qualification.certifications(session, row, [a.user.id for a in found])
    return [
        ProjectAnnotator(
            gold_answers=a.gold_answers,
            gold_accuracy=a.gold_accuracy,
            suspension=Suspension(
                reason=a.suspension.reason, gold_accuracy=a.suspension.gold_accuracy, since=a.suspension.created_at
            )
            if a.suspension
            else None,
            certification=Certification.of(certified[a.user.id]),
            _user=a.user.id,
        )
        for a in found
    ]


@strawberry.type(description="An item's known answer: shown only to those who may set gold answers.")
class GoldAnswer:
    value: JSON
    set_at: datetime


@strawberry.input
class GoldAnswerInput:
    item_id: strawberry.ID
    value: JSON


@strawberry.input
class SetGoldAnswersInput:
    project_id: strawberry.ID
    answers: list[GoldAnswerInput] = strawberry.field(description="Up to 10,000; one bad answer rejects the call.")


@strawberry.type
class SetGoldAnswersPayload:
    gold_items: int = strawberry.field(description="Items marked gold by this call.")
    errors: list[ExpertiseError]


@strawberry.input
class UpdateGoldPolicyInput:
    project_id: strawberry.ID
    gold_rate: float | None = None
    gold_window: int | None = None
    gold_floor: float | None = None
    gold_min_answers: int | None = None


@strawberry.type
class UpdateGoldPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[ExpertiseError]


@strawberry.input
class LiftSuspensionInput:
    project_id: strawberry.ID
    user_id: strawberry.ID
    reason: str


@strawberry.type
class LiftSuspensionPayload:
    lifted: bool
    errors: list[ExpertiseError]


@strawberry.type
class ExpertiseMutation:
    @strawberry.mutation(
        description="Mark items as gold questions with their known answers (project managers and admins). An item "
        "already labeled or handed out cannot become gold."
    )
    async def set_gold_answers(self, info: Info, input: SetGoldAnswersInput) -> SetGoldAnswersPayload | None:
        async def act(session: AsyncSession) -> int:
            project_id = input_id(input.project_id, "Project", "projectId")
            answers = [
                service.GoldValue(input_id(a.item_id, "Item", f"answers.{i}.itemId"), a.value)
                for i, a in enumerate(input.answers)
            ]
            return len(await service.set_gold_answers(session, info.context.actor, project_id, answers))

        result = await run_mutation(info, service.SET_GOLD_ANSWERS, input, act, ExpertiseError)
        if isinstance(result, list):
            return SetGoldAnswersPayload(gold_items=0, errors=result)
        return SetGoldAnswersPayload(gold_items=result, errors=[])

    @strawberry.mutation(description="Change the gold policy (project managers and admins; audited).")
    async def update_gold_policy(self, info: Info, input: UpdateGoldPolicyInput) -> UpdateGoldPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            change = service.GoldPolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                gold_rate=input.gold_rate,
                gold_window=input.gold_window,
                gold_floor=input.gold_floor,
                gold_min_answers=input.gold_min_answers,
            )
            return await service.update_gold_policy(session, info.context.actor, change)

        result = await run_mutation(info, service.UPDATE_GOLD_POLICY, input, act, ExpertiseError)
        if isinstance(result, list):
            return UpdateGoldPolicyPayload(project=None, errors=result)
        return UpdateGoldPolicyPayload(project=Project.of(result), errors=[])

    @strawberry.mutation(description="Let a suspended annotator claim again, with a reason (managers; audited).")
    async def lift_suspension(self, info: Info, input: LiftSuspensionInput) -> LiftSuspensionPayload | None:
        async def act(session: AsyncSession) -> object:
            project_id = input_id(input.project_id, "Project", "projectId")
            user_id = input_id(input.user_id, "User", "userId")
            return await service.lift_suspension(session, info.context.actor, project_id, user_id, input.reason)

        result = await run_mutation(info, service.LIFT_SUSPENSION, input, act, ExpertiseError)
        if isinstance(result, list):
            return LiftSuspensionPayload(lifted=False, errors=result)
        return LiftSuspensionPayload(lifted=True, errors=[])
