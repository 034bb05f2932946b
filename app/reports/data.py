"""What a quality report shows, gathered from the services: projectQuality's figures for the
period, agreement and throughput per window of it, and what changed in the label schema and the
guideline while it ran.

Everything is read through the services the GraphQL API uses, under the caller's permissions:
`quality read` for the figures (project_quality raises Forbidden without it), `schema read` for
the schema's history and `guideline read` for the guideline's (a section the caller may not read
is left out, never filled from elsewhere). The result is plain data; rendering it (html.py,
pdf.py) needs no database.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.auth.models import User
from app.guidelines import service as guidelines
from app.guidelines.diff import GuidelineDiff
from app.guidelines.models import GuidelineStatus, GuidelineVersion
from app.projects.models import Project
from app.quality.report import CLASS_KINDS
from app.taxonomy import service as taxonomy
from app.taxonomy.diff import SchemaDiff
from app.taxonomy.models import LabelSchemaVersion, SchemaChangeRequest
from app.workflow.quality_report import QualityReport, project_quality

DEFAULT_DAYS = 30
MAX_DAYS = 366
TARGET_WINDOWS = 30
# Window widths a reader can count in: the narrowest that keeps a period to about TARGET_WINDOWS.
WIDTHS_HOURS = (1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168, 336, 720)


class PeriodError(ValueError):
    """A period the report cannot cover; the message is safe to show."""


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def parse_period(raw_from: str | None, raw_to: str | None, now: datetime) -> Period:
    """[from, to) from ISO 8601 query values; by default the last DEFAULT_DAYS days up to now.
    A time without an offset is UTC; a date alone is its midnight."""
    end = _instant(raw_to, "to") if raw_to else now
    start = _instant(raw_from, "from") if raw_from else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise PeriodError("'from' must be before 'to'.")
    if end - start > timedelta(days=MAX_DAYS):
        raise PeriodError(f"A report covers at most {MAX_DAYS} days.")
    return Period(start, end)


def _instant(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise PeriodError(f"'{name}' is not an ISO 8601 date or time.") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def window_hours(period: Period) -> int:
    need = period.hours / TARGET_WINDOWS
    return next((w for w in WIDTHS_HOURS if w >= need), WIDTHS_HOURS[-1])


@dataclass(frozen=True)
class WindowPoint:
    start: datetime
    labels: int
    # Per class field: agreement among the labels made within this window (None: no pair to compare).
    agreement: dict[str, float | None]


@dataclass(frozen=True)
class SchemaChange:
    version: int
    created_at: datetime
    rationale: str  # the change request's, "" for a version made without one
    diff: SchemaDiff | None  # None for the first version (nothing before it)


@dataclass(frozen=True)
class GuidelineChange:
    version: int
    published_at: datetime
    changelog: str
    previous: int | None  # the published version it replaced
    diff: GuidelineDiff | None  # None when there was no earlier published version


@dataclass(frozen=True)
class ReportData:
    project: str
    period: Period
    generated_at: datetime
    quality: QualityReport
    window_hours: int
    windows: list[WindowPoint]  # every window of the period, oldest first, empty ones included
    class_fields: list[str]
    users: dict[str, str]  # annotator and reviewer ids (as the figures carry them) -> username
    schema_changes: list[SchemaChange] | None  # None: the caller may not read the schema's history
    guideline_changes: list[GuidelineChange] | None  # None: the caller may not read the guideline

    def user(self, raw: str) -> str:
        return self.users.get(raw, raw)


async def gather(session: AsyncSession, actor: Actor, project: Project, period: Period, now: datetime) -> ReportData:
    """Raises Forbidden without `quality read` in the project."""
    width = window_hours(period)
    quality = await project_quality(session, actor, project, since=period.start, until=period.end, window_hours=width)
    class_fields = [f.name for f in quality.figures.fields if f.kind in CLASS_KINDS]
    points = await _windows(session, actor, project, period, width, quality, class_fields)
    return ReportData(
        project=project.name,
        period=period,
        generated_at=now,
        quality=quality,
        window_hours=width,
        windows=points,
        class_fields=class_fields,
        users=await _usernames(session, quality),
        schema_changes=await _schema_changes(session, actor, project, period)
        if actor.can("schema", "read", project.id)
        else None,
        guideline_changes=await _guideline_changes(session, actor, project, period)
        if actor.can("guideline", "read", project.id)
        else None,
    )


async def _windows(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    period: Period,
    width: int,
    quality: QualityReport,
    class_fields: list[str],
) -> list[WindowPoint]:
    """The period cut into windows aligned as projectQuality's are (multiples of the width since
    the epoch). Agreement per window is projectQuality's over that window, asked only for windows
    with labels: at most about TARGET_WINDOWS calls."""
    seconds = width * 3600
    labels = {int(w.start): w.labels for w in quality.windows}
    first = math.floor(period.start.timestamp() / seconds) * seconds
    points = []
    for start in range(first, math.ceil(period.end.timestamp()), seconds):
        agreement: dict[str, float | None] = dict.fromkeys(class_fields)
        if labels.get(start):
            since = max(period.start, datetime.fromtimestamp(start, UTC))
            until = min(period.end, datetime.fromtimestamp(start + seconds, UTC))
            inside = await project_quality(session, actor, project, since=since, until=until)
            agreement.update({f.name: f.agreement for f in inside.figures.fields if f.name in agreement})
        points.append(WindowPoint(datetime.fromtimestamp(start, UTC), labels.get(start, 0), agreement))
    return points


async def _usernames(session: AsyncSession, quality: QualityReport) -> dict[str, str]:
    """The people the figures name, as projectQuality's `annotator { username }` shows them."""
    raw = {a.annotator for a in quality.figures.annotators}
    raw |= {a.annotator for a in quality.audits.annotators} | {r.reviewer for r in quality.audits.reviewers}
    ids = {uuid.UUID(r): r for r in raw}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.username).where(col(User.id).in_(list(ids))))
    return {ids[pk]: name for pk, name in rows.all()}


async def _schema_changes(session: AsyncSession, actor: Actor, project: Project, period: Period) -> list[SchemaChange]:
    rows = await session.execute(
        select(LabelSchemaVersion.version, LabelSchemaVersion.created_at, SchemaChangeRequest.rationale)
        .outerjoin(SchemaChangeRequest, col(SchemaChangeRequest.id) == col(LabelSchemaVersion.change_request_id))
        .where(
            LabelSchemaVersion.project_id == project.id,
            col(LabelSchemaVersion.created_at) >= period.start,
            col(LabelSchemaVersion.created_at) < period.end,
        )
        .order_by(col(LabelSchemaVersion.version))
    )
    changes = []
    for version, created_at, rationale in rows.all():
        diff = await taxonomy.schema_diff(session, actor, project, version - 1, version) if version > 1 else None
        changes.append(SchemaChange(version, _utc(created_at), rationale or "", diff))
    return changes


async def _guideline_changes(
    session: AsyncSession, actor: Actor, project: Project, period: Period
) -> list[GuidelineChange]:
    published = (
        await session.execute(
            select(GuidelineVersion.version, GuidelineVersion.published_at, GuidelineVersion.changelog)
            .where(
                GuidelineVersion.project_id == project.id,
                GuidelineVersion.status == GuidelineStatus.PUBLISHED,
                col(GuidelineVersion.published_at).is_not(None),
                col(GuidelineVersion.published_at) < period.end,
            )
            .order_by(col(GuidelineVersion.version))
        )
    ).all()
    changes = []
    previous: int | None = None
    for version, published_at, changelog in published:
        at = _utc(published_at)
        if at >= period.start:
            diff = await guidelines.version_diff(session, actor, project.id, previous, version) if previous else None
            changes.append(GuidelineChange(version, at, changelog, previous, diff))
        previous = version
    return changes


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive times (stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def class_name(value: str) -> str:
    """A class as canonical JSON (how the figures key it) as a reader names it: a string without
    its quotes, anything else (a multi-choice set, a number) as its JSON."""
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value
