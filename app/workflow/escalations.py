"""The expert queue: items whose labels stayed unresolved at the project's maxOverlap.

An expert claims the oldest open escalation (a lease, like an annotator's task, so two experts do
not work one item) and resolves it with a value and a rationale: that decides the item
(EXPERT_RESOLVED), and the rationale is the decision's evidence. An expert who labeled the item
may not resolve it (SELF_REVIEW): the point is a judgment independent of the disagreeing labels.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.consent import lapse as consent_lapse
from app.db import is_postgres
from app.errors import DomainError, Problem
from app.expertise import qualification
from app.ingestion.models import Item, ItemStatus
from app.ingestion.reads import get_item
from app.metrics import registry as metrics
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema
from app.taxonomy import schema_language
from app.workflow import decisions, policy
from app.workflow.models import Decision, DecisionMethod, Escalation, Label

CLAIM_NEXT_ESCALATION = Operation("claimNextEscalation", Permission("escalation", "claim"), audit="escalation.claim")
RESOLVE_ESCALATION = Operation("resolveEscalation", Permission("escalation", "resolve"), audit="escalation.resolve")

MAX_RATIONALE = 10_000


@dataclass(frozen=True)
class EscalationClaim:
    escalation: Escalation
    resumed: bool


async def claim_next(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> EscalationClaim:
    """The caller's live escalation in the project, else the oldest open one it did not label."""
    project = await find_project(session, actor, project_id)
    CLAIM_NEXT_ESCALATION.require(actor, project.id)
    await qualification.require_prerequisites(session, actor, project, qualification.Stage.ESCALATION)
    now = utcnow()
    await consent_lapse.take_effect(session, project.id, now)
    # An escalation of a withdrawn item (consent revoked) is nobody's to resolve any more.
    withdrawn = exists().where(col(Item.id) == col(Escalation.item_id), col(Item.status) == ItemStatus.WITHDRAWN)
    open_ = (col(Escalation.project_id) == project.id, col(Escalation.resolved_at).is_(None), ~withdrawn)
    live = await session.scalar(
        select(Escalation).where(*open_, col(Escalation.claimed_by) == actor.id, col(Escalation.lease_expires_at) > now)
    )
    if live is not None:
        return EscalationClaim(live, resumed=True)
    labeled_it = exists().where(col(Label.item_id) == col(Escalation.item_id), col(Label.author_id) == actor.id)
    stmt = (
        select(Escalation)
        .where(
            *open_,
            or_(col(Escalation.claimed_by).is_(None), col(Escalation.lease_expires_at) <= now),
            ~labeled_it,
        )
        .order_by(col(Escalation.id))
        .limit(1)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    found = await session.scalar(stmt)
    if found is None:
        raise DomainError.single("QUEUE_EMPTY", "No escalation is waiting for you in this project.", "projectId")
    found.claimed_by = actor.id
    found.lease_expires_at = now + timedelta(seconds=project.lease_seconds)
    await audit.record(
        session,
        actor,
        CLAIM_NEXT_ESCALATION.audit,
        "Item",
        found.item_id,
        project_id=project.id,
        request={"projectId": str(project.id)},
        details={"escalation": str(found.id), "leaseExpiresAt": found.lease_expires_at.isoformat()},
    )
    await session.flush()
    metrics.count(session, lambda m: m.claims, "escalation")
    return EscalationClaim(found, resumed=False)


@dataclass(frozen=True)
class Resolution:
    item_id: uuid.UUID
    value: Any
    rationale: str


@dataclass(frozen=True)
class Resolved:
    decision: Decision
    item: Item


async def resolve(session: AsyncSession, actor: Actor, new: Resolution) -> Resolved:
    item = await get_item(session, actor, new.item_id)
    if item is None:
        raise DomainError.single("NOT_FOUND", "No such item.", "itemId")
    RESOLVE_ESCALATION.require(actor, item.project_id)
    stmt = select(Escalation).where(col(Escalation.item_id) == item.id, col(Escalation.resolved_at).is_(None))
    if is_postgres(session):
        stmt = stmt.with_for_update()
    escalation = await session.scalar(stmt)
    if escalation is None:
        raise DomainError.single("NOT_ESCALATED", "This item awaits no expert.", "itemId")
    now = utcnow()
    labels = await decisions.labels_behind(session, item.id)
    if any(label.author_id == actor.id for label in labels):
        raise DomainError.single("SELF_REVIEW", "You may not resolve an item you labeled.", "itemId")
    held = escalation.lease_expires_at is not None and escalation.lease_expires_at > now
    if held and escalation.claimed_by not in (None, actor.id):
        raise DomainError.single("NOT_ASSIGNEE", "Another expert holds this escalation.", "itemId")

    project = await session.get(Project, item.project_id)
    assert project is not None
    schema = await active_schema(session, project)
    problems = json_bounds.check(new.value, "value") or schema_language.validate(
        schema.schema, new.value, "value", item={"data": item.data, "metadata": item.meta}
    )
    if not new.rationale.strip():
        problems.append(Problem("REQUIRED", "An expert's resolution needs its rationale.", "rationale"))
    elif len(new.rationale) > MAX_RATIONALE:
        problems.append(Problem("TOO_LONG", f"rationale allows {MAX_RATIONALE} characters.", "rationale"))
    if problems:
        raise DomainError(problems)

    values = await decisions.current_values(session, project, labels)
    decision = await decisions.record(
        session,
        project,
        item.id,
        value=dict(new.value),
        method=DecisionMethod.EXPERT_RESOLVED,
        confidence=1.0,
        labels=labels,
        values=values,
        proposal=await policy.propose(session, project, labels, values),
        decided_by=actor.id,
        rationale=new.rationale,
    )
    escalation.resolved_at = now
    escalation.claimed_by = actor.id
    escalation.decision_id = decision.id
    await audit.record(
        session,
        actor,
        RESOLVE_ESCALATION.audit,
        "Item",
        item.id,
        project_id=project.id,
        request={"itemId": str(new.item_id), "value": new.value, "rationale": new.rationale},
        details={"escalation": str(escalation.id), "decision": str(decision.id), "version": decision.version},
    )
    await session.flush()
    return Resolved(decision, item)
