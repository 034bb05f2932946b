"""What an actor may read of lineage: snapshots where it may export or read lineage, an item's
provenance where it may read lineage. Neither needs item read: ids, versions and people only."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.ingestion.models import Item
from app.lineage.models import DatasetSnapshot
from app.scopes import in_projects


def may_read_snapshots(actor: Actor, project_id: uuid.UUID) -> bool:
    return actor.can("export", "read", project_id) or actor.can("lineage", "read", project_id)


def snapshot_visible(actor: Actor) -> ColumnElement[bool]:
    column = col(DatasetSnapshot.project_id)
    return or_(in_projects(actor, column, "export", "read"), in_projects(actor, column, "lineage", "read"))


def readable_snapshots(actor: Actor) -> SelectOfScalar[DatasetSnapshot]:
    return select(DatasetSnapshot).where(snapshot_visible(actor))


async def get_snapshot(session: AsyncSession, actor: Actor, snapshot_id: uuid.UUID) -> DatasetSnapshot | None:
    return await session.scalar(readable_snapshots(actor).where(col(DatasetSnapshot.id) == snapshot_id))


async def lineage_item(session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> Item | None:
    """The item, where the actor may read its project's lineage; else None, as for a missing one."""
    return await session.scalar(
        select(Item).where(col(Item.id) == item_id, in_projects(actor, col(Item.project_id), "lineage", "read"))
    )
