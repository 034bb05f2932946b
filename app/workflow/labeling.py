"""Submitting a label on one's own assignment, validated against the schema in force."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app import json_bounds
from app.auth.actor import Actor
from app.automation import reads as suggestions
from app.clock import aware, utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.expertise import qualification
from app.expertise import service as expertise
from app.ingestion.models import Item
from app.metrics import registry as metrics
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.service import active_schema, current_guideline
from app.taxonomy import schema_language
from app.workflow import decisions, estimates, lifecycle
from app.workflow.lifecycle import Move
from app.workflow.models import AssignmentStatus, Label
from app.workflow.reads import find_own_task
from app.workflow.tasks import CANCELLED_MESSAGE, LAPSED_MESSAGE

SUBMIT_LABEL = Operation("submitLabel", Permission("label", "create"), audit="label.submit")

MAX_RATIONALE = 10_000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class NewLabel:
    assignment_id: uuid.UUID
    value: Any
    rationale: str = ""
    time_spent_ms: int | None = None


async def submit_label(session: AsyncSession, actor: Actor, new: NewLabel) -> Label:
    assignment = await find_own_task(session, actor, new.assignment_id, SUBMIT_LABEL)
    now = utcnow()
    if assignment.status is AssignmentStatus.SUBMITTED:
        raise DomainError.single("ALREADY_SUBMITTED", "This assignment already has its label.", "assignmentId")
    if assignment.status is AssignmentStatus.RELEASED:
        raise DomainError.single("NOT_ACTIVE", "This task was released; claim again.", "assignmentId")
    if assignment.status is AssignmentStatus.CANCELLED:
        raise DomainError.single("ASSIGNMENT_CANCELLED", CANCELLED_MESSAGE, "assignmentId")
    if assignment.status is AssignmentStatus.EXPIRED or assignment.lease_expires_at < now:
        raise DomainError.single("LEASE_EXPIRED", "The lease on this task ran out; claim again.", "assignmentId")

    project = await session.get(Project, assignment.project_id)
    assert project is not None
    schema = await active_schema(session, project)
    item = None
    # Plain columns: the row itself is updated below without syncing the session.
    if schema.schema.reads_item:
        query = select(Item.gold, Item.consent_lapse_at, Item.data, Item.meta).where(Item.id == assignment.item_id)
        gold, lapse_at, data, meta = (await session.execute(query)).one()
        item = {"data": data, "metadata": meta}
    else:
        plain = select(Item.gold, Item.consent_lapse_at).where(Item.id == assignment.item_id)
        gold, lapse_at = (await session.execute(plain)).one()
    if lapse_at is not None and aware(lapse_at) <= now:
        # Not swept yet (the next claim cancels the task): the item is no longer anyone's to label.
        raise DomainError.single("ASSIGNMENT_CANCELLED", LAPSED_MESSAGE, "assignmentId")
    problems = json_bounds.check(new.value, "value") or schema_language.validate(schema.schema, new.value, item=item)
    if len(new.rationale) > MAX_RATIONALE:
        problems.append(Problem("TOO_LONG", f"rationale allows {MAX_RATIONALE} characters.", "rationale"))
    if new.time_spent_ms is not None and not 0 <= new.time_spent_ms <= MAX_TIME_SPENT_MS:
        problems.append(Problem("OUT_OF_RANGE", "timeSpentMs must lie within 0..86400000.", "timeSpentMs"))
    if problems:
        raise DomainError(problems)

    guideline = await current_guideline(session, project)
    # What the task had returned to its annotator before this submit (app/automation/reads.py).
    shown = await suggestions.shown_on_task(session, assignment.id)
    label = Label(
        project_id=project.id,
        item_id=assignment.item_id,
        assignment_id=assignment.id,
        author_id=actor.id,
        value=new.value,
        rationale=new.rationale,
        time_spent_ms=new.time_spent_ms,
        schema_version_id=schema.id,
        guideline_version_id=guideline.id if guideline else None,
        created_at=now,
        suggestions_shown=bool(shown),
        shown_model_versions=shown,
    )
    session.add(label)
    assignment.status = AssignmentStatus.SUBMITTED
    assignment.submitted_at = now
    outcome = None
    if gold:
        # A gold answer: scored against the known one and never counted towards a decision
        # (app/expertise); to the annotator it is a label like any other, unless it answers a
        # qualification set, where the feedback follows at once (SubmitLabelPayload.qualification).
        # The re-estimate takes it as known truth, so it counts towards the next one.
        await lifecycle.move(session, assignment.item_id, Move.ANSWER_GOLD)
        await session.flush()
        if assignment.qualification_attempt_id is not None:
            await qualification.answer(session, actor, project, label, assignment.qualification_attempt_id)
        else:
            await expertise.score_answer(session, actor, project, label)
        estimates.count_label(session, project)
    else:
        # The label takes the slot its lease held; with the last one in, the item is settled.
        state = await lifecycle.move(session, assignment.item_id, Move.LABEL)
        estimates.count_label(session, project)
        if state.labels_required == 0:
            await session.flush()
            outcome = (await decisions.settle(session, project, assignment.item_id)).outcome.value
    await audit.record(
        session,
        actor,
        SUBMIT_LABEL.audit,
        "Label",
        label.id,
        project_id=project.id,
        request={"assignmentId": str(new.assignment_id), "value": new.value, "rationale": new.rationale},
        details={"item": str(assignment.item_id), "schemaVersion": schema.version, "outcome": outcome},
    )
    events.emit(
        session,
        project.id,
        EventKind.LABEL_SUBMITTED,
        {
            "labelId": label.id,
            "itemId": assignment.item_id,
            "assignmentId": assignment.id,
            "schemaVersion": schema.version,
            "guidelineVersion": guideline.version if guideline else None,
        },
    )
    await session.flush()
    metrics.count(session, lambda m: m.labels_submitted)
    return label
