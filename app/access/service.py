"""Reading access history: org-wide, for admins and compliance officers ((access, read)).

Answers "who viewed item X" (a resource filter) and "what did user U access last week" (an
actor and a time range). Newest first; the page continues below the cursor's event id (ids are
time-ordered). What this process has not written yet is flushed first.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select  # sqlmodel's select types at most four columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.access.models import AccessEvent, AccessResource, Channel, Outcome
from app.auth.actor import Actor


@dataclass(frozen=True)
class AccessFilter:
    actor_id: uuid.UUID | None = None
    resource: tuple[str, str] | None = None  # (type, id)
    since: datetime | None = None
    until: datetime | None = None
    outcome: Outcome | None = None
    channel: Channel | None = None


@dataclass(frozen=True)
class AccessPage:
    events: Sequence[AccessEvent]
    resources: dict[uuid.UUID, list[tuple[str, str, str]]]  # event -> (type, id, action), at most RESOURCES_SHOWN
    resource_counts: dict[uuid.UUID, int]


RESOURCES_SHOWN = 100


def may_read(actor: Actor) -> None:
    actor.require("access", "read")


async def list_access_events(
    session: AsyncSession, actor: Actor, where: AccessFilter, *, after: uuid.UUID | None, limit: int
) -> AccessPage:
    may_read(actor)
    stmt = select(AccessEvent).order_by(col(AccessEvent.id).desc()).limit(limit)
    if where.resource is not None:
        kind, pk = where.resource
        stmt = stmt.where(
            col(AccessEvent.id).in_(
                select(AccessResource.event_id).where(
                    col(AccessResource.resource_type) == kind, col(AccessResource.resource_id) == pk
                )
            )
        )
    if where.actor_id is not None:
        stmt = stmt.where(col(AccessEvent.actor_id) == where.actor_id)
    if where.since is not None:
        stmt = stmt.where(col(AccessEvent.occurred_at) >= where.since)
    if where.until is not None:
        stmt = stmt.where(col(AccessEvent.occurred_at) < where.until)
    if where.outcome is not None:
        stmt = stmt.where(col(AccessEvent.outcome) == where.outcome)
    if where.channel is not None:
        stmt = stmt.where(col(AccessEvent.channel) == where.channel)
    if after is not None:
        stmt = stmt.where(col(AccessEvent.id) < after)
    events = (await session.scalars(stmt)).all()
    resources: dict[uuid.UUID, list[tuple[str, str, str]]] = defaultdict(list)
    counts: dict[uuid.UUID, int] = {}
    if events:
        ids = [e.id for e in events]
        rank = (
            func.row_number()
            .over(
                partition_by=col(AccessResource.event_id),
                order_by=(col(AccessResource.resource_type), col(AccessResource.resource_id)),
            )
            .label("rank")
        )
        ranked = (
            sa_select(
                col(AccessResource.event_id),
                col(AccessResource.resource_type),
                col(AccessResource.resource_id),
                col(AccessResource.action),
                rank,
            )
            .where(col(AccessResource.event_id).in_(ids))
            .subquery()
        )
        shown = (
            select(ranked.c.event_id, ranked.c.resource_type, ranked.c.resource_id, ranked.c.action)
            .where(ranked.c.rank <= RESOURCES_SHOWN)
            .order_by(ranked.c.event_id, ranked.c.rank)
        )
        for event_id, kind, pk, action in (await session.execute(shown)).all():
            resources[event_id].append((kind, pk, action))
        counted = (
            select(col(AccessResource.event_id), func.count())
            .where(col(AccessResource.event_id).in_(ids))
            .group_by(col(AccessResource.event_id))
        )
        counts = dict((await session.execute(counted)).all())
    return AccessPage(events, resources, counts)
