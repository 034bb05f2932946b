"""Erasure and retention: eraseSubject, eraseUser, updateRetentionPolicy (app/erasure/)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import models as user_models
from app.erasure import error_codes as area_codes
from app.erasure import service
from app.projects import models as project_models
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.mutation import input_id, run_mutation
from app.schema.node import global_id

if TYPE_CHECKING:
    from app.schema.identity import User
    from app.schema.projects import Project

ErasureErrorCode = strawberry.enum(area_codes.ErasureErrorCode, description=area_codes.ErasureErrorCode.__doc__)


@strawberry.type(description="A failure of an erasure or retention mutation.")
class ErasureError(UserError):
    codes = area_codes.ErasureErrorCode
    code: ErasureErrorCode  # type: ignore[valid-type]


@strawberry.type(description="What an erasure reached: numbers only, never the content erased.")
class ErasureCounts:
    items: int = strawberry.field(description="Items whose data and metadata are now a tombstone.")
    items_withdrawn: int = strawberry.field(description="Undecided items among them, now WITHDRAWN (out of queues).")
    assignments_cancelled: int
    labels: int = strawberry.field(description="Labels whose rationale and free-text values were erased.")
    reviews: int
    decisions: int
    comments: int = strawberry.field(description="Comments left as deleted tombstones (mentions removed).")
    mentions: int
    escalations: int
    audits: int
    suggestions: int
    gold_answers: int
    guideline_edge_cases: int = strawberry.field(
        description="Guideline edge cases (counted once per guideline version) promoted from these items, whose "
        "description (the quoted thread or rationale) was erased; title and source ids stay."
    )
    trained_models: int = strawberry.field(
        description="Stored fits of the built-in model in these items' projects, dropped: their vocabulary came "
        "from the items' texts (the model versions, their metrics and suggestions stay)."
    )


@strawberry.input
class EraseSubjectInput:
    subject_ref: str = strawberry.field(description="The subject's pseudonym, as in its consent records.")
    reason: str


@strawberry.type
class EraseSubjectPayload:
    erasure_id: strawberry.ID | None = strawberry.field(description="The erasure request recorded (audited).")
    erased_at: datetime | None
    counts: ErasureCounts | None
    errors: list[ErasureError]


@strawberry.input
class EraseUserInput:
    user_id: strawberry.ID
    reason: str


@strawberry.type
class EraseUserPayload:
    user: Annotated[User, strawberry.lazy("app.schema.identity")] | None
    errors: list[ErasureError]


@strawberry.input
class UpdateRetentionPolicyInput:
    project_id: strawberry.ID
    retention_days: int | None = strawberry.field(
        description="Days after import an item's content is kept (1-36,500); null keeps it forever."
    )


@strawberry.type
class UpdateRetentionPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[ErasureError]


@strawberry.type
class ErasureMutation:
    @strawberry.mutation(
        description="Erase a data subject (compliance officers; audited): in one transaction the content of "
        "every item of the subject becomes a tombstone, with the free text about them (rationales, text "
        "values, comments, review and audit comments); ids, class values and counts stay. Undecided items "
        "are WITHDRAWN and their open tasks CANCELLED. An unknown subject erases nothing (still recorded)."
    )
    async def erase_subject(self, info: Info, input: EraseSubjectInput) -> EraseSubjectPayload | None:
        async def act(session: AsyncSession) -> service.Erased:
            return await service.erase_subject(session, info.context.actor, input.subject_ref, input.reason)

        result = await run_mutation(info, service.ERASE_SUBJECT, input, act, ErasureError)
        if isinstance(result, list):
            return EraseSubjectPayload(erasure_id=None, erased_at=None, counts=None, errors=result)
        c = result.counts
        return EraseSubjectPayload(
            erasure_id=strawberry.ID(global_id("ErasureRequest", result.request.id)),
            erased_at=result.request.requested_at,
            counts=ErasureCounts(
                items=c.items,
                items_withdrawn=c.items_withdrawn,
                assignments_cancelled=c.assignments_cancelled,
                labels=c.labels,
                reviews=c.reviews,
                decisions=c.decisions,
                comments=c.comments,
                mentions=c.mentions,
                escalations=c.escalations,
                audits=c.audits,
                suggestions=c.suggestions,
                gold_answers=c.gold_answers,
                guideline_edge_cases=c.guideline_edge_cases,
                trained_models=c.trained_models,
            ),
            errors=[],
        )

    @strawberry.mutation(
        description="Erase a person (admins and compliance officers; audited): username and display name become "
        "a stable pseudonym everywhere they are read, the account is deactivated and its sign-ins ended. The "
        "id stays, so labels, decisions and audit events still name the same identity."
    )
    async def erase_user(self, info: Info, input: EraseUserInput) -> EraseUserPayload | None:
        from app.schema.identity import User

        async def act(session: AsyncSession) -> user_models.User:
            user_id = input_id(input.user_id, "User", "userId")
            return await service.erase_user(session, info.context.actor, user_id, input.reason)

        result = await run_mutation(info, service.ERASE_USER, input, act, ErasureError)
        if isinstance(result, list):
            return EraseUserPayload(user=None, errors=result)
        return EraseUserPayload(user=User.of(result), errors=[])

    @strawberry.mutation(
        description="Set how long a project keeps item content after import (project managers and admins; "
        "audited). `labelgraph retention apply` purges what is older."
    )
    async def update_retention_policy(
        self, info: Info, input: UpdateRetentionPolicyInput
    ) -> UpdateRetentionPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await service.update_retention_policy(session, info.context.actor, project_id, input.retention_days)

        result = await run_mutation(info, service.UPDATE_RETENTION_POLICY, input, act, ErasureError)
        if isinstance(result, list):
            return UpdateRetentionPolicyPayload(project=None, errors=result)
        return UpdateRetentionPolicyPayload(project=Project.of(result), errors=[])
