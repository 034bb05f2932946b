"""The QA audit stage and escalations from reviewers and auditors.

- `on_decision` runs inside `decisions.record` (the one place decisions are made): it supersedes a
  pending audit of the decision replaced and, when the audit policy picks the new decision
  (app/audits/rules.py), queues an audit with its reasons. An auditor's own overturn is not
  audited again.
- `flag_for_audit` queues the decision in force of an item for a later detector (FLAGGED).
- `claim_next` leases the oldest pending audit of a FINAL item the auditor did not label, review
  or decide; `submit` confirms the decision or overturns it (a new decision version,
  AUDIT_OVERTURNED), with findings per (field, class).
- `escalate_item`: a reviewer (item IN_REVIEW) or an auditor (item FINAL) sends the item to the
  expert queue of app/workflow/escalations.py.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from app import json_bounds
from app.audits import rules
from app.audits.models import AuditFinding, AuditReason, AuditStatus, AuditVerdict, FindingKind, QaAudit
from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.consent import lapse as consent_lapse
from app.db import is_postgres
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EscalationSource, EventKind
from app.ingestion.models import Item, ItemStatus
from app.ingestion.reads import get_item
from app.metrics import registry as metrics
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema
from app.quality.consensus import canonical
from app.taxonomy import schema_language
from app.workflow import decisions, lifecycle, policy
from app.workflow.lifecycle import Move
from app.workflow.models import Decision, DecisionMethod, Escalation, Label, Review

CLAIM_NEXT_AUDIT = Operation("claimNextAudit", Permission("audit", "claim"), audit="qa_audit.claim")
SUBMIT_AUDIT = Operation("submitAudit", Permission("audit", "submit"), audit="qa_audit.submit")
ESCALATE_ITEM = Operation("escalateItem", Permission("item", "escalate"), audit="item.escalate")

MAX_COMMENT = 10_000
MAX_REASON = 10_000
MAX_FINDINGS = 100
REASON_ORDER = list(AuditReason)


def _ordered(reasons: set[AuditReason]) -> list[str]:
    return [reason.value for reason in REASON_ORDER if reason in reasons]


# -- entering the queue --------------------------------------------------------------------------


async def on_decision(session: AsyncSession, project: Project, decision: Decision, *, replaced: bool) -> None:
    """Called by decisions.record once the new decision is flushed."""
    if replaced:
        await session.execute(
            update(QaAudit)
            .where(col(QaAudit.item_id) == decision.item_id, col(QaAudit.status) == AuditStatus.PENDING)
            .values(status=AuditStatus.SUPERSEDED)
        )
    if decision.method is DecisionMethod.AUDIT_OVERTURNED:
        return  # the audit's own verdict: audited already
    reasons = await reasons_for(session, project, decision)
    if reasons:
        session.add(
            QaAudit(
                project_id=project.id,
                item_id=decision.item_id,
                decision_id=decision.id,
                decision_version=decision.version,
                reasons=_ordered(reasons),
            )
        )
        await session.flush()


async def reasons_for(session: AsyncSession, project: Project, decision: Decision) -> set[AuditReason]:
    """Why the audit policy picks this decision (empty: it does not)."""
    reasons: set[AuditReason] = set()
    if project.audit_rate > 0 and rules.sampled_for_audit(project.review_seed, project.audit_rate, decision.item_id):
        reasons.add(AuditReason.SAMPLED)
    if decision.confidence < project.audit_below_confidence:
        reasons.add(AuditReason.LOW_CONFIDENCE)
    if decision.method is DecisionMethod.EXPERT_RESOLVED and project.audit_expert_decisions:
        reasons.add(AuditReason.EXPERT_DECISION)
    if project.high_impact_classes or project.rare_class_share > 0:
        schema = (await active_schema(session, project)).schema
        if project.high_impact_classes and rules.high_impact(schema, decision.value, project.high_impact_classes):
            reasons.add(AuditReason.HIGH_IMPACT_CLASS)
        if project.rare_class_share > 0 and await _gives_rare_class(session, project, decision, schema):
            reasons.add(AuditReason.RARE_CLASS)
    return reasons


async def _gives_rare_class(
    session: AsyncSession, project: Project, decision: Decision, schema: schema_language.LabelSchema
) -> bool:
    """Whether a class the decision gives is given by fewer than rare_class_share of the project's
    decisions in force (this one included)."""
    for spec in rules.class_fields(schema):
        given = rules.classes_of(spec.kind, decision.value.get(spec.name))
        if not given:
            continue
        # A subquery: PostgreSQL would not see two bound JSON keys as the same grouping expression.
        answers = (
            select(cast(col(Decision.value)[spec.name], String).label("answer"))
            .where(col(Decision.project_id) == project.id, col(Decision.superseded_at).is_(None))
            .subquery()
        )
        rows = await session.execute(select(answers.c.answer, func.count()).group_by(answers.c.answer))
        per_class: Counter[str] = Counter()
        total = 0
        for text, n in rows.all():
            total += n
            for name in rules.classes_of(spec.kind, None if text is None else json.loads(text)):
                per_class[name] += n
        if total and any(per_class[name] / total < project.rare_class_share for name in given):
            return True
    return False


async def flag_for_audit(session: AsyncSession, item_id: uuid.UUID, reason_detail: str) -> QaAudit:
    """Queue the item's decision in force for an audit (FLAGGED), or add the flag to its pending
    audit. For detectors (label-issue detection) that run inside another operation's unit: that
    operation checks permissions and records its audit event."""
    if len(reason_detail) > MAX_REASON:
        raise DomainError.single("TOO_LONG", f"reasonDetail allows {MAX_REASON} characters.", "reasonDetail")
    decision = await decisions.in_force(session, item_id, lock=True)
    if decision is None:
        raise DomainError.single("NOT_DECIDED", "This item has no decision to audit.", "itemId")
    pending = await pending_audit(session, item_id)
    if pending is None:
        pending = QaAudit(
            project_id=decision.project_id,
            item_id=item_id,
            decision_id=decision.id,
            decision_version=decision.version,
            reasons=[AuditReason.FLAGGED.value],
            reason_detail=reason_detail,
        )
        session.add(pending)
    else:
        pending.reasons = _ordered({AuditReason(r) for r in pending.reasons} | {AuditReason.FLAGGED})
        pending.reason_detail = reason_detail
    await session.flush()
    return pending


async def pending_audit(session: AsyncSession, item_id: uuid.UUID) -> QaAudit | None:
    """The item's pending audit, locked (PostgreSQL) until the transaction ends."""
    stmt = select(QaAudit).where(col(QaAudit.item_id) == item_id, col(QaAudit.status) == AuditStatus.PENDING)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


# -- separation of duties ------------------------------------------------------------------------


def _took_part(actor_id: uuid.UUID, item_id: Any) -> ColumnElement[bool]:
    """The actor labeled, reviewed or decided (any version of) the item."""
    return or_(
        exists().where(col(Label.item_id) == item_id, col(Label.author_id) == actor_id),
        exists().where(col(Review.item_id) == item_id, col(Review.reviewer_id) == actor_id),
        exists().where(col(Decision.item_id) == item_id, col(Decision.decided_by) == actor_id),
    )


async def _took_part_in(session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(_took_part(actor.id, item_id))))


# -- claiming ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditClaim:
    audit: QaAudit
    item: Item
    resumed: bool


async def claim_next(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> AuditClaim:
    """The caller's live audit in the project, else the oldest pending one it took no part in."""
    project = await find_project(session, actor, project_id)
    CLAIM_NEXT_AUDIT.require(actor, project.id)
    now = utcnow()
    await consent_lapse.take_effect(session, project.id, now)
    pending = (col(QaAudit.project_id) == project.id, col(QaAudit.status) == AuditStatus.PENDING)
    live = await session.scalar(
        select(QaAudit).where(*pending, col(QaAudit.claimed_by) == actor.id, col(QaAudit.lease_expires_at) > now)
    )
    if live is not None:
        item = await session.get(Item, live.item_id)
        assert item is not None
        return AuditClaim(live, item, resumed=True)
    stmt = (
        select(QaAudit)
        .join(Item, col(Item.id) == col(QaAudit.item_id))
        .where(
            *pending,
            col(Item.status) == ItemStatus.FINAL,
            col(Item.erased_at).is_(None),  # nothing left to audit (app/erasure)
            or_(col(QaAudit.claimed_by).is_(None), col(QaAudit.lease_expires_at) <= now),
            ~_took_part(actor.id, col(QaAudit.item_id)),
        )
        .order_by(col(QaAudit.id))
        .limit(1)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=QaAudit)
    found = await session.scalar(stmt)
    if found is None:
        raise DomainError.single("QUEUE_EMPTY", "No audit is waiting for you in this project.", "projectId")
    found.claimed_by = actor.id
    found.lease_expires_at = now + timedelta(seconds=project.lease_seconds)
    await audit.record(
        session,
        actor,
        CLAIM_NEXT_AUDIT.audit,
        "Item",
        found.item_id,
        project_id=project.id,
        request={"projectId": str(project.id)},
        details={"audit": str(found.id), "leaseExpiresAt": found.lease_expires_at.isoformat()},
    )
    await session.flush()
    item = await session.get(Item, found.item_id)
    assert item is not None
    metrics.count(session, lambda m: m.claims, "audit")
    return AuditClaim(found, item, resumed=False)


# -- the verdict ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    field: str
    class_value: Any
    kind: FindingKind


@dataclass(frozen=True)
class NewVerdict:
    item_id: uuid.UUID
    verdict: AuditVerdict
    value: Any = None
    findings: Sequence[Finding] = ()
    comment: str = ""


@dataclass(frozen=True)
class Audited:
    audit: QaAudit
    item: Item
    decision: Decision | None  # the new decision version of an overturn


async def submit(session: AsyncSession, actor: Actor, new: NewVerdict) -> Audited:
    item = await get_item(session, actor, new.item_id)
    if item is None:
        raise DomainError.single("NOT_FOUND", "No such item.", "itemId")
    SUBMIT_AUDIT.require(actor, item.project_id)
    if await _took_part_in(session, actor, item.id):
        raise DomainError.single("SELF_REVIEW", "You may not audit an item you labeled, reviewed or decided.", "itemId")
    now = utcnow()
    pending = await pending_audit(session, item.id)
    if pending is None or pending.claimed_by != actor.id:
        latest_own = await session.scalar(
            select(QaAudit)
            .where(col(QaAudit.item_id) == item.id, col(QaAudit.claimed_by) == actor.id)
            .order_by(col(QaAudit.id).desc())
            .limit(1)
        )
        if latest_own is not None and latest_own.status is AuditStatus.SUPERSEDED:
            raise DomainError.single("STALE", "The decision you were auditing was superseded; claim again.", "itemId")
        held = pending is not None and pending.lease_expires_at is not None and pending.lease_expires_at > now
        if pending is not None and pending.claimed_by is not None and held:
            raise DomainError.single("NOT_ASSIGNEE", "Another auditor holds this audit.", "itemId")
        raise DomainError.single("NOT_CLAIMED", "You hold no audit of this item; claim one first.", "itemId")
    current = await decisions.in_force(session, item.id, lock=True)
    if current is None or current.id != pending.decision_id:
        raise DomainError.single("STALE", "The decision you were auditing was superseded; claim again.", "itemId")

    project = await session.get(Project, item.project_id)
    assert project is not None
    schema = (await active_schema(session, project)).schema
    problems = _check(new, current, item, schema)
    if problems:
        raise DomainError(problems)

    for finding in new.findings:
        session.add(
            AuditFinding(
                audit_id=pending.id,
                field=finding.field,
                class_value=canonical(finding.class_value),
                kind=finding.kind,
            )
        )
    pending.status = AuditStatus.DONE
    pending.verdict = new.verdict
    pending.comment = new.comment
    pending.completed_at = now
    await session.flush()
    overturned = None
    if new.verdict is AuditVerdict.OVERTURN:
        labels = await decisions.labels_behind(session, item.id)
        values = await decisions.current_values(session, project, labels)
        overturned = await decisions.record(
            session,
            project,
            item.id,
            value=dict(new.value),
            method=DecisionMethod.AUDIT_OVERTURNED,
            confidence=1.0,
            labels=labels,
            values=values,
            proposal=await policy.propose(session, project, labels, values),
            decided_by=actor.id,
            rationale=new.comment,
        )
        pending.result_decision_id = overturned.id
    await audit.record(
        session,
        actor,
        SUBMIT_AUDIT.audit,
        "Item",
        item.id,
        project_id=project.id,
        request={"itemId": str(new.item_id), "verdict": new.verdict.value, "value": new.value},
        details={
            "audit": str(pending.id),
            "verdict": new.verdict.value,
            "auditedVersion": pending.decision_version,
            "version": overturned.version if overturned else None,
            "findings": len(new.findings),
        },
    )
    finished = {
        "auditId": pending.id,
        "itemId": item.id,
        "verdict": new.verdict,
        "auditedDecisionId": pending.decision_id,
        "newDecisionId": overturned.id if overturned else None,
    }
    events.emit(session, project.id, EventKind.AUDIT_FINISHED, finished)
    await session.flush()
    return Audited(pending, item, overturned)


def _check(new: NewVerdict, current: Decision, item: Item, schema: schema_language.LabelSchema) -> list[Problem]:
    problems: list[Problem] = []
    if new.verdict is AuditVerdict.OVERTURN:
        if new.value is None:
            problems.append(Problem("REQUIRED", "An overturn needs the value that replaces the decision.", "value"))
        else:
            value_problems = json_bounds.check(new.value, "value") or schema_language.validate(
                schema, new.value, "value", item={"data": item.data, "metadata": item.meta}
            )
            problems.extend(value_problems)
            if not value_problems and canonical(new.value) == canonical(current.value):
                problems.append(Problem("INVALID_VALUE", "An overturn must change the decision's value.", "value"))
        if not new.comment.strip():
            problems.append(Problem("REQUIRED", "An overturn needs a comment: it becomes the rationale.", "comment"))
    elif new.value is not None:
        problems.append(Problem("UNEXPECTED", "A value goes only with OVERTURN.", "value"))
    if len(new.comment) > MAX_COMMENT:
        problems.append(Problem("TOO_LONG", f"comment allows {MAX_COMMENT} characters.", "comment"))
    if len(new.findings) > MAX_FINDINGS:
        problems.append(Problem("OUT_OF_RANGE", f"At most {MAX_FINDINGS} findings.", "findings"))
        return problems
    seen: set[tuple[str, str]] = set()
    for i, finding in enumerate(new.findings):
        at = f"findings.{i}"
        spec = schema.field(finding.field)
        if spec is None:
            problems.append(Problem("INVALID_VALUE", "Not a field of the schema in force.", f"{at}.field"))
            continue
        classed = spec.kind in rules.CLASS_KINDS or bool(spec.classes)
        fits = (
            (rules.is_class(spec, finding.class_value) or finding.class_value in spec.classes)
            if classed
            else finding.class_value is None
        )
        if not fits:
            message = f"Not a class of '{spec.name}'." if classed else f"'{spec.name}' has no classes: give null."
            problems.append(Problem("INVALID_VALUE", message, f"{at}.class"))
            continue
        key = (finding.field, canonical(finding.class_value))
        if key in seen:
            problems.append(Problem("INVALID_VALUE", "One finding per (field, class).", at))
        seen.add(key)
    return problems


# -- escalating ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalated:
    escalation: Escalation
    item: Item


async def escalate_item(session: AsyncSession, actor: Actor, item_id: uuid.UUID, reason: str) -> Escalated:
    """A reviewer escalates an item IN_REVIEW, an auditor a FINAL one (the one it holds for audit
    among them): the expert queue takes it, and the expert's resolution decides it (again)."""
    item = await get_item(session, actor, item_id)
    if item is None:
        raise DomainError.single("NOT_FOUND", "No such item.", "itemId")
    ESCALATE_ITEM.require(actor, item.project_id)
    if not reason.strip():
        raise DomainError.single("REQUIRED", "An escalation needs its reason for the expert.", "reason")
    if len(reason) > MAX_REASON:
        raise DomainError.single("TOO_LONG", f"reason allows {MAX_REASON} characters.", "reason")
    project = await session.get(Project, item.project_id)
    assert project is not None
    current = await decisions.in_force(session, item.id, lock=True)
    was = item.status
    if item.status is ItemStatus.IN_REVIEW:
        # Escalating is the reviewer's alternative to deciding: the same right and the same conflict.
        actor.require("label", "review", project.id)
        labels = await decisions.counted_labels(session, item.id)
        if any(label.author_id == actor.id for label in labels):
            raise DomainError.single("SELF_REVIEW", "You may not escalate an item you labeled.", "itemId")
        values = await decisions.current_values(session, project, labels)
        confidence = (await policy.propose(session, project, labels, values)).confidence
    elif item.status is ItemStatus.FINAL:
        actor.require("audit", "submit", project.id)
        if await _took_part_in(session, actor, item.id):
            raise DomainError.single(
                "SELF_REVIEW", "You may not escalate an item you labeled, reviewed or decided.", "itemId"
            )
        confidence = current.confidence if current else 0.0
    else:
        confidence = 0.0  # the move below refuses it
    await lifecycle.move(session, item.id, Move.ESCALATE)
    # A pending audit (held by this auditor or not) gives way: the expert decides next, and
    # that decision is audited as the policy says.
    held = await pending_audit(session, item.id)
    if held is not None:
        held.status = AuditStatus.ESCALATED
        held.completed_at = utcnow()
    escalation = Escalation(project_id=project.id, item_id=item.id, reason=reason, confidence=confidence)
    session.add(escalation)
    await session.flush()
    await audit.record(
        session,
        actor,
        ESCALATE_ITEM.audit,
        "Item",
        item.id,
        project_id=project.id,
        request={"itemId": str(item_id), "reason": reason},
        details={
            "escalation": str(escalation.id),
            "from": was.value,
            "audit": str(held.id) if held else None,
        },
    )
    source = EscalationSource.REVIEW if was is ItemStatus.IN_REVIEW else EscalationSource.AUDIT
    metrics.count(session, lambda m: m.escalations, source.value)
    escalated = {"itemId": item.id, "escalationId": escalation.id, "source": source}
    events.emit(session, project.id, EventKind.ITEM_ESCALATED, escalated)
    return Escalated(escalation, item)
