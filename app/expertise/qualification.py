"""Qualification and certification: who may claim in a project, and the practice loop that gets them there.

A project can require certification (`updateCertificationPolicy`). An annotator without a valid
certificate who claims is handed a qualification set instead of work: `qualification_size` of the
project's gold items, one at a time through the ordinary claim and submit, each answer scored
(app/expertise/scoring.py, on the policy's field only when it names one) and answered at once
with the correct value and the guideline's definitions of its classes (`feedback`). After the
last one the attempt passes at `qualification_pass_mark` (a certificate valid `certificate_days`,
and any open suspension lifted: the annotator re-qualified) or fails (a retry after
`qualification_cooldown_minutes`); both are audited. Qualification answers are not blind, so they
never count in the rolling gold accuracy, and an item served in a qualification set is never
served to that annotator as a blind gold question afterwards (app/expertise/service.py skips
every item it was handed).

A suspended annotator re-qualifies by `startQualification`, which also renews a certificate early.
A project can also require certificates held from other projects (`prerequisites`), for its tasks
or for its escalations: a reliable pool for the hard cases.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.db import serialize_on
from app.errors import DomainError, Problem
from app.expertise import scoring
from app.expertise.models import (
    Certificate,
    CertificateRequirement,
    GoldAnswer,
    GoldResponse,
    QualificationAttempt,
    Suspension,
)
from app.expertise.service import open_suspension
from app.guidelines import content as guideline_content
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project, get_project
from app.projects.service import active_schema, guideline_row
from app.workflow.models import Assignment, AssignmentStatus, Label

UPDATE_CERTIFICATION_POLICY = Operation(
    "updateCertificationPolicy", Permission("certification", "configure"), audit="certification.policy"
)
START_QUALIFICATION = Operation("startQualification", Permission("task", "claim"), audit="qualification.start")

MAX_SET_SIZE = 100
MAX_CERTIFICATE_DAYS = 3650
MAX_COOLDOWN_MINUTES = 525_600  # a year
MAX_PREREQUISITES = 20
# A certificate is "expiring" in project.annotators within this share of its validity (at least a day).
EXPIRING_SHARE = 0.1


class Stage(enum.StrEnum):
    """What a prerequisite certificate gates in the project requiring it."""

    LABELING = "LABELING"  # claimNextTask
    ESCALATION = "ESCALATION"  # claimNextEscalation


@dataclass(frozen=True)
class Prerequisite:
    from_project_id: uuid.UUID
    field: str = ""
    stage: Stage = Stage.LABELING


@dataclass(frozen=True)
class CertificationPolicyChange:
    project_id: uuid.UUID
    required: bool | None = None
    size: int | None = None
    pass_mark: float | None = None
    field: str | None = None
    certificate_days: int | None = None
    cooldown_minutes: int | None = None
    prerequisites: Sequence[Prerequisite] | None = None  # None keeps them; a list replaces them


POLICY_FIELDS = {
    "certification_required": ("required", "required"),
    "qualification_size": ("size", "size"),
    "qualification_pass_mark": ("pass_mark", "passMark"),
    "qualification_field": ("field", "field"),
    "certificate_days": ("certificate_days", "certificateDays"),
    "qualification_cooldown_minutes": ("cooldown_minutes", "cooldownMinutes"),
}


async def update_policy(session: AsyncSession, actor: Actor, change: CertificationPolicyChange) -> Project:
    project = await find_project(session, actor, change.project_id, lock=True)
    UPDATE_CERTIFICATION_POLICY.require(actor, project.id)
    before = {name: getattr(project, name) for name in POLICY_FIELDS}
    after = dict(before)
    for name, (attr, _) in POLICY_FIELDS.items():
        if (value := getattr(change, attr)) is not None:
            after[name] = value
    problems = await _check_policy(session, project, after)
    old_prerequisites = await prerequisites(session, project.id)
    new_prerequisites = old_prerequisites
    if change.prerequisites is not None:
        new_prerequisites, found = await _check_prerequisites(session, actor, project, change.prerequisites)
        problems += found
    if problems:
        raise DomainError(problems)
    for name, value in after.items():
        setattr(project, name, value)
    if change.prerequisites is not None:
        await session.execute(
            delete(CertificateRequirement).where(col(CertificateRequirement.project_id) == project.id)
        )
        session.add_all(
            CertificateRequirement(
                project_id=project.id, stage=p.stage.value, from_project_id=p.from_project_id, field=p.field
            )
            for p in new_prerequisites
        )
    changed = {POLICY_FIELDS[n][1]: after[n] for n in POLICY_FIELDS if after[n] != before[n]}
    if new_prerequisites != old_prerequisites:
        changed["prerequisites"] = [_prerequisite_json(p) for p in new_prerequisites]
    await audit.record(
        session,
        actor,
        UPDATE_CERTIFICATION_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={"projectId": str(project.id), **changed},
        details={
            "changed": changed,
            "before": {POLICY_FIELDS[n][1]: before[n] for n in POLICY_FIELDS if after[n] != before[n]},
        },
    )
    await session.flush()
    return project


async def _check_policy(session: AsyncSession, project: Project, after: dict[str, Any]) -> list[Problem]:
    problems = []
    if not 1 <= after["qualification_size"] <= MAX_SET_SIZE:
        problems.append(Problem("OUT_OF_RANGE", f"size must lie within 1..{MAX_SET_SIZE}.", "size"))
    mark = after["qualification_pass_mark"]
    if not (mark == mark and 0.0 < mark <= 1.0):
        problems.append(Problem("OUT_OF_RANGE", "passMark must lie within 0 (excluded) and 1.", "passMark"))
    if not 1 <= after["certificate_days"] <= MAX_CERTIFICATE_DAYS:
        problems.append(
            Problem("OUT_OF_RANGE", f"certificateDays must lie within 1..{MAX_CERTIFICATE_DAYS}.", "certificateDays")
        )
    if not 0 <= after["qualification_cooldown_minutes"] <= MAX_COOLDOWN_MINUTES:
        problems.append(
            Problem("OUT_OF_RANGE", f"cooldownMinutes must lie within 0..{MAX_COOLDOWN_MINUTES}.", "cooldownMinutes")
        )
    field = after["qualification_field"]
    if field and field not in {f.name for f in (await active_schema(session, project)).schema.fields}:
        problems.append(Problem("UNKNOWN_FIELD", "No such field in the label schema in force.", "field"))
    if after["certification_required"] and not problems:
        pool = len(await _pool(session, project.id, field))
        if pool < after["qualification_size"]:
            problems.append(
                Problem(
                    "NOT_ENOUGH_GOLD",
                    f"A qualification set of {after['qualification_size']} needs as many gold items"
                    f"{' answering ' + repr(field) if field else ''}; the project has {pool}.",
                    "required",
                )
            )
    return problems


async def _check_prerequisites(
    session: AsyncSession, actor: Actor, project: Project, given: Sequence[Prerequisite]
) -> tuple[list[Prerequisite], list[Problem]]:
    problems: list[Problem] = []
    if len(given) > MAX_PREREQUISITES:
        return [], [Problem("OUT_OF_RANGE", f"At most {MAX_PREREQUISITES} prerequisites.", "prerequisites")]
    seen: set[Prerequisite] = set()
    for i, wanted in enumerate(given):
        at = f"prerequisites.{i}"
        if wanted.from_project_id == project.id:
            problems.append(
                Problem("SELF_REQUIREMENT", "A project's own certificate is set by `required`.", f"{at}.projectId")
            )
            continue
        source = await get_project(session, actor, wanted.from_project_id)
        if source is None:
            problems.append(Problem("NOT_FOUND", "No such project.", f"{at}.projectId"))
            continue
        if wanted.field and wanted.field not in {f.name for f in (await active_schema(session, source)).schema.fields}:
            problems.append(Problem("UNKNOWN_FIELD", "No such field in that project's label schema.", f"{at}.field"))
        if wanted in seen:
            problems.append(Problem("DUPLICATE", "This prerequisite is listed twice.", at))
        seen.add(wanted)
    return list(given), problems


def _prerequisite_json(p: Prerequisite) -> dict[str, str]:
    return {"projectId": str(p.from_project_id), "field": p.field, "stage": p.stage.value}


async def prerequisites(session: AsyncSession, project_id: uuid.UUID) -> list[Prerequisite]:
    rows = await session.scalars(
        select(CertificateRequirement)
        .where(col(CertificateRequirement.project_id) == project_id)
        .order_by(col(CertificateRequirement.stage), col(CertificateRequirement.from_project_id))
    )
    return [Prerequisite(r.from_project_id, r.field, Stage(r.stage)) for r in rows]


# --- the gate in front of a claim ---------------------------------------------------------------


def claim_key(project_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """Claims of one annotator in one project, and its start of a qualification, queue on this key
    (app/db.py serialize_on): two in flight never both start an attempt or lease an item."""
    return f"claim:{project_id}:{user_id}"


async def claim_gate(session: AsyncSession, actor: Actor, project: Project) -> QualificationAttempt | None:
    """Before claimNextTask looks for an item: the open qualification attempt to serve from, or
    None for ordinary work; raises SUSPENDED, CERTIFICATE_REQUIRED or QUALIFICATION_COOLDOWN.
    An uncertified annotator in a project requiring certification starts its attempt here."""
    attempt_id, suspended_for, any_prerequisite = (await session.execute(_gate_facts(project.id, actor.id))).one()
    if attempt_id is not None:
        attempt = await session.get(QualificationAttempt, attempt_id)
        assert attempt is not None
        return attempt
    if suspended_for is not None:
        raise DomainError.single(
            "SUSPENDED",
            f"You are suspended from claiming here: {suspended_for} Pass the qualification set again "
            "(startQualification) or ask a project manager.",
            "projectId",
        )
    if any_prerequisite:
        await require_prerequisites(session, actor, project, Stage.LABELING)
    if not project.certification_required:
        return None
    if await valid_certificate(session, project.id, actor.id, project.qualification_field) is not None:
        return None
    return await _begin(session, actor, project)


def _gate_facts(project_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """The gate's three questions in one statement (every claim asks them): the open attempt, the
    open suspension's reason, and whether the project has prerequisites at all."""
    attempt = select(QualificationAttempt.id).where(
        col(QualificationAttempt.project_id) == project_id,
        col(QualificationAttempt.user_id) == user_id,
        col(QualificationAttempt.finished_at).is_(None),
    )
    suspension = select(Suspension.reason).where(
        col(Suspension.project_id) == project_id,
        col(Suspension.user_id) == user_id,
        col(Suspension.lifted_at).is_(None),
    )
    prerequisite = select(CertificateRequirement.project_id).where(col(CertificateRequirement.project_id) == project_id)
    return select(
        attempt.limit(1).scalar_subquery(),
        suspension.limit(1).scalar_subquery(),
        prerequisite.exists(),
    )


async def require_prerequisites(session: AsyncSession, actor: Actor, project: Project, stage: Stage) -> None:
    now = utcnow()
    for wanted in await prerequisites(session, project.id):
        if wanted.stage is not stage:
            continue
        if await valid_certificate(session, wanted.from_project_id, actor.id, wanted.field, now=now) is None:
            source = await get_project(session, actor, wanted.from_project_id)
            where = f"project '{source.name}'" if source else "another project"
            what = f" for '{wanted.field}'" if wanted.field else ""
            raise DomainError.single(
                "CERTIFICATE_REQUIRED",
                f"Claiming here needs a valid certificate{what} from {where}; qualify there first.",
                "projectId",
            )


async def start_qualification(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> QualificationAttempt:
    """Start (or go on with) a qualification attempt: to re-qualify after a suspension, or to
    renew a certificate before it expires. The next claims serve its questions."""
    project = await find_project(session, actor, project_id)
    START_QUALIFICATION.require(actor, project.id)
    await serialize_on(session, claim_key(project.id, actor.id))
    attempt = await open_attempt(session, project.id, actor.id)
    if attempt is not None:
        return attempt
    await require_prerequisites(session, actor, project, Stage.LABELING)
    pool = len(await _pool(session, project.id, project.qualification_field))
    if pool < project.qualification_size:
        raise DomainError.single(
            "QUALIFICATION_UNAVAILABLE",
            "This project has too few gold questions for a qualification set; ask a project manager.",
            "projectId",
        )
    return await _begin(session, actor, project)


async def _begin(session: AsyncSession, actor: Actor, project: Project) -> QualificationAttempt:
    last = await session.scalar(
        select(QualificationAttempt)
        .where(col(QualificationAttempt.project_id) == project.id, col(QualificationAttempt.user_id) == actor.id)
        .order_by(col(QualificationAttempt.started_at).desc(), col(QualificationAttempt.id).desc())
        .limit(1)
    )
    now = utcnow()
    if last is not None and last.retry_after is not None and last.retry_after > now:
        raise DomainError.single(
            "QUALIFICATION_COOLDOWN",
            f"Your last qualification attempt here did not pass; you may retry from {last.retry_after.isoformat()}.",
            "projectId",
        )
    attempt = QualificationAttempt(
        project_id=project.id,
        user_id=actor.id,
        field=project.qualification_field,
        size=project.qualification_size,
        pass_mark=project.qualification_pass_mark,
        started_at=now,
    )
    session.add(attempt)
    await session.flush()
    await audit.record(
        session,
        actor,
        START_QUALIFICATION.audit,
        "QualificationAttempt",
        attempt.id,
        project_id=project.id,
        request={"projectId": str(project.id)},
        details={"size": attempt.size, "passMark": attempt.pass_mark, "field": attempt.field},
    )
    return attempt


async def open_attempt(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> QualificationAttempt | None:
    return await session.scalar(
        select(QualificationAttempt).where(
            col(QualificationAttempt.project_id) == project_id,
            col(QualificationAttempt.user_id) == user_id,
            col(QualificationAttempt.finished_at).is_(None),
        )
    )


async def valid_certificate(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, field: str, *, now: datetime | None = None
) -> Certificate | None:
    return await session.scalar(
        select(Certificate)
        .where(
            col(Certificate.project_id) == project_id,
            col(Certificate.user_id) == user_id,
            col(Certificate.field) == field,
            col(Certificate.expires_at) > (now or utcnow()),
        )
        .order_by(col(Certificate.expires_at).desc())
        .limit(1)
    )


# --- serving and answering questions ------------------------------------------------------------


async def _pool(session: AsyncSession, project_id: uuid.UUID, field: str) -> list[uuid.UUID]:
    """The gold items a qualification set can draw from (those answering the field, when one is named)."""
    rows = await session.execute(
        select(GoldAnswer.item_id, GoldAnswer.value)
        .join(Item, col(Item.id) == col(GoldAnswer.item_id))
        .where(col(GoldAnswer.project_id) == project_id, col(Item.status) != ItemStatus.WITHDRAWN)
    )
    return [item_id for item_id, value in rows if not field or (isinstance(value, dict) and field in value)]


async def question(session: AsyncSession, project: Project, attempt: QualificationAttempt) -> Item:
    """The attempt's next gold item: one not yet answered or held in this attempt, preferring those
    the annotator was never handed, in an order seeded by the attempt (so sets differ between
    annotators and retries)."""
    pool = await _pool(session, project.id, attempt.field)
    in_attempt = set(
        await session.scalars(
            select(Assignment.item_id).where(
                col(Assignment.qualification_attempt_id) == attempt.id,
                col(Assignment.status).in_([AssignmentStatus.ACTIVE, AssignmentStatus.SUBMITTED]),
            )
        )
    )
    handed = set(
        await session.scalars(
            select(Assignment.item_id).where(
                col(Assignment.project_id) == project.id, col(Assignment.annotator_id) == attempt.user_id
            )
        )
    )

    def order(item_id: uuid.UUID) -> tuple[bool, bytes]:
        return item_id in handed, hashlib.blake2b(attempt.id.bytes + item_id.bytes, digest_size=8).digest()

    candidates = sorted((i for i in pool if i not in in_attempt), key=order)
    if not candidates:
        raise DomainError.single(
            "QUALIFICATION_UNAVAILABLE",
            "This project has too few gold questions left for your qualification set; ask a project manager.",
            "projectId",
        )
    item = await session.get(Item, candidates[0], populate_existing=True)
    assert item is not None
    return item


async def answer(
    session: AsyncSession, actor: Actor, project: Project, label: Label, attempt_id: uuid.UUID
) -> GoldResponse:
    """Score a qualification answer and, with the set's last answer in, pass or fail the attempt."""
    attempt = await session.get(QualificationAttempt, attempt_id, with_for_update=True)
    gold = await session.get(GoldAnswer, label.item_id)
    assert attempt is not None
    assert gold is not None
    schema = await active_schema(session, project)
    fields = [(f.name, f.kind) for f in schema.schema.fields if not attempt.field or f.name == attempt.field]
    per_field = scoring.score(fields, gold.value, label.value)
    response = GoldResponse(
        project_id=project.id,
        item_id=label.item_id,
        annotator_id=label.author_id,
        label_id=label.id,
        attempt_id=attempt.id,
        score=scoring.mean(per_field),
        fields=per_field,
        created_at=label.created_at,
    )
    session.add(response)
    if attempt.finished_at is None:
        attempt.answered += 1
        attempt.score_sum += response.score
        if attempt.answered >= attempt.size:
            await _finish(session, actor, project, attempt)
    await session.flush()
    return response


async def _finish(session: AsyncSession, actor: Actor, project: Project, attempt: QualificationAttempt) -> None:
    now = utcnow()
    score = attempt.score_sum / attempt.answered
    attempt.finished_at = now
    attempt.passed = score >= attempt.pass_mark
    details: dict[str, Any] = {"score": score, "passMark": attempt.pass_mark, "answered": attempt.answered}
    if attempt.passed:
        certificate = Certificate(
            project_id=project.id,
            user_id=attempt.user_id,
            field=attempt.field,
            attempt_id=attempt.id,
            score=score,
            issued_at=now,
            expires_at=now + timedelta(days=project.certificate_days),
        )
        session.add(certificate)
        details |= {"certificate": str(certificate.id), "expiresAt": certificate.expires_at.isoformat()}
        suspension = await open_suspension(session, project.id, attempt.user_id)
        if suspension is not None:
            suspension.lifted_at = now
            suspension.lift_reason = f"Re-qualified with a score of {score:.2f}."
            details["liftedSuspension"] = str(suspension.id)
    else:
        attempt.retry_after = now + timedelta(minutes=project.qualification_cooldown_minutes)
        details["retryAfter"] = attempt.retry_after.isoformat()
    await session.flush()
    await audit.record(
        session,
        actor,
        "qualification.pass" if attempt.passed else "qualification.fail",
        "QualificationAttempt",
        attempt.id,
        project_id=project.id,
        request={},
        details=details,
    )


# --- what the annotator and its managers read ----------------------------------------------------


@dataclass(frozen=True)
class Progress:
    attempt: QualificationAttempt

    @property
    def score(self) -> float | None:
        return self.attempt.score_sum / self.attempt.answered if self.attempt.answered else None


@dataclass(frozen=True)
class ClassDefinition:
    field: str
    class_: str
    definition: str


@dataclass(frozen=True)
class AnswerFeedback:
    """What an annotator learns right after answering a qualification question."""

    score: float
    fields: dict[str, float]
    correct_value: Any
    definitions: list[ClassDefinition]
    progress: Progress


async def attempt_of(session: AsyncSession, actor: Actor, attempt_id: uuid.UUID) -> QualificationAttempt | None:
    """The attempt, to the annotator taking it and to those who manage the project's annotators."""
    attempt = await session.get(QualificationAttempt, attempt_id)
    if attempt is None:
        return None
    if attempt.user_id == actor.id or actor.can("annotator", "read", attempt.project_id):
        return attempt
    return None


async def feedback(session: AsyncSession, actor: Actor, label_id: uuid.UUID) -> AnswerFeedback | None:
    """The feedback on the actor's own qualification answer; None for any other label."""
    response = await session.scalar(
        select(GoldResponse).where(
            col(GoldResponse.label_id) == label_id,
            col(GoldResponse.annotator_id) == actor.id,
            col(GoldResponse.attempt_id).is_not(None),
        )
    )
    if response is None or response.attempt_id is None:
        return None
    attempt = await session.get(QualificationAttempt, response.attempt_id)
    gold = await session.get(GoldAnswer, response.item_id)
    project = await session.get(Project, response.project_id)
    assert attempt is not None
    assert gold is not None
    assert project is not None
    correct = {k: v for k, v in gold.value.items() if k in response.fields}
    return AnswerFeedback(
        score=response.score,
        fields=dict(response.fields),
        correct_value=correct,
        definitions=await definitions_of(session, project, correct),
        progress=Progress(attempt),
    )


async def definitions_of(session: AsyncSession, project: Project, value: dict[str, Any]) -> list[ClassDefinition]:
    """The guideline in force's definitions of the classes a value gives (single and multi choice)."""
    row = await guideline_row(session, project)
    if row is None:
        return []
    defined = {(d.ref.field, d.ref.class_): d.text for d in guideline_content.parse(row.content).definitions}
    found = []
    for field, given in value.items():
        for class_ in given if isinstance(given, list) else [given]:
            if isinstance(class_, str) and (field, class_) in defined:
                found.append(ClassDefinition(field, class_, defined[(field, class_)]))
    return found


class Standing(enum.StrEnum):
    UNCERTIFIED = "UNCERTIFIED"
    QUALIFYING = "QUALIFYING"
    COOLDOWN = "COOLDOWN"
    CERTIFIED = "CERTIFIED"
    EXPIRING = "EXPIRING"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class Certification:
    standing: Standing
    certificate: Certificate | None  # the latest one, valid or not
    attempt: QualificationAttempt | None  # the open one, or the latest failed one in its cool-down
    attempts: int


async def certifications(
    session: AsyncSession, project: Project, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Certification]:
    """Each annotator's certification standing in the project, in three statements."""
    now = utcnow()
    latest_certificates: dict[uuid.UUID, Certificate] = {}
    for c in await session.scalars(
        select(Certificate)
        .where(
            col(Certificate.project_id) == project.id,
            col(Certificate.user_id).in_(user_ids),
            col(Certificate.field) == project.qualification_field,
        )
        .order_by(col(Certificate.expires_at))
    ):
        latest_certificates[c.user_id] = c
    latest_attempts: dict[uuid.UUID, QualificationAttempt] = {}
    for a in await session.scalars(
        select(QualificationAttempt)
        .where(col(QualificationAttempt.project_id) == project.id, col(QualificationAttempt.user_id).in_(user_ids))
        .order_by(col(QualificationAttempt.started_at), col(QualificationAttempt.id))
    ):
        latest_attempts[a.user_id] = a
    counted = await session.execute(
        select(QualificationAttempt.user_id, func.count())
        .where(col(QualificationAttempt.project_id) == project.id, col(QualificationAttempt.user_id).in_(user_ids))
        .group_by(col(QualificationAttempt.user_id))
    )
    counts: dict[uuid.UUID, int] = dict(counted.all())
    result = {}
    for user_id in user_ids:
        certificate, attempt = latest_certificates.get(user_id), latest_attempts.get(user_id)
        result[user_id] = Certification(
            _standing(certificate, attempt, now), certificate, _shown(attempt, now), counts.get(user_id, 0)
        )
    return result


def _standing(certificate: Certificate | None, attempt: QualificationAttempt | None, now: datetime) -> Standing:
    if attempt is not None and attempt.finished_at is None:
        return Standing.QUALIFYING
    if certificate is not None and certificate.expires_at > now:
        margin = max(timedelta(days=1), (certificate.expires_at - certificate.issued_at) * EXPIRING_SHARE)
        return Standing.EXPIRING if certificate.expires_at - now <= margin else Standing.CERTIFIED
    if attempt is not None and attempt.retry_after is not None and attempt.retry_after > now:
        return Standing.COOLDOWN
    return Standing.EXPIRED if certificate is not None else Standing.UNCERTIFIED


def _shown(attempt: QualificationAttempt | None, now: datetime) -> QualificationAttempt | None:
    if attempt is None or attempt.finished_at is None:
        return attempt
    return attempt if attempt.retry_after is not None and attempt.retry_after > now else None
