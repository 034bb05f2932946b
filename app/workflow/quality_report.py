"""projectQuality: what a project's labels and decisions say about its quality, over a period.

Readable by admins, project managers and QA auditors (`quality read`). Every figure counts the
labels made in [from, to) (all of them without a period) and the decisions in force on their items;
`segment_by` repeats the figures per value of one item metadata field. Labels on gold items are
gold answers, not labels: they are left out of every label figure and counted, with their stored
scores, in the gold figures of the same period (their label's time decides it).
"""

from __future__ import annotations

import json
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, String, case, cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from app.audits.models import AuditStatus, QaAudit
from app.auth.actor import Actor
from app.automation import auto_accept
from app.columns import epoch_seconds
from app.db import bulk_read
from app.errors import DomainError
from app.expertise.models import GoldAnswer, GoldResponse
from app.ingestion.models import Item
from app.projects.models import Project
from app.projects.service import active_schema
from app.quality.report import (
    CLASS_KINDS,
    AuditedDecision,
    AuditFigures,
    Figures,
    Window,
    audit_figures,
    figures,
    label_table,
    windows,
)
from app.taxonomy.mapping import remap_through
from app.taxonomy.versions import VersionChain, version_chain
from app.workflow.estimates import load as load_estimates
from app.workflow.models import (
    Decision,
    DecisionLabel,
    DecisionMethod,
    Escalation,
    Label,
    LabelStatus,
    Review,
    ReviewStage,
    Verdict,
)

MAX_SEGMENTS = 50
MAX_WINDOW_HOURS = 24 * 366
MAX_WINDOWS = 1000  # the latest ones


@dataclass(frozen=True)
class Flow:
    """How the loop ran: rejection and escalation rates, labels per decision, cycle time."""

    reviews: int
    review_rejection_rate: float | None
    escalations: int
    escalation_rate: float | None  # escalated items / settled items
    decided_items: int
    labels_per_decided_item: float | None
    median_cycle_time_s: float | None  # import -> decision in force


@dataclass(frozen=True)
class QualityReport:
    figures: Figures
    flow: Flow
    segments: dict[str, Figures]
    windows: list[Window]
    audits: AuditFigures
    auto_accept: auto_accept.Standing


async def project_quality(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    segment_by: str | None = None,
    window_hours: int | None = None,
) -> QualityReport:
    """Raises DomainError OUT_OF_RANGE for a window outside 1..MAX_WINDOW_HOURS hours.

    The labels are read as columns: ids as text, each field's value as JSON text extracted by the
    database, times as epoch seconds, so that no row becomes an object. Labels made under an
    older schema version are read whole and carried to the version in force first."""
    actor.require("quality", "read", project.id)
    if window_hours is not None and not 1 <= window_hours <= MAX_WINDOW_HOURS:
        raise DomainError.single("OUT_OF_RANGE", f"window must lie within 1..{MAX_WINDOW_HOURS} hours.", "window")
    with bulk_read():
        return await _report(session, project, since, until, segment_by, window_hours)


async def _report(
    session: AsyncSession,
    project: Project,
    since: datetime | None,
    until: datetime | None,
    segment_by: str | None,
    window_hours: int | None,
) -> QualityReport:
    schema = await active_schema(session, project)
    fields = [(spec.name, spec.kind) for spec in schema.schema.fields]
    names = [name for name, _ in fields]
    chain = await version_chain(session, project)
    active = chain.active.id
    head: list[Any] = [
        _text(Label.item_id),
        _text(Label.author_id),
        col(Label.time_spent_ms),
        epoch_seconds(col(Label.created_at)),
    ]
    scope: list[ColumnElement[bool]] = [col(Label.project_id) == project.id, col(Label.status) != LabelStatus.REJECTED]
    if since is not None:
        scope.append(col(Label.created_at) >= since)
    if until is not None:
        scope.append(col(Label.created_at) < until)
    older = col(Label.schema_version_id) != active  # such a label is read whole and carried forward
    found = await session.connection()  # Core rows, not the ORM session's: no bookkeeping per row
    rows = await found.execute(
        select(
            *[
                *head,
                *[_json_text(Label.value, name) for name in names],
                case((older, cast(col(Label.value), String)), else_=None),
                case((older, _text(Label.schema_version_id)), else_=None),
            ]
        ).where(*scope)
    )
    labels = [list(column) for column in zip(*rows.all(), strict=True)] or [[] for _ in range(6 + len(names))]
    *labels, whole, version = labels
    for i in (i for i, v in enumerate(version) if v is not None):
        carried = remap_through(json.loads(whole[i]), chain.steps_from(uuid.UUID(version[i])))
        for f, name in enumerate(names):
            labels[4 + f][i] = json.dumps(carried.get(name))
    decided = await found.execute(
        select(
            *[
                _text(Decision.item_id),
                *[_json_text(Decision.value, name) for name in names],
                epoch_seconds(col(Decision.decided_at)) - epoch_seconds(col(Item.created_at)),
            ]
        )
        .join(Item, col(Item.id) == col(Decision.item_id))
        .where(
            Decision.project_id == project.id,
            col(Decision.superseded_at).is_(None),
            # No human label is behind a model's decision: not a truth to measure annotators against.
            col(Decision.method) != DecisionMethod.AUTO_ACCEPTED,
        )
    )
    decisions = [list(column) for column in zip(*decided.all(), strict=True)]
    answered = await found.execute(
        select(
            *[
                _text(Label.item_id),
                _text(Label.author_id),
                epoch_seconds(col(Label.created_at)),
                col(GoldResponse.score),
                col(GoldResponse.fields),
            ]
        )
        .join(GoldResponse, col(GoldResponse.label_id) == col(Label.id))
        # The gold answers' own project condition lets the database start from them (a few) and
        # look each label up, rather than probe for an answer behind every label.
        .where(col(GoldResponse.project_id) == project.id, col(GoldResponse.attempt_id).is_(None), *scope)
    )
    gold = [list(column) for column in zip(*answered.all(), strict=True)] or None
    gold_items = await found.execute(select(_text(GoldAnswer.item_id)).where(GoldAnswer.project_id == project.id))
    table = label_table(names, labels, decisions, lambda raw: str(uuid.UUID(raw)), gold, gold_items.scalars().all())
    estimates = await load_estimates(session, project)
    report = figures(table, fields, estimates)
    labelled = set(table.item_ids)
    cycle = [t for item, t in zip(decisions[0], decisions[-1], strict=True) if item in labelled] if decisions else []
    flow = await _flow(session, project, cycle, table.n_labels, since, until)
    segments: dict[str, Figures] = {}
    if segment_by:
        segment_of = await _segments(session, project, segment_by)
        of_item = np.array([segment_of.get(item, "None") for item in table.item_ids], dtype=object)
        segment, gold_segment = of_item[table.item], of_item[table.gold.item]
        for value in sorted(set(segment) | set(gold_segment))[:MAX_SEGMENTS]:
            segments[value] = figures(table.subset(segment == value, gold_segment == value), fields, estimates)
    series = []
    if window_hours is not None:
        choice_like = [name for name, kind in fields if kind in CLASS_KINDS]
        series = windows(table, window_hours * 3600.0, choice_like)[-MAX_WINDOWS:]
    audited = await _audits(session, project, chain, since, until)
    standing = await auto_accept.standing(session, project)
    return QualityReport(report, flow, segments, series, audit_figures(audited, fields), standing)


async def _audits(
    session: AsyncSession, project: Project, chain: VersionChain, since: datetime | None, until: datetime | None
) -> list[AuditedDecision]:
    """The QA audits completed in [since, until), each with the decision it judged, the value an
    overturn gave, the labels behind the judged decision and the reviewer who made it (values
    carried to the schema in force)."""
    stmt = select(QaAudit).where(
        col(QaAudit.project_id) == project.id,
        col(QaAudit.status) == AuditStatus.DONE,
        col(QaAudit.verdict).is_not(None),
    )
    if since is not None:
        stmt = stmt.where(col(QaAudit.completed_at) >= since)
    if until is not None:
        stmt = stmt.where(col(QaAudit.completed_at) < until)
    audits = list(await session.scalars(stmt.order_by(col(QaAudit.id))))
    if not audits:
        return []

    def carried(value: dict[str, Any], version: uuid.UUID) -> dict[str, Any]:
        return remap_through(value, chain.steps_from(version))

    judged = {a.decision_id for a in audits}
    wanted = judged | {a.result_decision_id for a in audits if a.result_decision_id is not None}
    found: dict[uuid.UUID, Decision] = {}
    reviewer: dict[uuid.UUID, uuid.UUID] = {}
    labels: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for batch in _batches(sorted(wanted)):
        found.update({d.id: d for d in await session.scalars(select(Decision).where(col(Decision.id).in_(batch)))})
    review_ids = sorted({d.review_id for d in found.values() if d.id in judged and d.review_id is not None})
    for batch in _batches(review_ids):
        pairs = await session.execute(select(Review.id, Review.reviewer_id).where(col(Review.id).in_(batch)))
        for review_id, who in pairs.all():
            reviewer[review_id] = who
    for batch in _batches(sorted(judged)):
        behind = await session.execute(
            select(DecisionLabel.decision_id, Label.author_id, Label.value, Label.schema_version_id)
            .join(Label, col(Label.id) == col(DecisionLabel.label_id))
            .where(col(DecisionLabel.decision_id).in_(batch))
            .order_by(col(Label.id))
        )
        for decision_id, author, value, version in behind.all():
            labels[decision_id].append((str(author), carried(value, version)))
    result = []
    for a in audits:
        decision = found[a.decision_id]
        after = found.get(a.result_decision_id) if a.result_decision_id else None
        result.append(
            AuditedDecision(
                value=carried(decision.value, decision.schema_version_id),
                overturned_to=carried(after.value, after.schema_version_id) if after else None,
                labels=labels[decision.id],
                reviewer=str(reviewer[decision.review_id]) if decision.review_id in reviewer else None,
            )
        )
    return result


def _batches(keys: list[Any], size: int = 500) -> list[list[Any]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _text(column: Any) -> Any:
    """An id column as text (hex on SQLite, the hyphenated form on PostgreSQL): no UUID per row."""
    return cast(col(column), String)


def _json_text(column: Any, key: str) -> Any:
    """One key of a JSON column as JSON text, extracted by the database (None when absent). The
    cast is the database's: asyncpg would otherwise decode the JSON itself."""
    return cast(col(column)[key], String)


async def _segments(session: AsyncSession, project: Project, key: str) -> dict[str, str]:
    """Item (as `_text` gives it) -> its metadata value under `key`, as Python's str() shows it."""
    if '"' in key or "\\" in key:  # not expressible as a SQLite JSON path: read the metadata whole
        rows = await session.execute(select(_text(Item.id), col(Item.meta)).where(Item.project_id == project.id))
        return {item: str((meta or {}).get(key)) for item, meta in rows.all()}
    rows = await session.execute(
        select(_text(Item.id), _json_text(Item.meta, key)).where(Item.project_id == project.id)
    )
    shown: dict[str | None, str] = {}
    result: dict[str, str] = {}
    for item, text in rows.all():
        value = shown.get(text)
        if value is None:
            value = shown[text] = str(None if text is None else json.loads(text))
        result[item] = value
    return result


async def _flow(
    session: AsyncSession,
    project: Project,
    cycle: list[float],
    n_labels: int,
    since: datetime | None,
    until: datetime | None,
) -> Flow:
    reviews = select(Review.verdict, func.count()).where(
        Review.project_id == project.id, Review.stage == ReviewStage.REVIEW
    )
    escalations = select(func.count()).where(col(Escalation.project_id) == project.id)
    if since is not None:
        reviews = reviews.where(col(Review.created_at) >= since)
        escalations = escalations.where(col(Escalation.created_at) >= since)
    if until is not None:
        reviews = reviews.where(col(Review.created_at) < until)
        escalations = escalations.where(col(Escalation.created_at) < until)
    verdicts = dict((await session.execute(reviews.group_by(col(Review.verdict)))).all())
    n_reviews = sum(verdicts.values())
    n_escalated = int(await session.scalar(escalations) or 0)
    settled = len(cycle) + n_escalated
    return Flow(
        reviews=n_reviews,
        review_rejection_rate=verdicts.get(Verdict.REJECT, 0) / n_reviews if n_reviews else None,
        escalations=n_escalated,
        escalation_rate=n_escalated / settled if settled else None,
        decided_items=len(cycle),
        labels_per_decided_item=n_labels / len(cycle) if cycle else None,
        median_cycle_time_s=float(statistics.median(cycle)) if cycle else None,
    )
