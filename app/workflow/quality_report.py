"""projectQuality: what a project's labels and decisions say about its quality, over a period.

Readable by admins, project managers and QA auditors (`quality read`). Every figure counts the
labels made in [from, to) (all of them without a period) and the decisions in force on their items;
`segment_by` repeats the figures per value of one item metadata field.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from app.auth.actor import Actor
from app.errors import DomainError
from app.ingestion.models import Item
from app.projects.models import Project
from app.projects.service import active_schema
from app.quality.report import Figures, LabelRow, Window, figures, windows
from app.taxonomy.mapping import remap_through
from app.taxonomy.versions import version_chain
from app.workflow.models import Decision, Escalation, Label, LabelStatus, Review, ReviewStage, Verdict

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
    """Raises DomainError OUT_OF_RANGE for a window outside 1..MAX_WINDOW_HOURS hours."""
    actor.require("quality", "read", project.id)
    if window_hours is not None and not 1 <= window_hours <= MAX_WINDOW_HOURS:
        raise DomainError.single("OUT_OF_RANGE", f"window must lie within 1..{MAX_WINDOW_HOURS} hours.", "window")
    columns = (
        Label.item_id,
        Label.author_id,
        Label.value,
        Label.schema_version_id,
        Label.time_spent_ms,
        Label.created_at,
    )
    stmt = select(*(col(c) for c in columns)).where(
        Label.project_id == project.id, Label.status != LabelStatus.REJECTED
    )
    if since is not None:
        stmt = stmt.where(col(Label.created_at) >= since)
    if until is not None:
        stmt = stmt.where(col(Label.created_at) < until)
    chain = await version_chain(session, project)
    found = (await session.execute(stmt.order_by(col(Label.created_at)))).all()
    rows = [
        LabelRow(item, str(author), remap_through(value, chain.steps_from(version)), spent)
        for item, author, value, version, spent, _ in found
    ]
    items = {r.item for r in rows}
    decided = {
        item: (value, decided_at)
        for item, value, decided_at in (
            await session.execute(
                select(Decision.item_id, Decision.value, Decision.decided_at).where(
                    Decision.project_id == project.id, col(Decision.superseded_at).is_(None)
                )
            )
        ).all()
        if item in items
    }
    final = {item: value for item, (value, _) in decided.items()}
    schema = await active_schema(session, project)
    fields = [(spec.name, spec.kind) for spec in schema.schema.fields]
    report = figures(rows, final, fields)
    flow = await _flow(session, project, items, decided, len(rows), since, until)
    segments: dict[str, Figures] = {}
    if segment_by:
        meta = await session.execute(select(Item.id, Item.meta).where(Item.project_id == project.id))
        segment_of = {item: str((m or {}).get(segment_by)) for item, m in meta.all() if item in items}
        grouped: dict[str, list[LabelRow]] = defaultdict(list)
        for r in rows:
            grouped[segment_of.get(r.item, "None")].append(r)
        for value in sorted(grouped)[:MAX_SEGMENTS]:
            segments[value] = figures(grouped[value], final, fields)
    series = []
    if window_hours is not None:
        choice_like = [name for name, kind in fields if kind in ("single_choice", "taxonomy", "rating", "multi_choice")]
        times = [row[5].timestamp() for row in found]
        series = windows(rows, times, window_hours * 3600.0, choice_like)[-MAX_WINDOWS:]
    return QualityReport(report, flow, segments, series)


async def _flow(
    session: AsyncSession,
    project: Project,
    items: set[Any],
    decided: dict[Any, tuple[Any, datetime]],
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
    created = dict((await session.execute(select(Item.id, Item.created_at).where(Item.project_id == project.id))).all())
    cycle = [(at - created[item]).total_seconds() for item, (_, at) in decided.items() if item in created]
    settled = len(decided) + n_escalated
    return Flow(
        reviews=n_reviews,
        review_rejection_rate=verdicts.get(Verdict.REJECT, 0) / n_reviews if n_reviews else None,
        escalations=n_escalated,
        escalation_rate=n_escalated / settled if settled else None,
        decided_items=len(decided),
        labels_per_decided_item=n_labels / len(decided) if decided else None,
        median_cycle_time_s=float(statistics.median(cycle)) if cycle else None,
    )
