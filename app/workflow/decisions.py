"""Deciding items: the versioned decision record, and settling an item once its labels are in.

A decision is a row; a new one supersedes the one in force (which stays readable, with the time
it was superseded), so `item.decisions` is the item's version history and the one with no
`superseded_at` is its final label. The labels behind a decision are rows of `decision_label`.

Settling follows the project's quality policy (app/workflow/policy.py): the aggregation proposes
a value with a confidence; confident enough -> decided by the aggregation or, when sampled or
under `review_below_confidence`, sent to a reviewer; not confident and below `max_overlap` ->
one more label; not confident at `max_overlap` -> escalated to an expert.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.clock import utcnow
from app.db import is_postgres
from app.events import outbox as events
from app.events.kinds import EscalationSource, EventKind
from app.metrics import registry as metrics
from app.projects.models import Project
from app.projects.service import active_schema, current_guideline
from app.quality.consensus import Proposal, agreement_with
from app.taxonomy.mapping import remap_through
from app.taxonomy.versions import version_chain
from app.workflow import lifecycle, policy
from app.workflow.lifecycle import Move
from app.workflow.models import Decision, DecisionLabel, DecisionMethod, Escalation, Label, LabelStatus


class Outcome(enum.StrEnum):
    """What settling did with an item whose labels are in."""

    DECIDED = "DECIDED"
    REVIEW = "REVIEW"
    MORE_LABELS = "MORE_LABELS"
    ESCALATED = "ESCALATED"


@dataclass(frozen=True)
class Settled:
    outcome: Outcome
    proposal: Proposal
    decision: Decision | None = None


async def counted_labels(session: AsyncSession, item_id: uuid.UUID) -> list[Label]:
    """The labels that count towards the item's decision (submitted, not rejected), oldest first."""
    stmt = select(Label).where(Label.item_id == item_id, Label.status == LabelStatus.SUBMITTED)
    return list(await session.scalars(stmt.order_by(col(Label.id))))


async def labels_behind(session: AsyncSession, item_id: uuid.UUID) -> list[Label]:
    """The labels a new decision version rests on: those of the decision in force (a reviewed
    item's accepted label is no longer SUBMITTED), else the counted labels."""
    current = await in_force(session, item_id)
    if current is None:
        return await counted_labels(session, item_id)
    stmt = (
        select(Label)
        .join(DecisionLabel, col(DecisionLabel.label_id) == col(Label.id))
        .where(col(DecisionLabel.decision_id) == current.id)
    )
    return list(await session.scalars(stmt.order_by(col(Label.id))))


async def current_values(session: AsyncSession, project: Project, labels: list[Label]) -> list[dict[str, Any]]:
    """The labels' values in the terms of the schema in force (through the approved mappings)."""
    chain = await version_chain(session, project)
    return [remap_through(label.value, chain.steps_from(label.schema_version_id)) for label in labels]


async def settle(session: AsyncSession, project: Project, item_id: uuid.UUID) -> Settled:
    """Route an item whose labels are all in, as the project's policy says."""
    labels = await counted_labels(session, item_id)
    values = await current_values(session, project, labels)
    rules = policy.of(project)
    proposal = await policy.propose(session, project, labels, values)
    confidence = proposal.confidence
    if confidence >= rules.accept_confidence:
        if policy.sampled_for_review(project, item_id) or confidence < rules.review_below_confidence:
            await lifecycle.move(session, item_id, Move.SEND_TO_REVIEW)
            return Settled(Outcome.REVIEW, proposal)
        decision = await record(
            session,
            project,
            item_id,
            value=proposal.value,
            method=DecisionMethod.AGGREGATED,
            confidence=confidence,
            labels=labels,
            values=values,
            proposal=proposal,
        )
        return Settled(Outcome.DECIDED, proposal, decision)
    if len(labels) < rules.max_overlap:
        await lifecycle.move(session, item_id, Move.NEED_MORE)
        return Settled(Outcome.MORE_LABELS, proposal)
    await lifecycle.move(session, item_id, Move.ESCALATE)
    escalation = Escalation(
        project_id=project.id,
        item_id=item_id,
        reason=f"Confidence {confidence:.3f} stayed under {rules.accept_confidence:.3f} after {len(labels)} labels.",
        confidence=confidence,
    )
    session.add(escalation)
    events.emit(
        session,
        project.id,
        EventKind.ITEM_ESCALATED,
        {"itemId": item_id, "escalationId": escalation.id, "source": EscalationSource.SETTLING},
    )
    metrics.count(session, lambda m: m.escalations, EscalationSource.SETTLING.value)
    return Settled(Outcome.ESCALATED, proposal)


async def in_force(session: AsyncSession, item_id: uuid.UUID, *, lock: bool = False) -> Decision | None:
    stmt = select(Decision).where(Decision.item_id == item_id, col(Decision.superseded_at).is_(None))
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def record(
    session: AsyncSession,
    project: Project,
    item_id: uuid.UUID,
    *,
    value: dict[str, Any],
    method: DecisionMethod,
    confidence: float,
    labels: list[Label],
    values: list[dict[str, Any]],
    proposal: Proposal | None = None,
    review_id: uuid.UUID | None = None,
    decided_by: uuid.UUID | None = None,
    rationale: str = "",
    model_version_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    first_move: Move = Move.DECIDE,
) -> Decision:
    """Decide the item: the first decision moves it to FINAL (by `first_move`), a later one
    supersedes the one in force. `model_version_id` names the model behind an AUTO_ACCEPTED one."""
    now = utcnow()
    previous = await in_force(session, item_id, lock=True)
    if previous is None:
        await lifecycle.move(session, item_id, first_move)
    else:
        await lifecycle.move(session, item_id, Move.REDECIDE)
        previous.superseded_at = now
        await session.flush()  # the partial unique index allows one decision in force at a time
    schema = await active_schema(session, project)
    guideline = await current_guideline(session, project)
    decision = Decision(
        project_id=project.id,
        item_id=item_id,
        version=previous.version + 1 if previous else 1,
        value=value,
        method=method,
        aggregation=project.aggregation if method is DecisionMethod.AGGREGATED else None,
        confidence=confidence,
        agreement=agreement_with(values, value),
        detail=detail if detail is not None else proposal.detail() if proposal else {},
        rationale=rationale,
        review_id=review_id,
        schema_version_id=schema.id,
        guideline_version_id=guideline.id if guideline else None,
        decided_by=decided_by,
        model_version_id=model_version_id,
        decided_at=now,
    )
    session.add(decision)
    await session.flush()
    metrics.count(session, lambda m: m.decisions, method.value)
    if labels:
        await session.execute(
            insert(DecisionLabel), [{"decision_id": decision.id, "label_id": label.id} for label in labels]
        )
    if previous is None:
        decided = {"itemId": item_id, "decisionId": decision.id, "version": decision.version, "method": method}
        events.emit(session, project.id, EventKind.ITEM_DECIDED, decided)
    else:
        changed = {
            "itemId": item_id,
            "decisionId": decision.id,
            "version": decision.version,
            "method": method,
            "previousDecisionId": previous.id,
            "previousVersion": previous.version,
        }
        events.emit(session, project.id, EventKind.DECISION_CHANGED, changed)
    from app.audits import service as audits  # audits overturn through record: imported when first used

    await audits.on_decision(session, project, decision, replaced=previous is not None)
    if previous is None:
        from app.automation import auto_accept  # it decides through record: imported when first used

        await auto_accept.on_first_decision(session, project, decision)
    return decision
