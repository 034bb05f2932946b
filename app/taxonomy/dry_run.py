"""The impact of a proposed schema: every label and final label of the project, carried to the
proposed version through the approved mappings and the proposed one, and validated there."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ids import encode_global_id
from app.ingestion.models import Item
from app.taxonomy import schema_language
from app.taxonomy.impact import ImpactReport, Tally, TallyBuilder
from app.taxonomy.mapping import SchemaMapping
from app.taxonomy.versions import VersionChain
from app.workflow.models import Decision, Label

BATCH = 1_000


async def dry_run(
    session: AsyncSession,
    project_id: uuid.UUID,
    chain: VersionChain,
    mapping: SchemaMapping,
    proposed: schema_language.LabelSchema,
) -> ImpactReport:
    last: list[tuple[SchemaMapping, schema_language.LabelSchema]] = [(mapping, proposed)]
    steps = {v.id: chain.steps_from(v.id) + last for v in chain.versions}
    labels = await _tally(session, project_id, Label, "Label", steps, proposed.reads_item)
    finals = await _tally(session, project_id, Decision, "Item", steps, proposed.reads_item)
    return ImpactReport(labels=labels, final_labels=finals)


async def _tally(
    session: AsyncSession,
    project_id: uuid.UUID,
    model: type[Label] | type[Decision],
    subject: str,
    steps: dict[uuid.UUID, list[tuple[SchemaMapping, schema_language.LabelSchema]]],
    reads_item: bool,
) -> Tally:
    builder = TallyBuilder()
    # Labels are examples by their own id; a final label by its item's, the one thing it belongs to.
    subject_col = model.id if subject == "Label" else model.item_id
    columns: list[Any] = [col(model.id), subject_col, model.value, model.schema_version_id]
    if reads_item:
        columns += [Item.data, Item.meta]
    after: uuid.UUID | None = None
    while True:
        stmt = select(*columns).where(model.project_id == project_id).order_by(col(model.id)).limit(BATCH)
        if model is Decision:  # the final labels: decisions in force
            stmt = stmt.where(col(Decision.superseded_at).is_(None))
        if reads_item:
            stmt = stmt.join(Item, col(Item.id) == model.item_id)
        if after is not None:
            stmt = stmt.where(col(model.id) > after)
        rows = (await session.execute(stmt)).all()
        for row in rows:
            item = {"data": row[4], "metadata": row[5]} if reads_item else None
            builder.add(encode_global_id(subject, row[1]), row[2], steps[row[3]], item)
        if len(rows) < BATCH:
            return builder.build()
        after = rows[-1][0]
