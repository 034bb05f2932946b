"""Retention: `labelgraph retention apply [--dry-run] [--project ID]` purges the content of items
imported more than the project's `retention_days` ago, the same way erasure does (scrub.py).

The clock starts at import (`item.created_at`): the period bounds how long we hold what we were
given, whatever became of it, and an item that never got decided is purged too. One write
transaction, one `erasure_request` row (kind RETENTION) and one audit event (actor SYSTEM) per
project that had something to purge; a dry run counts the same things in a read transaction and
writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.clock import utcnow
from app.compliance import audit
from app.db import unit_of_work
from app.discussion.models import Comment
from app.erasure.models import ErasureKind, ErasureRequest
from app.erasure.scrub import CHUNK, Counts, scrub_items
from app.errors import DomainError
from app.ids import new_id
from app.ingestion.models import Item
from app.projects.models import Project
from app.workflow.models import Label

AUDIT_ACTION = "retention.apply"


@dataclass
class Purge:
    """What retention did (or, in a dry run, would do) in one project."""

    project_id: uuid.UUID
    project_name: str
    retention_days: int
    cutoff: datetime
    items: int
    labels: int
    comments: int
    erasure_id: uuid.UUID | None = None  # None in a dry run, or when nothing was due


@dataclass(frozen=True)
class _Due:
    project: Project
    cutoff: datetime
    item_ids: list[uuid.UUID]


async def _projects(session: AsyncSession, project: str | None) -> list[Project]:
    if project is None:
        stmt = select(Project).where(col(Project.retention_days).is_not(None)).order_by(col(Project.name))
        return list(await session.scalars(stmt))
    try:
        found = await session.get(Project, uuid.UUID(project))
    except ValueError:
        found = await session.scalar(select(Project).where(Project.name == project))
    if found is None:
        raise DomainError.single("NOT_FOUND", f"no project {project!r} (give its id or its name)", "project")
    if found.retention_days is None:
        raise DomainError.single(
            "NOT_FOUND", f"project {found.name!r} keeps its content forever (no retention period set)", "project"
        )
    return [found]


async def plan(session: AsyncSession, project: str | None, now: datetime) -> list[_Due]:
    """Per project with a retention period (or the one named), the items past it not yet erased."""
    due: list[_Due] = []
    for row in await _projects(session, project):
        assert row.retention_days is not None
        cutoff = now - timedelta(days=row.retention_days)
        ids = await session.scalars(
            select(Item.id)
            .where(col(Item.project_id) == row.id, col(Item.created_at) < cutoff, col(Item.erased_at).is_(None))
            .order_by(col(Item.id))
        )
        due.append(_Due(row, cutoff, list(ids)))
    return due


async def _count(session: AsyncSession, model: type[Label] | type[Comment], ids: Sequence[uuid.UUID]) -> int:
    total = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        total += await session.scalar(select(func.count()).select_from(model).where(col(model.item_id).in_(chunk))) or 0
    return total


async def apply(
    sessions: async_sessionmaker[AsyncSession],
    *,
    dry_run: bool,
    project: str | None = None,
    on_plan: Callable[[int], None] | None = None,
    advance: Callable[[int], None] | None = None,
) -> list[Purge]:
    """Purge (or, dry, count) what is past retention; `on_plan` gets the number of items due,
    `advance` each chunk done, for a progress bar."""
    now = utcnow()
    async with unit_of_work(sessions, write=False) as session:
        due = await plan(session, project, now)
        report: list[Purge] = []
        for entry in due:
            report.append(
                Purge(
                    entry.project.id,
                    entry.project.name,
                    entry.project.retention_days or 0,
                    entry.cutoff,
                    len(entry.item_ids),
                    await _count(session, Label, entry.item_ids),
                    await _count(session, Comment, entry.item_ids),
                )
            )
    if on_plan is not None:
        on_plan(sum(len(entry.item_ids) for entry in due))
    if dry_run:
        if advance is not None:
            advance(sum(len(entry.item_ids) for entry in due))
        return report
    for entry, purge in zip(due, report, strict=True):
        if not entry.item_ids:
            continue
        async with unit_of_work(sessions, write=True) as session:
            # Items erased meanwhile (an eraseSubject) are left as they are.
            ids: list[uuid.UUID] = []
            for start in range(0, len(entry.item_ids), CHUNK):
                chunk = entry.item_ids[start : start + CHUNK]
                ids += await session.scalars(
                    select(Item.id).where(col(Item.id).in_(chunk), col(Item.erased_at).is_(None))
                )
            if not ids:
                continue
            request = ErasureRequest(
                id=new_id(),
                kind=ErasureKind.RETENTION,
                project_id=entry.project.id,
                reason=f"retention: content kept {purge.retention_days} days",
                requested_at=now,
            )
            session.add(request)
            await session.flush()
            counts = Counts()
            for start in range(0, len(ids), CHUNK):
                part = await scrub_items(session, ids[start : start + CHUNK], request.id, None, now)
                _add(counts, part)
                if advance is not None:
                    advance(len(ids[start : start + CHUNK]))
            request.counts = counts.as_json()
            details = {**counts.as_json(), "retentionDays": purge.retention_days, "cutoff": entry.cutoff.isoformat()}
            await audit.record(
                session,
                None,
                AUDIT_ACTION,
                "ErasureRequest",
                request.id,
                project_id=entry.project.id,
                request={"command": "retention apply", "project": str(entry.project.id), "cutoff": details["cutoff"]},
                details=details,
            )
            purge.erasure_id = request.id
            purge.items, purge.labels, purge.comments = counts.items, counts.labels, counts.comments
    return report


def _add(total: Counts, part: Counts) -> None:
    for name, value in vars(part).items():
        if isinstance(value, int):
            setattr(total, name, getattr(total, name) + value)
