"""The JSONL export: one line per final item, its value and provenance, streamed in batches.
Its records (``export_records``) are what every other format (app/exports/formats.py) renders.

A line carries what its reader may read (``Reader``). With ``label read`` in the project: the
item's labels (value, annotator, status), the review (verdict, comment) and who decided. Without
it (an ml_service account): the final value and its provenance by id only (label ids with the
schema and guideline versions they were made under, the review id, the decision's method and
time), and no person. ``data`` and ``metadata`` need ``item read``.

Consent (app/consent) is read at export time: an item imported under a consent record is exported
only while the record is in force (not revoked, not expired) and, for an export for a `purpose`
(`?purpose=model_training`), lists that purpose. An item without a record is exported unless the
project requires consent (then it has no basis: imported before the project required it).
"""

from __future__ import annotations

import enum
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select  # sqlmodel's select types at most four columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.access import note as access
from app.auth.models import User
from app.clock import utcnow
from app.consent import reads as consent_reads
from app.guidelines.models import GuidelineVersion
from app.ingestion.models import Item, ItemStatus
from app.lineage.models import DatasetSnapshot, DatasetSnapshotItem
from app.projects.models import Project
from app.taxonomy.mapping import remap_through
from app.taxonomy.models import LabelSchemaVersion
from app.taxonomy.versions import version_chain_at
from app.workflow.models import Decision, Label, Review

BATCH = 500
SELECT_BATCH = 2_000  # the snapshot's rows: ids and versions only


@dataclass(frozen=True)
class Reader:
    """What the caller may read in the project."""

    labels: bool  # individual labels, reviews and the people behind them
    items: bool  # item content
    purpose: str | None = None  # what the export is for: items whose consent does not cover it stay out
    consent_required: bool = False  # the project's: then an item without a consent record stays out


def accepted_purposes(project: Project) -> set[str]:
    """The purposes an export may name: the standard ones and the project's own."""
    return set(consent_reads.STANDARD_PURPOSES) | set(project.consent_purposes or [])


# One exported row: (item, the decision in force then, its version, its schema version's row id).
Row = tuple[uuid.UUID, uuid.UUID, int, uuid.UUID]


def exportable(project_id: uuid.UUID) -> list[ColumnElement[bool]]:
    """The decisions an export may contain before consent is checked: in force, of items not withdrawn."""
    return [
        col(Decision.project_id) == project_id,
        col(Decision.superseded_at).is_(None),
        col(Item.status) != ItemStatus.WITHDRAWN,
    ]


async def consented_rows(session: AsyncSession, project_id: uuid.UUID, reader: Reader) -> AsyncIterator[list[Row]]:
    """The exportable decisions of items imported under a consent record that covers the export
    now, in item order, a batch at a time (two queries per batch). Items without a record are
    exported unless the project requires consent: one INSERT ... SELECT takes those
    (lineage/service.create_snapshot). Columns only: the snapshot stores these rows, and the
    export streams them."""
    after: uuid.UUID | None = None
    while True:
        stmt = (
            sa_select(
                col(Decision.item_id),
                col(Decision.id),
                col(Decision.version),
                col(Decision.schema_version_id),
                col(Item.consent_id),
            )
            .join(Item, col(Item.id) == col(Decision.item_id))
            .where(*exportable(project_id), col(Item.consent_id).is_not(None))
            .order_by(col(Decision.item_id))
            .limit(SELECT_BATCH)
        )
        if after is not None:
            stmt = stmt.where(col(Decision.item_id) > after)
        rows = (await session.execute(stmt)).all()
        if not rows:
            return
        after = rows[-1][0]
        covered = await _coverage(session, [row[4] for row in rows], reader)
        yield [
            (item_id, decision_id, version, schema_id)
            for item_id, decision_id, version, schema_id, consent in rows
            if covered(consent)
        ]


async def export_lines(session: AsyncSession, snapshot: DatasetSnapshot, reader: Reader) -> AsyncIterator[bytes]:
    """The snapshot's lines in item order (see ``export_records``), a batch at a time."""
    async for records in export_records(session, snapshot, reader):
        yield ("\n".join(json.dumps(record, default=str) for record in records) + "\n").encode()


async def export_records(
    session: AsyncSession, snapshot: DatasetSnapshot, reader: Reader
) -> AsyncIterator[list[dict[str, Any]]]:
    """The snapshot's records (a JSON Lines line each) in item order, rendered from its stored
    decision versions; each batch costs a fixed handful of queries. Every export format renders
    these. The labels listed are those made by the snapshot's time, and active_value is in the
    terms of the schema version in force then, so rendering it again gives the same bytes, except
    for tombstones: an item withdrawn since (its consent revoked), or whose consent no longer covers
    the snapshot's purpose, comes back as a tombstone record without content (erased content must
    never come back; see ``tombstone``)."""
    versions = await _versions(session, snapshot.project_id)
    chain = await version_chain_at(session, snapshot.project_id, snapshot.active_schema_version)
    after: uuid.UUID | None = None
    while True:
        stmt = (
            select(Decision, Item)
            .join(DatasetSnapshotItem, col(DatasetSnapshotItem.decision_id) == col(Decision.id))
            .join(Item, col(Item.id) == col(DatasetSnapshotItem.item_id))
            .where(col(DatasetSnapshotItem.snapshot_id) == snapshot.id)
            .order_by(col(DatasetSnapshotItem.item_id))
            .limit(BATCH)
        )
        if after is not None:
            stmt = stmt.where(col(DatasetSnapshotItem.item_id) > after)
        rows = (await session.execute(stmt)).all()
        if not rows:
            return
        after = rows[-1][1].id
        ended = await tombstones(session, [item for _, item in rows], snapshot.purpose)
        live = [(final, item) for final, item in rows if item.id not in ended]
        item_ids = [item.id for _, item in live]
        if reader.items:
            access.read_many("Item", item_ids)
        labels: dict[uuid.UUID, list[Label]] = defaultdict(list)
        for label in await session.scalars(
            select(Label)
            .where(col(Label.item_id).in_(item_ids), col(Label.created_at) <= snapshot.created_at)
            .order_by(col(Label.id))
        ):
            labels[label.item_id].append(label)
        reviews = {
            r.id: r
            for r in await session.scalars(
                select(Review).where(col(Review.id).in_([f.review_id for f, _ in live if f.review_id]))
            )
        }
        users: dict[uuid.UUID, str] = {}
        if reader.labels:
            user_ids = {lb.author_id for group in labels.values() for lb in group} | {
                f.decided_by for f, _ in live if f.decided_by
            }
            found = await session.scalars(select(User).where(col(User.id).in_(user_ids)))
            users = {u.id: u.username for u in found}
        yield [
            {"item_id": str(item.id), "decision_version": final.version, "tombstone": ended[item.id]}
            if item.id in ended
            else {
                **_line(
                    final,
                    item,
                    labels[item.id],
                    reviews.get(final.review_id) if final.review_id else None,
                    users,
                    versions,
                    reader,
                ),
                # The decision in the terms of the schema in force, for training on today's classes.
                "active_schema_version": chain.active.version,
                "active_value": remap_through(final.value, chain.steps_from(final.schema_version_id)),
            }
            for final, item in rows
        ]


class Tombstone(enum.StrEnum):
    """Why a snapshot's line no longer carries its item."""

    WITHDRAWN = "WITHDRAWN"  # the item was withdrawn (its consent revoked)
    CONSENT_ENDED = "CONSENT_ENDED"  # its consent expired, or no longer lists the snapshot's purpose
    ERASED = "ERASED"  # its content was erased (eraseSubject, retention): it must never come back


async def tombstones(session: AsyncSession, items: Sequence[Item], purpose: str | None) -> dict[uuid.UUID, str]:
    """The items of a batch whose content may not go out again now, with the reason (one query)."""
    consents = await consent_reads.of_items(session, [item.consent_id for item in items if item.consent_id])
    now = utcnow()
    ended: dict[uuid.UUID, str] = {}
    for item in items:
        if item.erased_at is not None:
            ended[item.id] = Tombstone.ERASED.value
        elif item.status == ItemStatus.WITHDRAWN:
            ended[item.id] = Tombstone.WITHDRAWN.value
        elif item.consent_id is not None:
            consent = consents.get(item.consent_id)
            if consent is None or not consent.covers(purpose, now):
                ended[item.id] = Tombstone.CONSENT_ENDED.value
    return ended


async def _coverage(
    session: AsyncSession, consent_ids: Sequence[uuid.UUID | None], reader: Reader
) -> Callable[[uuid.UUID | None], bool]:
    """Whether an item imported under a consent record (or none) may be exported for the reader's purpose now."""
    consents = await consent_reads.of_items(session, [c for c in consent_ids if c is not None])
    now = utcnow()

    def covered(consent_id: uuid.UUID | None) -> bool:
        if consent_id is None:
            return not reader.consent_required
        consent = consents.get(consent_id)
        return consent is not None and consent.covers(reader.purpose, now)

    return covered


def _line(
    final: Decision,
    item: Item,
    labels: list[Label],
    review: Review | None,
    users: dict[uuid.UUID, str],
    versions: dict[uuid.UUID, int],
    reader: Reader,
) -> dict[str, Any]:
    line = _full_line(final, item, labels, review, users, versions)
    if not reader.items:
        del line["data"], line["metadata"]
    if not reader.labels:
        del line["decided_by"]
        line["review"] = None if review is None else {"id": str(review.id)}
        line["labels"] = [{key: entry[key] for key in PROVENANCE} for entry in line["labels"]]
    return line


# What a label entry keeps for a reader who may not read labels: which label, under which versions.
PROVENANCE = ("id", "schema_version", "guideline_version")


def _full_line(
    final: Decision,
    item: Item,
    labels: list[Label],
    review: Review | None,
    users: dict[uuid.UUID, str],
    versions: dict[uuid.UUID, int],
) -> dict[str, Any]:
    return {
        "item_id": str(item.id),
        "external_id": item.external_id,
        "content_hash": item.content_hash,
        "data": item.data,
        "metadata": item.meta,
        "value": final.value,
        "method": final.method.value,
        # The decision in force: its version (earlier ones were superseded), what proposed it, how sure.
        "decision_version": final.version,
        "aggregation": final.aggregation.value if final.aggregation else None,
        "confidence": final.confidence,
        "agreement": final.agreement,
        "schema_version": versions.get(final.schema_version_id),
        "guideline_version": versions.get(final.guideline_version_id) if final.guideline_version_id else None,
        "decided_by": users.get(final.decided_by) if final.decided_by else None,
        "decided_at": final.decided_at.isoformat(),
        "review": None
        if review is None
        else {"id": str(review.id), "verdict": review.verdict.value, "comment": review.comment},
        "labels": [
            {
                "id": str(label.id),
                "annotator": users.get(label.author_id),
                "value": label.value,
                "status": label.status.value,
                "schema_version": versions.get(label.schema_version_id),
                "guideline_version": versions.get(label.guideline_version_id) if label.guideline_version_id else None,
                "time_spent_ms": label.time_spent_ms,
                "created_at": label.created_at.isoformat(),
            }
            for label in labels
        ],
    }


async def _versions(session: AsyncSession, project_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Schema and guideline version numbers by row id (ids are unique across both tables)."""
    found: dict[uuid.UUID, int] = {}
    for model in (LabelSchemaVersion, GuidelineVersion):
        rows = await session.execute(select(model.id, model.version).where(model.project_id == project_id))
        found.update(dict(rows.all()))
    return found
