"""Reading items: where one may read items, and the items of one's own tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.ingestion.models import Item, ItemStatus
from app.projects.models import Project
from app.scopes import in_projects
from app.workflow.models import Assignment


def item_visible(actor: Actor) -> ColumnElement[bool]:
    own_task = exists().where(col(Assignment.item_id) == col(Item.id), col(Assignment.annotator_id) == actor.id)
    return or_(in_projects(actor, col(Item.project_id), "item", "read"), own_task)


def readable_items(actor: Actor) -> SelectOfScalar[Item]:
    return select(Item).where(item_visible(actor))


async def get_item(session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> Item | None:
    return await session.scalar(readable_items(actor).where(col(Item.id) == item_id))


async def list_items(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    *,
    status: ItemStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[Item]:
    """The project's items oldest first; the list needs the right to read items (FORBIDDEN on the field)."""
    actor.require("item", "read", project.id)
    stmt = select(Item).where(Item.project_id == project.id).order_by(col(Item.id)).limit(limit)
    if status is not None:
        stmt = stmt.where(Item.status == status)
    if after is not None:
        stmt = stmt.where(col(Item.id) > after)
    return (await session.scalars(stmt)).all()


async def count_items(session: AsyncSession, actor: Actor, project: Project) -> dict[ItemStatus, int]:
    """How many items are in each state (every state present, zeros included)."""
    actor.require("item", "read", project.id)
    rows = await session.execute(
        select(col(Item.status), func.count()).where(Item.project_id == project.id).group_by(col(Item.status))
    )
    counts: dict[ItemStatus, int] = dict.fromkeys(ItemStatus, 0)
    counts.update({ItemStatus(status): n for status, n in rows.all()})
    return counts


@dataclass(frozen=True)
class Lineage:
    """An item's governance record: where it came from and what anonymization did, no content."""

    id: uuid.UUID
    external_id: str
    content_hash: str
    anonymizer: str | None
    anonymizer_version: str | None
    redactions: dict[str, int] | None
    created_at: datetime


async def list_lineage(
    session: AsyncSession, actor: Actor, project: Project, *, after: uuid.UUID | None, limit: int
) -> list[Lineage]:
    """The project's items' lineage oldest first, for those with `lineage read` (compliance
    officers too, who read no item content) and those who export its training data (`export
    read`: ML services dedupe by content hash): the columns below, never data or metadata."""
    if not actor.can("export", "read", project.id):
        actor.require("lineage", "read", project.id)
    stmt = (
        select_columns(
            col(Item.id),
            col(Item.external_id),
            col(Item.content_hash),
            col(Item.anonymizer),
            col(Item.anonymizer_version),
            col(Item.redactions),
            col(Item.created_at),
        )
        .where(col(Item.project_id) == project.id)
        .order_by(col(Item.id))
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(col(Item.id) > after)
    return [Lineage(*row) for row in (await session.execute(stmt)).all()]
