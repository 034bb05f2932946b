"""Auto-accept with spot checks: a model's confident suggestion decides an item no human labeled.

The policy is the project's (`updateQualityPolicy`, app/workflow/policy.py):

    autoAcceptConfidence  field -> threshold in (0, 1]; {} turns auto-accept off
    spotCheckRate         share of the items auto-accept would decide that stay with humans instead
                          (a draw seeded per project and item, as the review sample: deterministic)
    autoAcceptFloor       when the spot checks' agreement with their suggestion falls under it ...
    autoAcceptMinChecks   ... after at least this many decided spot checks, auto-accept turns itself
                          off (audited as a policy change by SYSTEM, an outbox event, projectQuality);
                          turning it on again is a manual policy change (autoAcceptEnabled: true)

When a suggestion is written (`after_suggestions`, called by the suggestion write path in
service.py) for an item still QUEUED, not gold, with no human label at all (rejected ones count)
and consent still in force, it is *confident* when it gives every required field of the schema in
force and every field it gives reaches its threshold (its per-field confidence where given, else
the overall one); a field without a threshold never does. A confident suggestion either marks the
item a spot check (`spot_check`, once per item: the suggestion, its value then, the epoch), the
item staying in the human queue as any other, or decides it at once: lifecycle AUTO_ACCEPT
(QUEUED -> FINAL, guarded on no label in the database, so a label racing in wins), a decision
AUTO_ACCEPTED with the suggestion's value, `model_version_id` the agent (no person decided), the
lowest checked confidence as its confidence; the item's live tasks are cancelled, as a
withdrawal's are. The decision then goes where every decision goes (events, the audit rules).

When a spot-checked item gets its first decision (humans: aggregated labels, a review, an
expert), `on_first_decision` compares it with the remembered value on every field the suggestion
gave. The running accuracy is agreeing / decided spot checks of the current epoch (the epoch goes
up each time auto-accept is turned on, so a manager turning it back on starts a fresh measure).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, update
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from app.auth.actor import Actor
from app.automation.models import ModelVersion, SpotCheck, Suggestion
from app.clock import aware, utcnow
from app.compliance import audit
from app.db import is_postgres
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.ingestion.models import Item, ItemStatus
from app.projects.models import Project
from app.quality.consensus import canonical
from app.taxonomy.schema_language import LabelSchema
from app.workflow import decisions
from app.workflow.lifecycle import Move
from app.workflow.models import Assignment, AssignmentStatus, DecisionMethod, Label

AUTO_ACCEPT_AUDIT = "decision.auto_accept"
# The audit action of a policy change: the automatic turn-off is one, by SYSTEM.
POLICY_AUDIT = "quality.policy"
CHUNK = 900  # ids per IN () list


@dataclass(frozen=True)
class Written:
    """A suggestion just written (inserted or replaced) by a model version."""

    item_id: uuid.UUID
    value: Mapping[str, Any]
    confidence: float
    per_field: Mapping[str, float]


@dataclass(frozen=True)
class Outcome:
    accepted: int
    spot_checks: int


def enabled(project: Project) -> bool:
    return bool(project.auto_accept_confidence) and project.auto_accept_off_at is None


def sampled_for_spot_check(project: Project, item_id: uuid.UUID) -> bool:
    """Whether the item falls in the spot-check sample: a uniform draw in [0, 1) fixed by the
    project's seed and the item (salted, so it is independent of the review and audit samples)."""
    rate = project.spot_check_rate
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.blake2b(f"{project.review_seed}:spot-check:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def _answered(value: Any) -> bool:
    return not (value is None or value == [] or (isinstance(value, str) and not value.strip()))


def confident(
    schema: LabelSchema,
    thresholds: Mapping[str, Any],
    value: Mapping[str, Any],
    confidence: float,
    per_field: Mapping[str, float],
) -> float | None:
    """The lowest confidence over the fields the suggestion gives when every required field is
    given and every given field reaches its threshold; None when it is not confident."""
    given = [name for name, v in value.items() if _answered(v)]
    if not given or not thresholds:
        return None
    if any(spec.required and spec.name not in given for spec in schema.fields):
        return None
    lowest = 1.0
    for name in given:
        threshold = thresholds.get(name)
        own = per_field.get(name, confidence)
        if threshold is None or own < threshold:
            return None
        lowest = min(lowest, float(own))
    return lowest


def check_thresholds(raw: Any, schema: LabelSchema, at: str = "autoAcceptConfidence") -> list[Problem]:
    """What is wrong with a thresholds map: fields of the schema in force, each a number in (0, 1],
    every required field among them (else nothing could be decided); {} is off."""
    if not isinstance(raw, dict):
        return [Problem("WRONG_KIND", f"{at} maps field names to thresholds in (0, 1].", at)]
    if not raw:
        return []
    names = {spec.name for spec in schema.fields}
    problems: list[Problem] = []
    for name, threshold in raw.items():
        if name not in names:
            problems.append(Problem("UNKNOWN_FIELD", "No such field in the label schema in force.", f"{at}.{name}"))
        elif not (
            isinstance(threshold, int | float)
            and not isinstance(threshold, bool)
            and math.isfinite(threshold)
            and 0.0 < threshold <= 1.0
        ):
            problems.append(Problem("OUT_OF_RANGE", "A threshold is a number within (0, 1].", f"{at}.{name}"))
    for spec in schema.fields:
        if spec.required and spec.name not in raw:
            problems.append(
                Problem("REQUIRED", "Every required field needs a threshold to auto-accept.", f"{at}.{spec.name}")
            )
    return problems


async def after_suggestions(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    schema: LabelSchema,
    version: ModelVersion,
    model_name: str,
    written: Sequence[Written],
) -> Outcome:
    """Decide or mark as spot checks the items these suggestions are confident on (see the module)."""
    if not enabled(project) or not written:
        return Outcome(0, 0)
    thresholds = dict(project.auto_accept_confidence)
    candidates: dict[uuid.UUID, tuple[Written, float]] = {}
    for row in written:
        lowest = confident(schema, thresholds, row.value, row.confidence, row.per_field)
        if lowest is not None:
            candidates[row.item_id] = (row, lowest)
    if not candidates:
        return Outcome(0, 0)
    now = utcnow()
    open_items = await _unlabeled(session, project.id, sorted(candidates), now)
    if not open_items:
        return Outcome(0, 0)
    suggestion_of = await _suggestion_ids(session, version.id, open_items)
    accepted = checks = 0
    for item_id in open_items:
        row, lowest = candidates[item_id]
        suggestion_id = suggestion_of.get(item_id)
        if suggestion_id is None:  # not ours after all (replaced by a racing push): leave it
            continue
        if sampled_for_spot_check(project, item_id):
            # A racing push may mark the same item first: its row stands, and only ours counts here.
            dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
            inserted = await session.execute(
                dialect_insert(SpotCheck)
                .values(
                    item_id=item_id,
                    project_id=project.id,
                    suggestion_id=suggestion_id,
                    model_version_id=version.id,
                    value=dict(row.value),
                    confidence=lowest,
                    epoch=project.auto_accept_epoch,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["item_id"])
            )
            checks += int(inserted.rowcount)  # type: ignore[attr-defined]
            continue
        try:
            await decisions.record(
                session,
                project,
                item_id,
                value=dict(row.value),
                method=DecisionMethod.AUTO_ACCEPTED,
                confidence=lowest,
                labels=[],
                values=[],
                model_version_id=version.id,
                detail={
                    "suggestion": str(suggestion_id),
                    "confidence": row.confidence,
                    "perField": dict(row.per_field),
                    "thresholds": thresholds,
                },
                first_move=Move.AUTO_ACCEPT,
            )
        except DomainError:  # a label or another decision came first (the move's guard): humans keep it
            continue
        await session.execute(
            update(Assignment)
            .where(col(Assignment.item_id) == item_id, col(Assignment.status) == AssignmentStatus.ACTIVE)
            .values(status=AssignmentStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        accepted += 1
    await session.flush()
    if accepted or checks:
        await audit.record(
            session,
            actor,
            AUTO_ACCEPT_AUDIT,
            "ModelVersion",
            version.id,
            project_id=project.id,
            details={
                "model": model_name,
                "version": version.version,
                "modelVersionId": str(version.id),
                "autoAccepted": accepted,
                "spotChecks": checks,
            },
        )
    return Outcome(accepted, checks)


async def _unlabeled(
    session: AsyncSession, project_id: uuid.UUID, item_ids: Sequence[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Of these items, those auto-accept may act on, in id order: QUEUED, not gold, not erased,
    consent in force, no label of any status, not already a spot check."""
    found: list[uuid.UUID] = []
    for start in range(0, len(item_ids), CHUNK):
        chunk = item_ids[start : start + CHUNK]
        rows = await session.execute(
            select_columns(col(Item.id), col(Item.consent_lapse_at))
            .where(
                col(Item.project_id) == project_id,
                col(Item.id).in_(chunk),
                col(Item.status) == ItemStatus.QUEUED,
                col(Item.gold).is_(False),
                col(Item.erased_at).is_(None),
                col(Item.label_count) == 0,
                ~exists().where(col(Label.item_id) == col(Item.id)),
                ~exists().where(col(SpotCheck.item_id) == col(Item.id)),
            )
            .order_by(col(Item.id))
        )
        found += [item_id for item_id, lapse in rows.all() if lapse is None or aware(lapse) > now]
    return found


async def _suggestion_ids(
    session: AsyncSession, version_id: uuid.UUID, item_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    found: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(item_ids), CHUNK):
        rows = await session.execute(
            select_columns(col(Suggestion.item_id), col(Suggestion.id)).where(
                col(Suggestion.model_version_id) == version_id,
                col(Suggestion.item_id).in_(item_ids[start : start + CHUNK]),
            )
        )
        for item_id, suggestion_id in rows.all():
            found[item_id] = suggestion_id
    return found


def agrees(suggested: Mapping[str, Any], decided: Mapping[str, Any]) -> bool:
    """The decision gives the suggested value on every field the suggestion gave (as stored)."""
    return all(canonical(decided.get(name)) == canonical(v) for name, v in suggested.items() if _answered(v))


async def on_first_decision(session: AsyncSession, project: Project, decision: Any) -> None:
    """Called by decisions.record with an item's first decision: a spot check's item was decided
    by humans; record whether they agreed and turn auto-accept off when the accuracy falls under
    the floor."""
    if decision.method is DecisionMethod.AUTO_ACCEPTED:
        return
    check = await session.scalar(
        select(SpotCheck).where(col(SpotCheck.item_id) == decision.item_id, col(SpotCheck.decision_id).is_(None))
    )
    if check is None:
        return
    check.decision_id = decision.id
    check.decided_at = decision.decided_at
    check.agreed = agrees(check.value, decision.value)
    await session.flush()
    await _maybe_turn_off(session, project, check.epoch)


@dataclass(frozen=True)
class Accuracy:
    decided: int
    agreeing: int

    @property
    def rate(self) -> float | None:
        return self.agreeing / self.decided if self.decided else None


async def accuracy(session: AsyncSession, project_id: uuid.UUID, epoch: int) -> Accuracy:
    """The decided spot checks of an epoch and how many agreed with their suggestion."""
    row = (
        await session.execute(
            select_columns(
                func.count(), func.coalesce(func.sum(case((col(SpotCheck.agreed).is_(True), 1), else_=0)), 0)
            ).where(
                col(SpotCheck.project_id) == project_id,
                col(SpotCheck.epoch) == epoch,
                col(SpotCheck.decision_id).is_not(None),
            )
        )
    ).one()
    return Accuracy(int(row[0]), int(row[1]))


async def _maybe_turn_off(session: AsyncSession, project: Project, epoch: int) -> None:
    if not enabled(project) or epoch != project.auto_accept_epoch:
        return
    measured = await accuracy(session, project.id, epoch)
    rate = measured.rate
    if rate is None or measured.decided < project.auto_accept_min_checks or rate >= project.auto_accept_floor:
        return
    now = utcnow()
    reason = (
        f"Spot-check accuracy {rate:.3f} ({measured.agreeing} of {measured.decided} spot checks agreed) fell "
        f"below the floor {project.auto_accept_floor:.3f}."
    )
    # One UPDATE that only the first of racing decisions wins: one turn-off, one event.
    won = await session.execute(
        update(Project)
        .where(
            col(Project.id) == project.id,
            col(Project.auto_accept_off_at).is_(None),
            col(Project.auto_accept_epoch) == epoch,
        )
        .values(auto_accept_off_at=now, auto_accept_off_reason=reason)
        .returning(col(Project.id))
        .execution_options(synchronize_session=False)
    )
    if won.one_or_none() is None:
        return
    set_committed_value(project, "auto_accept_off_at", now)
    set_committed_value(project, "auto_accept_off_reason", reason)
    await audit.record(
        session,
        None,
        POLICY_AUDIT,
        "Project",
        project.id,
        project_id=project.id,
        details={
            "changed": {"auto_accept_enabled": False},
            "before": {"auto_accept_enabled": True},
            "reason": reason,
            "spotChecks": measured.decided,
            "agreeing": measured.agreeing,
            "accuracy": rate,
            "floor": project.auto_accept_floor,
            "epoch": epoch,
        },
    )
    events.emit(
        session,
        project.id,
        EventKind.AUTO_ACCEPT_TURNED_OFF,
        {"spotChecks": measured.decided, "agreeing": measured.agreeing},
    )


@dataclass(frozen=True)
class Standing:
    """What projectQuality shows of auto-accept."""

    enabled: bool
    accepted: int  # AUTO_ACCEPTED decisions ever made in the project (in force or not)
    spot_checks: int  # spot checks of the current epoch
    decided: int  # of those, decided by humans
    agreeing: int
    turned_off_at: datetime | None
    turned_off_reason: str | None


async def standing(session: AsyncSession, project: Project) -> Standing:
    from app.workflow.models import Decision

    accepted = await session.scalar(
        select_columns(func.count()).where(
            col(Decision.project_id) == project.id,
            col(Decision.method) == DecisionMethod.AUTO_ACCEPTED,
            col(Decision.version) == 1,
        )
    )
    checks = await session.scalar(
        select_columns(func.count()).where(
            col(SpotCheck.project_id) == project.id, col(SpotCheck.epoch) == project.auto_accept_epoch
        )
    )
    measured = await accuracy(session, project.id, project.auto_accept_epoch)
    return Standing(
        enabled=enabled(project),
        accepted=int(accepted or 0),
        spot_checks=int(checks or 0),
        decided=measured.decided,
        agreeing=measured.agreeing,
        turned_off_at=project.auto_accept_off_at,
        turned_off_reason=project.auto_accept_off_reason or None,
    )
