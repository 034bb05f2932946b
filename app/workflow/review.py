"""Reviewing a label: accept, correct, or reject it back to the queue (rework for its author).
Accept and correct decide the item (a decision version, app/workflow/decisions.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app import json_bounds
from app.auth.actor import Actor
from app.clock import aware, utcnow
from app.compliance import audit
from app.db import is_postgres
from app.errors import DomainError, Problem
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.service import active_schema
from app.quality.consensus import agreement_with, majority
from app.taxonomy import schema_language
from app.workflow import decisions, lifecycle, policy
from app.workflow.lifecycle import Move
from app.workflow.models import Decision, DecisionMethod, Label, LabelStatus, Review, Verdict
from app.workflow.reads import get_label

REVIEW_LABEL = Operation("reviewLabel", Permission("label", "review"), audit="label.review")

MAX_COMMENT = 10_000


@dataclass(frozen=True)
class NewReview:
    label_id: uuid.UUID
    verdict: Verdict
    corrected_value: Any = None
    comment: str = ""


@dataclass(frozen=True)
class ReviewOutcome:
    review: Review
    label: Label
    item: Item
    final: Decision | None


async def review_label(session: AsyncSession, actor: Actor, new: NewReview) -> ReviewOutcome:
    label = await get_label(session, actor, new.label_id)
    if label is None:
        raise DomainError.single("NOT_FOUND", "No such label.", "labelId")
    REVIEW_LABEL.require(actor, label.project_id)
    stmt = select(Item).where(Item.id == label.item_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    item = await session.scalar(stmt)
    assert item is not None
    counted = await decisions.counted_labels(session, item.id)
    _check(new, label, item, counted, actor)

    project = await session.get(Project, label.project_id)
    assert project is not None
    schema = await active_schema(session, project)
    if new.verdict is Verdict.CORRECT:
        problems = json_bounds.check(new.corrected_value, "correctedValue") or schema_language.validate(
            schema.schema, new.corrected_value, "correctedValue", item={"data": item.data, "metadata": item.meta}
        )
        if problems:
            raise DomainError(problems)

    now = utcnow()
    review = Review(
        project_id=project.id,
        item_id=item.id,
        label_id=label.id,
        reviewer_id=actor.id,
        verdict=new.verdict,
        corrected_value=new.corrected_value if new.verdict is Verdict.CORRECT else None,
        comment=new.comment,
        schema_version_id=schema.id,
        created_at=now,
    )
    session.add(review)
    await session.flush()  # the decision points at the review
    final = None
    if new.verdict is Verdict.REJECT:
        # Back to the queue for one more label; its author gets the rework first, with this comment.
        label.status = LabelStatus.REJECTED
        await session.flush()
        await lifecycle.move(session, item.id, Move.REJECT, rework_for=label.author_id)
    else:
        # Labels made before a schema change are judged in the terms of the version in force.
        values = await decisions.current_values(session, project, counted)
        accepted = values[next(i for i, other in enumerate(counted) if other.id == label.id)]
        value, method = _decide(new, accepted, values)
        label.status = LabelStatus.ACCEPTED if new.verdict is Verdict.ACCEPT else LabelStatus.CORRECTED
        final = await decisions.record(
            session,
            project,
            item.id,
            value=value,
            method=method,
            confidence=1.0,
            labels=counted,
            values=values,
            proposal=await policy.propose(session, project, counted, values),
            review_id=review.id,
            decided_by=actor.id,
            rationale=new.comment,
        )
    await audit.record(
        session,
        actor,
        REVIEW_LABEL.audit,
        "Review",
        review.id,
        project_id=project.id,
        request={
            "labelId": str(new.label_id),
            "verdict": new.verdict.value,
            "correctedValue": new.corrected_value,
            "comment": new.comment,
        },
        details={
            "label": str(label.id),
            "item": str(item.id),
            "verdict": new.verdict.value,
            "final": final.method.value if final else None,
        },
    )
    return ReviewOutcome(review, label, item, final)


def _check(new: NewReview, label: Label, item: Item, counted: list[Label], actor: Actor) -> None:
    problems: list[Problem] = []
    if label.author_id == actor.id or any(other.author_id == actor.id for other in counted):
        # Separation of duties: no judging an item one has labeled oneself.
        problems.append(Problem("SELF_REVIEW", "You may not review labels on an item you labeled.", "labelId"))
    elif item.status is ItemStatus.WITHDRAWN:
        problems.append(Problem("ITEM_WITHDRAWN", "This item was withdrawn: its consent was revoked.", "labelId"))
    elif item.consent_lapse_at is not None and aware(item.consent_lapse_at) <= utcnow():
        problems.append(Problem("ITEM_WITHDRAWN", "This item's consent has expired: nobody reviews it.", "labelId"))
    elif item.status is ItemStatus.FINAL:
        problems.append(Problem("ALREADY_FINAL", "This item already has its final label.", "labelId"))
    elif label.status is not LabelStatus.SUBMITTED:
        problems.append(Problem("NOT_REVIEWABLE", f"This label was already {label.status.lower()}.", "labelId"))
    elif item.status is not ItemStatus.IN_REVIEW:
        problems.append(Problem("NOT_READY", "The item is still collecting its independent labels.", "labelId"))
    if new.verdict is Verdict.CORRECT and new.corrected_value is None:
        problems.append(Problem("REQUIRED", "A correction needs correctedValue.", "correctedValue"))
    if new.verdict is not Verdict.CORRECT and new.corrected_value is not None:
        problems.append(Problem("UNEXPECTED", "correctedValue goes only with CORRECT.", "correctedValue"))
    if new.verdict is Verdict.REJECT and not new.comment.strip():
        problems.append(Problem("REQUIRED", "A rejection needs a comment for the annotator.", "comment"))
    if len(new.comment) > MAX_COMMENT:
        problems.append(Problem("TOO_LONG", f"comment allows {MAX_COMMENT} characters.", "comment"))
    if problems:
        raise DomainError(problems)


def _decide(
    new: NewReview, accepted: dict[str, Any], counted: list[dict[str, Any]]
) -> tuple[dict[str, Any], DecisionMethod]:
    if new.verdict is Verdict.CORRECT:
        return dict(new.corrected_value), DecisionMethod.CORRECTED
    consensus = majority(counted)
    agrees = consensus.value is not None and agreement_with([accepted], consensus.value) == 1.0
    return accepted, DecisionMethod.CONSENSUS_ACCEPTED if agrees else DecisionMethod.ADJUDICATED
