"""Dataset snapshots: written by every export, listed, paged and compared.

`create_snapshot` runs in the export's write unit, before a byte is streamed: it selects the rows
the export will contain (exports/jsonl.select_rows), stores them in batches, and the export then
streams exactly those rows. Reading snapshots needs `export read` or `lineage read` in the project
(compliance officers: metadata, item ids and versions, never content).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Uuid, insert, literal, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.errors import Forbidden
from app.exports.jsonl import Reader, consented_rows, exportable, tombstones
from app.ingestion.models import Item
from app.lineage import provenance, reads
from app.lineage.models import DatasetSnapshot, DatasetSnapshotItem
from app.projects.models import Project
from app.taxonomy.models import LabelSchemaVersion
from app.workflow.models import Decision

# Shown per list of a diff; the counts are always whole.
DIFF_SHOWN = 100


async def create_snapshot(
    session: AsyncSession, actor: Actor, project: Project, reader: Reader, *, format: str = "jsonl"
) -> DatasetSnapshot:
    """Record what an export for `reader` in `format` contains now (the caller has checked export read)."""
    snapshot = DatasetSnapshot(
        project_id=project.id,
        created_by=actor.id,
        purpose=reader.purpose,
        format=format,
        filters={"purpose": reader.purpose, "decisions": "in force", "consentRequired": reader.consent_required},
        active_schema_version=project.schema_version,
        with_items=reader.items,
        with_labels=reader.labels,
    )
    session.add(snapshot)
    await session.flush()
    number = (
        sa_select(col(LabelSchemaVersion.version))
        .where(col(LabelSchemaVersion.id) == col(Decision.schema_version_id))
        .scalar_subquery()
    )
    columns = ["snapshot_id", "item_id", "decision_id", "decision_version", "schema_version"]
    count = 0
    if not reader.consent_required:  # items without a consent record: all of them, in one statement
        rows = (
            sa_select(
                literal(snapshot.id, Uuid()), col(Decision.item_id), col(Decision.id), col(Decision.version), number
            )
            .join(Item, col(Item.id) == col(Decision.item_id))
            .where(*exportable(project.id), col(Item.consent_id).is_(None))
        )
        result = await session.execute(insert(DatasetSnapshotItem).from_select(columns, rows))
        count += result.rowcount  # type: ignore[attr-defined]
    numbers = dict(
        (
            await session.execute(
                sa_select(col(LabelSchemaVersion.id), col(LabelSchemaVersion.version)).where(
                    col(LabelSchemaVersion.project_id) == project.id
                )
            )
        ).all()
    )
    async for batch in consented_rows(session, project.id, reader):
        if not batch:
            continue
        await session.execute(
            insert(DatasetSnapshotItem),
            [dict(zip(columns, (snapshot.id, i, d, v, numbers[s]), strict=True)) for i, d, v, s in batch],
        )
        count += len(batch)
    snapshot.item_count = count
    await session.flush()
    return snapshot


async def record_digest(session: AsyncSession, snapshot_id: uuid.UUID, digest: str) -> None:
    """The SHA-256 of the bytes the export streamed, once it streamed them all (first stream only)."""
    await session.execute(
        update(DatasetSnapshot)
        .where(col(DatasetSnapshot.id) == snapshot_id, col(DatasetSnapshot.content_digest).is_(None))
        .values(content_digest=digest)
    )


def _require(actor: Actor, project_id: uuid.UUID) -> None:
    if not reads.may_read_snapshots(actor, project_id):
        raise Forbidden("You may not read this project's dataset snapshots.")


async def list_snapshots(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    *,
    item_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[DatasetSnapshot]:
    """The project's snapshots, newest first; with `item_id`, those that contain the item."""
    _require(actor, project.id)
    stmt = select(DatasetSnapshot).where(col(DatasetSnapshot.project_id) == project.id)
    if item_id is not None:
        stmt = stmt.where(
            col(DatasetSnapshot.id).in_(
                select(DatasetSnapshotItem.snapshot_id).where(col(DatasetSnapshotItem.item_id) == item_id)
            )
        )
    if after is not None:
        stmt = stmt.where(col(DatasetSnapshot.id) < after)
    return (await session.scalars(stmt.order_by(col(DatasetSnapshot.id).desc()).limit(limit))).all()


async def snapshot_items(
    session: AsyncSession, snapshot: DatasetSnapshot, *, after: uuid.UUID | None, limit: int
) -> Sequence[DatasetSnapshotItem]:
    """A page of what the snapshot contained, in item order (the snapshot was read through reads)."""
    stmt = select(DatasetSnapshotItem).where(col(DatasetSnapshotItem.snapshot_id) == snapshot.id)
    if after is not None:
        stmt = stmt.where(col(DatasetSnapshotItem.item_id) > after)
    return (await session.scalars(stmt.order_by(col(DatasetSnapshotItem.item_id)).limit(limit))).all()


async def previous_snapshot(session: AsyncSession, snapshot: DatasetSnapshot) -> DatasetSnapshot | None:
    """D-1: the project's snapshot made just before this one."""
    return await session.scalar(
        select(DatasetSnapshot)
        .where(col(DatasetSnapshot.project_id) == snapshot.project_id, col(DatasetSnapshot.id) < snapshot.id)
        .order_by(col(DatasetSnapshot.id).desc())
        .limit(1)
    )


async def tombstoned(session: AsyncSession, snapshot: DatasetSnapshot) -> int:
    """How many of the snapshot's items would come back as tombstones now (withdrawn, consent ended)."""
    count = 0
    after: uuid.UUID | None = None
    while True:
        stmt = (
            select(Item)
            .join(DatasetSnapshotItem, col(DatasetSnapshotItem.item_id) == col(Item.id))
            .where(col(DatasetSnapshotItem.snapshot_id) == snapshot.id)
            .order_by(col(Item.id))
            .limit(2_000)
        )
        if after is not None:
            stmt = stmt.where(col(Item.id) > after)
        items = (await session.scalars(stmt)).all()
        if not items:
            return count
        after = items[-1].id
        count += len(await tombstones(session, items, snapshot.purpose))


@dataclass(frozen=True)
class Change:
    item_id: uuid.UUID
    before: int | None  # decision version in the older snapshot (None: added)
    after: int | None  # in the newer one (None: removed)


@dataclass(frozen=True)
class Diff:
    older: DatasetSnapshot
    newer: DatasetSnapshot
    added_count: int
    removed_count: int
    changed_count: int
    unchanged_count: int
    added: list[Change]  # each at most DIFF_SHOWN, in item order
    removed: list[Change]
    changed: list[Change]


class NotSameProject(ValueError):
    """Two snapshots of different projects have no diff."""


async def diff(session: AsyncSession, older: DatasetSnapshot, newer: DatasetSnapshot) -> Diff:
    """Items added, removed, and whose decision version changed from `older` to `newer`."""
    if older.project_id != newer.project_id:
        raise NotSameProject()
    before = await _versions_of(session, older.id)
    now = await _versions_of(session, newer.id)
    added = sorted(set(now) - set(before), key=str)
    removed = sorted(set(before) - set(now), key=str)
    changed = sorted((i for i in set(now) & set(before) if now[i] != before[i]), key=str)
    return Diff(
        older=older,
        newer=newer,
        added_count=len(added),
        removed_count=len(removed),
        changed_count=len(changed),
        unchanged_count=len(set(now) & set(before)) - len(changed),
        added=[Change(i, None, now[i]) for i in added[:DIFF_SHOWN]],
        removed=[Change(i, before[i], None) for i in removed[:DIFF_SHOWN]],
        changed=[Change(i, before[i], now[i]) for i in changed[:DIFF_SHOWN]],
    )


async def _versions_of(session: AsyncSession, snapshot_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        sa_select(col(DatasetSnapshotItem.item_id), col(DatasetSnapshotItem.decision_version)).where(
            col(DatasetSnapshotItem.snapshot_id) == snapshot_id
        )
    )
    return dict(rows.all())


async def lineage(session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> provenance.Graph | None:
    """The item's provenance graph; None when it is missing or its project's lineage is not readable."""
    item = await reads.lineage_item(session, actor, item_id)
    return None if item is None else await provenance.build(session, item)


prov_json = provenance.prov_json
