"""Qualification and certification: updateCertificationPolicy, startQualification,
Project.certificationPolicy, the qualification a task belongs to, the feedback on an answer,
and an annotator's certification (app/expertise/qualification.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.expertise import models
from app.expertise import qualification as service
from app.projects import models as project_models
from app.projects.reads import get_project
from app.schema.context import Info
from app.schema.expertise import ExpertiseError
from app.schema.guidelines import ClassDefinition
from app.schema.mutation import input_id, run_mutation

if TYPE_CHECKING:
    from app.schema.projects import Project

PrerequisiteStage = strawberry.enum(
    service.Stage, description="What a certificate from another project gates here: tasks or escalations."
)
CertificationStanding = strawberry.enum(
    service.Standing,
    description="UNCERTIFIED: never passed; QUALIFYING: a qualification set is open; COOLDOWN: the last attempt "
    "failed and may be retried later; CERTIFIED; EXPIRING: certified, with under a tenth of the validity (at least "
    "a day) left; EXPIRED: the certificate lapsed.",
)


@strawberry.type(description="A certificate from another project that claims here need.")
class Prerequisite:
    field: str = strawberry.field(description='The label set it certifies; "" for the whole schema.')
    stage: PrerequisiteStage  # type: ignore[valid-type]
    _project: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The project issuing it; null when you cannot read that project.")
    async def project(self, info: Info) -> Annotated[Project, strawberry.lazy("app.schema.projects")] | None:
        from app.schema.projects import Project

        async with info.context.db() as session:
            row = await get_project(session, info.context.actor, self._project)
        return Project.of(row) if row else None


@strawberry.type(description="Who may claim here: certification by a qualification set, and prerequisites.")
class CertificationPolicy:
    required: bool = strawberry.field(description="Claims need a valid certificate of this project.")
    size: int = strawberry.field(description="Gold questions in a qualification set.")
    pass_mark: float = strawberry.field(description="The mean score (0..1) that passes.")
    field: str = strawberry.field(description='The label set scored and certified; "" for the whole schema.')
    certificate_days: int = strawberry.field(description="How long a certificate lasts.")
    cooldown_minutes: int = strawberry.field(description="How long after a failed attempt a retry may start.")
    prerequisites: list[Prerequisite]

    @classmethod
    async def of(cls, info: Info, row: project_models.Project) -> CertificationPolicy:
        async with info.context.db() as session:
            found = await service.prerequisites(session, row.id)
        return cls(
            required=row.certification_required,
            size=row.qualification_size,
            pass_mark=row.qualification_pass_mark,
            field=row.qualification_field,
            certificate_days=row.certificate_days,
            cooldown_minutes=row.qualification_cooldown_minutes,
            prerequisites=[Prerequisite(field=p.field, stage=p.stage, _project=p.from_project_id) for p in found],
        )


@strawberry.type(description="One run through a qualification set.")
class Qualification:
    size: int
    pass_mark: float
    field: str
    answered: int
    score: float | None = strawberry.field(description="The mean score of the answers so far.")
    started_at: datetime
    finished_at: datetime | None
    passed: bool | None = strawberry.field(description="Null while open.")
    retry_after: datetime | None = strawberry.field(description="When a failed attempt may be retried.")

    @classmethod
    def of(cls, row: models.QualificationAttempt) -> Qualification:
        return cls(
            size=row.size,
            pass_mark=row.pass_mark,
            field=row.field,
            answered=row.answered,
            score=service.Progress(row).score,
            started_at=row.started_at,
            finished_at=row.finished_at,
            passed=row.passed,
            retry_after=row.retry_after,
        )


async def qualification_of_task(info: Info, attempt_id: uuid.UUID | None) -> Qualification | None:
    if attempt_id is None:
        return None
    async with info.context.db() as session:
        row = await service.attempt_of(session, info.context.actor, attempt_id)
    return Qualification.of(row) if row else None


@strawberry.type
class FieldScore:
    field: str
    score: float


@strawberry.type(description="What you learn right after answering a qualification question.")
class QualificationFeedback:
    score: float = strawberry.field(description="This answer's score, 0..1 (the mean over its fields).")
    fields: list[FieldScore]
    correct_value: JSON = strawberry.field(description="The known answer of the fields scored.")
    definitions: list[ClassDefinition] = strawberry.field(
        description="The guideline's definitions of the correct value's classes."
    )
    qualification: Qualification = strawberry.field(
        description="The set after this answer (passed or failed at the end)."
    )


async def feedback_on(info: Info, label_id: uuid.UUID) -> QualificationFeedback | None:
    async with info.context.db() as session:
        found = await service.feedback(session, info.context.actor, label_id)
    if found is None:
        return None
    return QualificationFeedback(
        score=found.score,
        fields=[FieldScore(field=k, score=v) for k, v in found.fields.items()],
        correct_value=found.correct_value,
        definitions=[
            ClassDefinition(field=d.field, class_name=d.class_, definition=d.definition) for d in found.definitions
        ],
        qualification=Qualification.of(found.progress.attempt),
    )


@strawberry.type(description="A certificate: a passed qualification set, valid until it expires.")
class Certificate:
    field: str
    score: float
    issued_at: datetime
    expires_at: datetime


@strawberry.type(description="An annotator's certification in a project.")
class Certification:
    standing: CertificationStanding  # type: ignore[valid-type]
    certificate: Certificate | None = strawberry.field(description="The latest certificate, valid or not.")
    qualification: Qualification | None = strawberry.field(
        description="The open qualification set, or the failed one whose cool-down runs."
    )
    attempts: int

    @classmethod
    def of(cls, found: service.Certification) -> Certification:
        c = found.certificate
        return cls(
            standing=found.standing,
            certificate=Certificate(field=c.field, score=c.score, issued_at=c.issued_at, expires_at=c.expires_at)
            if c
            else None,
            qualification=Qualification.of(found.attempt) if found.attempt else None,
            attempts=found.attempts,
        )


@strawberry.input
class PrerequisiteInput:
    project_id: strawberry.ID
    field: str = ""
    stage: PrerequisiteStage = service.Stage.LABELING  # type: ignore[valid-type]


@strawberry.input
class UpdateCertificationPolicyInput:
    project_id: strawberry.ID
    required: bool | None = None
    size: int | None = strawberry.field(default=None, description="1..100")
    pass_mark: float | None = strawberry.field(default=None, description="Above 0, at most 1.")
    field: str | None = strawberry.field(default=None, description='A field of the schema in force; "" for all.')
    certificate_days: int | None = strawberry.field(default=None, description="1..3650")
    cooldown_minutes: int | None = strawberry.field(default=None, description="0..525600")
    prerequisites: list[PrerequisiteInput] | None = strawberry.field(
        default=None, description="Replaces the list when given (at most 20)."
    )


@strawberry.type
class UpdateCertificationPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[ExpertiseError]


@strawberry.input
class StartQualificationInput:
    project_id: strawberry.ID


@strawberry.type
class StartQualificationPayload:
    qualification: Qualification | None
    errors: list[ExpertiseError]


@strawberry.type
class QualificationMutation:
    @strawberry.mutation(
        description="Change who may claim in the project: certification by a qualification set of gold questions, "
        "and certificates required from other projects (project managers and admins; audited). Requiring "
        "certification needs at least `size` gold items."
    )
    async def update_certification_policy(
        self, info: Info, input: UpdateCertificationPolicyInput
    ) -> UpdateCertificationPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            given = None
            if input.prerequisites is not None:
                given = [
                    service.Prerequisite(
                        input_id(p.project_id, "Project", f"prerequisites.{i}.projectId"), p.field, p.stage
                    )
                    for i, p in enumerate(input.prerequisites)
                ]
            change = service.CertificationPolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                required=input.required,
                size=input.size,
                pass_mark=input.pass_mark,
                field=input.field,
                certificate_days=input.certificate_days,
                cooldown_minutes=input.cooldown_minutes,
                prerequisites=given,
            )
            return await service.update_policy(session, info.context.actor, change)

        result = await run_mutation(info, service.UPDATE_CERTIFICATION_POLICY, input, act, ExpertiseError)
        if isinstance(result, list):
            return UpdateCertificationPolicyPayload(project=None, errors=result)
        return UpdateCertificationPolicyPayload(project=Project.of(result), errors=[])

    @strawberry.mutation(
        description="Start a qualification set (or go on with the open one): to re-qualify after a suspension or to "
        "renew a certificate. Your next claims in the project serve its questions, each answered with feedback."
    )
    async def start_qualification(self, info: Info, input: StartQualificationInput) -> StartQualificationPayload | None:
        async def act(session: AsyncSession) -> models.QualificationAttempt:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await service.start_qualification(session, info.context.actor, project_id)

        result = await run_mutation(info, service.START_QUALIFICATION, input, act, ExpertiseError)
        if isinstance(result, list):
            return StartQualificationPayload(qualification=None, errors=result)
        return StartQualificationPayload(qualification=Qualification.of(result), errors=[])
