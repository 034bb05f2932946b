"""Gold questions and suspensions: what a team lead uses to measure annotators against known answers.

A project manager marks items as gold with their known answer (`setGoldAnswers`, or `gold` on an
imported row). Gold items wait in the queue like any other item but are served only by a seeded
draw at the project's gold rate (blake2b of the seed, the annotator and how many tasks it was
handed in the project), so a gold task arrives through the same claim, with the same fields, as
any task. Its answer is a label like any other to the annotator; behind it, the answer is scored
per field against the known one (app/expertise/scoring.py), never counted towards a decision, and
the annotator's rolling gold accuracy (the mean of its last `gold_window` scores) is checked
against the project's floor: below it, after `gold_min_answers`, the annotator is suspended from
claiming in the project (SUSPENDED, with the reason) until a manager lifts it with a reason.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.auth.models import User
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.expertise import scoring
from app.expertise.models import GoldAnswer, GoldResponse, Suspension
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission
from app.policies.models import CasbinRule
from app.policies.roles import Role, domain
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema
from app.taxonomy import schema_language
from app.workflow.models import Assignment, Label

SET_GOLD_ANSWERS = Operation("setGoldAnswers", Permission("gold", "configure"), audit="gold.set")
UPDATE_GOLD_POLICY = Operation("updateGoldPolicy", Permission("gold", "configure"), audit="gold.policy")
LIFT_SUSPENSION = Operation("liftSuspension", Permission("annotator", "manage"), audit="annotator.lift_suspension")

MAX_GOLD_PER_CALL = 10_000
MAX_GOLD_WINDOW = 1_000
MAX_REASON = 2_000


@dataclass(frozen=True)
class GoldValue:
    item_id: uuid.UUID
    value: Any


async def set_gold_answers(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, answers: Sequence[GoldValue]
) -> list[uuid.UUID]:
    """Mark items of the project as gold with their answers (a second call replaces an answer).
    Every answer is checked first; one problem and nothing is written."""
    project = await find_project(session, actor, project_id, lock=True)
    SET_GOLD_ANSWERS.require(actor, project.id)
    if not answers:
        raise DomainError.single("EMPTY_BATCH", "Send at least one answer.", "answers")
    if len(answers) > MAX_GOLD_PER_CALL:
        raise DomainError.single("BATCH_TOO_LARGE", f"At most {MAX_GOLD_PER_CALL} answers per call.", "answers")
    ids = [a.item_id for a in answers]
    found = {
        row.id: row
        for row in await session.scalars(
            select(Item).where(col(Item.project_id) == project.id, col(Item.id).in_(ids)).with_for_update()
        )
    }
    schema = await active_schema(session, project)
    problems: list[Problem] = []
    for i, answer in enumerate(answers):
        item = found.get(answer.item_id)
        if item is None:
            problems.append(Problem("NOT_FOUND", "No such item in this project.", f"answers.{i}.itemId"))
            continue
        if not item.gold and (item.label_count or item.status is not ItemStatus.QUEUED or item.active_claims):
            problems.append(
                Problem("ALREADY_LABELED", "An item already labeled or handed out cannot become gold.", f"answers.{i}")
            )
            continue
        problems += check_value(schema.schema, answer.value, item, f"answers.{i}.value")
    if problems:
        raise DomainError(problems)
    await store(session, actor, project, [(found[a.item_id], a.value) for a in answers])
    await audit.record(
        session,
        actor,
        SET_GOLD_ANSWERS.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={"projectId": str(project.id), "items": [str(i) for i in ids]},
        details={"count": len(answers)},
    )
    return ids


def check_value(schema: schema_language.LabelSchema, value: Any, item: Item | dict[str, Any], at: str) -> list[Problem]:
    """A gold answer is checked as a label would be (bounds, then the schema in force)."""
    context = item if isinstance(item, dict) else {"data": item.data, "metadata": item.meta}
    bounded = json_bounds.check(value, at)
    if bounded:
        return bounded
    return [
        Problem(p.code, p.message, f"{at}.{p.field}" if p.field else at)
        for p in schema_language.validate(schema, value, item=context)
    ]


async def store(session: AsyncSession, actor: Actor, project: Project, answers: Sequence[tuple[Item, Any]]) -> None:
    """Write checked answers (setGoldAnswers and the import)."""
    now = utcnow()
    for item, value in answers:
        item.gold = True
        await session.merge(
            GoldAnswer(item_id=item.id, project_id=project.id, value=value, set_by=actor.id, set_at=now)
        )
    await session.flush()


@dataclass(frozen=True)
class GoldPolicyChange:
    project_id: uuid.UUID
    gold_rate: float | None = None
    gold_window: int | None = None
    gold_floor: float | None = None
    gold_min_answers: int | None = None


async def update_gold_policy(session: AsyncSession, actor: Actor, change: GoldPolicyChange) -> Project:
    project = await find_project(session, actor, change.project_id, lock=True)
    UPDATE_GOLD_POLICY.require(actor, project.id)
    names = ("gold_rate", "gold_window", "gold_floor", "gold_min_answers")
    before = {name: getattr(project, name) for name in names}
    after = before | {name: getattr(change, name) for name in names if getattr(change, name) is not None}
    problems: list[Problem] = []
    for name, field in (("gold_rate", "goldRate"), ("gold_floor", "goldFloor")):
        if not (math.isfinite(after[name]) and 0.0 <= after[name] <= 1.0):
            problems.append(Problem("OUT_OF_RANGE", f"{field} must lie within 0..1.", field))
    if not 1 <= after["gold_window"] <= MAX_GOLD_WINDOW:
        problems.append(Problem("OUT_OF_RANGE", f"goldWindow must lie within 1..{MAX_GOLD_WINDOW}.", "goldWindow"))
    if not 1 <= after["gold_min_answers"] <= after["gold_window"]:
        problems.append(Problem("OUT_OF_RANGE", "goldMinAnswers must lie within 1..goldWindow.", "goldMinAnswers"))
    if problems:
        raise DomainError(problems)
    for name, value in after.items():
        setattr(project, name, value)
    if project.gold_seed == 0:
        project.gold_seed = (
            int.from_bytes(hashlib.blake2b(project.id.bytes, digest_size=4).digest(), "big") & 0x7FFFFFFF
        ) or 1
    changed = {name: after[name] for name in names if after[name] != before[name]}
    await audit.record(
        session,
        actor,
        UPDATE_GOLD_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={"projectId": str(project.id), **{k: v for k, v in after.items() if k in changed}},
        details={"changed": changed, "before": {name: before[name] for name in changed}},
    )
    await session.flush()
    return project


def draws_gold(project: Project, annotator_id: uuid.UUID, handed_out: int) -> bool:
    """The seeded draw: does this annotator's next task come from the gold items?"""
    if project.gold_rate <= 0:
        return False
    digest = hashlib.blake2b(f"gold:{project.gold_seed}:{annotator_id}:{handed_out}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < project.gold_rate


async def gold_task(session: AsyncSession, project: Project, annotator_id: uuid.UUID) -> Item | None:
    """The gold item to hand out next, when the draw says so: one the annotator was never handed."""
    if project.gold_rate <= 0:
        return None
    handed_out = await session.scalar(
        select(func.count())
        .select_from(Assignment)
        .where(col(Assignment.project_id) == project.id, col(Assignment.annotator_id) == annotator_id)
    )
    if not draws_gold(project, annotator_id, int(handed_out or 0)):
        return None
    seen = exists().where(col(Assignment.item_id) == col(Item.id), col(Assignment.annotator_id) == annotator_id)
    stmt = (
        select(Item)
        .where(
            col(Item.project_id) == project.id,
            col(Item.gold),
            col(Item.status) == ItemStatus.QUEUED,
            ~seen,
        )
        .order_by(col(Item.priority).desc(), col(Item.id))
        .limit(1)
    )
    # No lock and no capacity test: a gold item is never decided, so any number of annotators
    # may hold it at once (lifecycle Move.CLAIM_GOLD).
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def score_answer(session: AsyncSession, actor: Actor, project: Project, label: Label) -> GoldResponse:
    """Score a gold answer, record it, and suspend the annotator when its rolling accuracy falls
    under the project's floor."""
    gold = await session.get(GoldAnswer, label.item_id)
    assert gold is not None, "a gold item has its answer"
    schema = await active_schema(session, project)
    per_field = scoring.score([(f.name, f.kind) for f in schema.schema.fields], gold.value, label.value)
    response = GoldResponse(
        project_id=project.id,
        item_id=label.item_id,
        annotator_id=label.author_id,
        label_id=label.id,
        score=scoring.mean(per_field),
        fields=per_field,
        created_at=label.created_at,
    )
    session.add(response)
    await session.flush()
    accuracy, answered = await rolling_accuracy(session, project, label.author_id)
    if (
        project.gold_floor > 0
        and accuracy is not None
        and answered >= project.gold_min_answers
        and accuracy < project.gold_floor
        and await open_suspension(session, project.id, label.author_id) is None
    ):
        suspension = Suspension(
            project_id=project.id,
            user_id=label.author_id,
            reason=f"Rolling gold accuracy {accuracy:.2f} over the last {answered} gold answers is under the "
            f"project's floor of {project.gold_floor:.2f}.",
            gold_accuracy=accuracy,
        )
        session.add(suspension)
        await session.flush()
        await audit.record(
            session,
            actor,
            "annotator.suspend",
            "Suspension",
            suspension.id,
            project_id=project.id,
            request={},
            details={"user": str(label.author_id), "goldAccuracy": accuracy, "answers": answered},
        )
    return response


async def rolling_accuracy(
    session: AsyncSession, project: Project, annotator_id: uuid.UUID
) -> tuple[float | None, int]:
    """The mean score of the annotator's last `gold_window` gold answers here, and how many."""
    latest = (
        select(GoldResponse.score)
        .where(
            col(GoldResponse.project_id) == project.id,
            col(GoldResponse.annotator_id) == annotator_id,
            col(GoldResponse.attempt_id).is_(None),  # qualification answers are not blind
        )
        .order_by(col(GoldResponse.created_at).desc(), col(GoldResponse.id).desc())
        .limit(project.gold_window)
    )
    scores = list(await session.scalars(latest))
    return (sum(scores) / len(scores) if scores else None), len(scores)


async def open_suspension(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> Suspension | None:
    return await session.scalar(
        select(Suspension).where(
            col(Suspension.project_id) == project_id,
            col(Suspension.user_id) == user_id,
            col(Suspension.lifted_at).is_(None),
        )
    )


async def lift_suspension(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, user_id: uuid.UUID, reason: str
) -> Suspension:
    project = await find_project(session, actor, project_id)
    LIFT_SUSPENSION.require(actor, project.id)
    if not reason.strip():
        raise DomainError.single("REQUIRED", "Say why the suspension is lifted.", "reason")
    if len(reason) > MAX_REASON:
        raise DomainError.single("TOO_LONG", f"reason allows {MAX_REASON} characters.", "reason")
    if problems := json_bounds.check_text(reason, "reason"):
        raise DomainError(problems)
    suspension = await open_suspension(session, project.id, user_id)
    if suspension is None:
        raise DomainError.single("NOT_SUSPENDED", "This person is not suspended in this project.", "userId")
    suspension.lifted_at = utcnow()
    suspension.lifted_by = actor.id
    suspension.lift_reason = reason
    await audit.record(
        session,
        actor,
        LIFT_SUSPENSION.audit,
        "Suspension",
        suspension.id,
        project_id=project.id,
        request={"projectId": str(project.id), "userId": str(user_id), "reason": reason},
        details={"suspendedAt": suspension.created_at.isoformat()},
    )
    await session.flush()
    return suspension


@dataclass(frozen=True)
class AnnotatorStanding:
    user: User
    gold_answers: int
    gold_accuracy: float | None  # rolling, over the last gold_window answers
    suspension: Suspension | None
    suspended_since: datetime | None


async def annotators(session: AsyncSession, actor: Actor, project: Project) -> list[AnnotatorStanding]:
    """The project's annotators (granted the role here) with their gold figures and suspension,
    in four statements however many there are."""
    actor.require("annotator", "read", project.id)
    granted = select(CasbinRule.v0).where(
        CasbinRule.ptype == "g", CasbinRule.v1 == Role.ANNOTATOR.subject, CasbinRule.v2 == domain(project.id)
    )
    ids = [uuid.UUID(subject.removeprefix("user:")) for subject in await session.scalars(granted)]
    people = list(await session.scalars(select(User).where(col(User.id).in_(ids)).order_by(col(User.username))))
    recency = (
        func.row_number()
        .over(
            partition_by=col(GoldResponse.annotator_id),
            order_by=(col(GoldResponse.created_at).desc(), col(GoldResponse.id).desc()),
        )
        .label("recency")
    )
    latest = (
        select(GoldResponse.annotator_id, GoldResponse.score, recency)
        .where(
            col(GoldResponse.project_id) == project.id,
            col(GoldResponse.annotator_id).in_(ids),
            col(GoldResponse.attempt_id).is_(None),
        )
        .subquery()
    )
    rolling = await session.execute(
        select(latest.c.annotator_id, func.avg(latest.c.score), func.count())
        .where(latest.c.recency <= project.gold_window)
        .group_by(latest.c.annotator_id)
    )
    figures: dict[uuid.UUID, tuple[float, int]] = {who: (float(mean), int(n)) for who, mean, n in rolling}
    suspended = {
        s.user_id: s
        for s in await session.scalars(
            select(Suspension).where(
                col(Suspension.project_id) == project.id,
                col(Suspension.user_id).in_(ids),
                col(Suspension.lifted_at).is_(None),
            )
        )
    }
    result = []
    for person in people:
        accuracy, answered = figures.get(person.id, (None, 0))
        suspension = suspended.get(person.id)
        result.append(
            AnnotatorStanding(person, answered, accuracy, suspension, suspension.created_at if suspension else None)
        )
    return result


async def gold_answer_of(session: AsyncSession, actor: Actor, item: Item) -> GoldAnswer | None:
    """An item's known answer, for those who may configure gold; None for everyone else (to them
    a gold item is an item like any other)."""
    if not item.gold or not actor.can("gold", "read", item.project_id):
        return None
    return await session.get(GoldAnswer, item.id)
