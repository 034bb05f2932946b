"""Lineage in GraphQL: dataset snapshots (datasetSnapshots, datasetSnapshot, their items and
diffs) and an item's provenance graph (lineage). Ids, versions, kinds and times: never content."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.lineage import models, provenance, reads, service
from app.projects import reads as project_reads
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import bad_input
from app.schema.identity import User, load_user
from app.schema.node import decode_id, global_id


@strawberry.type(description="One item a snapshot contained: which decision version, under which schema version.")
class DatasetSnapshotItem:
    item_id: strawberry.ID
    decision_id: strawberry.ID
    decision_version: int
    schema_version: int

    @classmethod
    def of(cls, row: models.DatasetSnapshotItem) -> DatasetSnapshotItem:
        return cls(
            item_id=global_id("Item", row.item_id),
            decision_id=global_id("Decision", row.decision_id),
            decision_version=row.decision_version,
            schema_version=row.schema_version,
        )


@strawberry.type(description="An item whose presence or decision version differs between two snapshots.")
class SnapshotChange:
    item_id: strawberry.ID
    before: int | None = strawberry.field(description="Its decision version in the older snapshot; null: added.")
    after: int | None = strawberry.field(description="Its decision version in the newer snapshot; null: removed.")


@strawberry.type(
    description=f"What changed from an older snapshot to a newer one of the same project: whole counts, and "
    f"at most {service.DIFF_SHOWN} items per list, in item order."
)
class SnapshotDiff:
    older_id: strawberry.ID
    newer_id: strawberry.ID
    added_count: int
    removed_count: int
    changed_count: int = strawberry.field(description="Items in both whose decision version changed.")
    unchanged_count: int
    added: list[SnapshotChange]
    removed: list[SnapshotChange]
    changed: list[SnapshotChange]

    @classmethod
    def of(cls, d: service.Diff) -> SnapshotDiff:
        def changes(rows: list[service.Change]) -> list[SnapshotChange]:
            return [SnapshotChange(item_id=global_id("Item", c.item_id), before=c.before, after=c.after) for c in rows]

        return cls(
            older_id=global_id("DatasetSnapshot", d.older.id),
            newer_id=global_id("DatasetSnapshot", d.newer.id),
            added_count=d.added_count,
            removed_count=d.removed_count,
            changed_count=d.changed_count,
            unchanged_count=d.unchanged_count,
            added=changes(d.added),
            removed=changes(d.removed),
            changed=changes(d.changed),
        )


@strawberry.type(
    description="A recorded export: who made it, when, for what, and exactly which decision versions it held. "
    "GET downloadPath again for the same bytes (tombstones excepted: see contentErased)."
)
class DatasetSnapshot:
    id: strawberry.ID
    project_id: strawberry.ID
    created_at: datetime
    purpose: str | None
    filters: JSON
    format: str = strawberry.field(
        description="The format it was first exported in: jsonl, csv, parquet, hf, label-studio, coco, conll or spacy. "
        "Any format renders it again from the same rows: GET /export/snapshots/{id}/{format}."
    )
    item_count: int
    content_digest: str | None = strawberry.field(
        description="SHA-256 (hex) of the bytes first streamed; null if that stream broke off."
    )
    active_schema_version: int = strawberry.field(description="The schema version in force: active_value's terms.")
    with_item_content: bool
    with_labels: bool
    download_path: str = strawberry.field(description="Where to download it again, in the format it was made in.")
    _row: strawberry.Private[models.DatasetSnapshot]

    @classmethod
    def of(cls, row: models.DatasetSnapshot) -> DatasetSnapshot:
        gid = global_id("DatasetSnapshot", row.id)
        return cls(
            id=gid,
            project_id=global_id("Project", row.project_id),
            created_at=row.created_at,
            purpose=row.purpose,
            filters=JSON(row.filters),
            format=row.format,
            item_count=row.item_count,
            content_digest=row.content_digest,
            active_schema_version=row.active_schema_version,
            with_item_content=row.with_items,
            with_labels=row.with_labels,
            download_path=f"/export/snapshots/{gid}.jsonl"
            if row.format == "jsonl"
            else f"/export/snapshots/{gid}/{row.format}",
            _row=row,
        )

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return await load_user(info, self._row.created_by)

    @strawberry.field(
        description="True when some of its items may not go out again (withdrawn: consent revoked; consent "
        "ended; later, erased): a download then has tombstone lines there, and its digest differs."
    )
    async def content_erased(self, info: Info) -> bool:
        async with info.context.db() as session:
            return await service.tombstoned(session, self._row) > 0

    @strawberry.field(description="What it contained, in item order.")
    async def items(self, info: Info, first: int = 50, after: str | None = None) -> Connection[DatasetSnapshotItem]:
        limit = page_size(first)
        async with info.context.db() as session:
            rows = await service.snapshot_items(session, self._row, after=uuid_cursor(after), limit=limit + 1)
        return connection(rows, limit, key=lambda r: r.item_id, node=DatasetSnapshotItem.of, after=after)

    @strawberry.field(
        description="What changed since `previous` (another snapshot of the project; by default the one made "
        "just before this one, D-1). Null when there is no such snapshot."
    )
    async def changes_since(self, info: Info, previous: strawberry.ID | None = None) -> SnapshotDiff | None:
        async with info.context.db() as session:
            if previous is None:
                older = await service.previous_snapshot(session, self._row)
            else:
                older = await reads.get_snapshot(
                    session, info.context.actor, decode_id(previous, "DatasetSnapshot", "previous")
                )
            if older is None:
                return None
            return await _diff(session, older, self._row)

    @strawberry.field(description="The changes from this snapshot to `other` (of the same project).")
    async def diff(self, info: Info, other: strawberry.ID) -> SnapshotDiff | None:
        async with info.context.db() as session:
            newer = await reads.get_snapshot(session, info.context.actor, decode_id(other, "DatasetSnapshot", "other"))
            return None if newer is None else await _diff(session, self._row, newer)


async def _diff(session: AsyncSession, older: models.DatasetSnapshot, newer: models.DatasetSnapshot) -> SnapshotDiff:
    try:
        return SnapshotDiff.of(await service.diff(session, older, newer))
    except service.NotSameProject as exc:
        raise bad_input("Both snapshots must be of the same project.") from exc


@strawberry.type(description="A node of a provenance graph: an entity, an activity or an agent.")
class ProvNode:
    id: str = strawberry.field(description="Stable: lg:<kind>/<global id>.")
    kind: str
    label: str = strawberry.field(description="A kind's name and version; never content or free text.")
    attributes: JSON


@strawberry.type(description="A PROV relation: used, wasGeneratedBy, wasAssociatedWith or wasDerivedFrom.")
class ProvRelation:
    kind: str
    from_: str = strawberry.field(name="from")
    to: str


@strawberry.type(description="An item's provenance in W3C PROV terms (GET /lineage/{itemId}.prov.json for PROV-JSON).")
class ProvGraph:
    entities: list[ProvNode]
    activities: list[ProvNode]
    agents: list[ProvNode]
    relations: list[ProvRelation]

    @classmethod
    def of(cls, graph: provenance.Graph) -> ProvGraph:
        def nodes(found: dict[str, provenance.Node]) -> list[ProvNode]:
            return [
                ProvNode(id=n.id, kind=n.kind, label=n.label, attributes=JSON(n.attributes)) for n in found.values()
            ]

        return cls(
            entities=nodes(graph.entities),
            activities=nodes(graph.activities),
            agents=nodes(graph.agents),
            relations=[ProvRelation(kind=k, from_=a, to=b) for k, a, b in graph.relations],
        )


@strawberry.type
class LineageQuery:
    @strawberry.field(
        description="The project's dataset snapshots, newest first; with `itemId`, those that contain the item. "
        "Those who may export or read lineage (admins, managers, compliance officers, ML services); null "
        "for a project you cannot read, FORBIDDEN for one you may not."
    )
    async def dataset_snapshots(
        self,
        info: Info,
        project_id: strawberry.ID,
        item_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[DatasetSnapshot] | None:
        limit = page_size(first)
        cursor = uuid_cursor(after)
        item = decode_id(item_id, "Item", "itemId") if item_id else None
        async with info.context.db() as session:
            project = await project_reads.get_project(session, info.context.actor, decode_id(project_id, "Project"))
            if project is None:
                return None
            rows = await service.list_snapshots(
                session, info.context.actor, project, item_id=item, after=cursor, limit=limit + 1
            )
        return connection(rows, limit, key=lambda r: r.id, node=DatasetSnapshot.of, after=after)

    @strawberry.field(description="A dataset snapshot; null when it does not exist or you may not read it.")
    async def dataset_snapshot(self, info: Info, id: strawberry.ID) -> DatasetSnapshot | None:
        async with info.context.db() as session:
            row = await reads.get_snapshot(session, info.context.actor, decode_id(id, "DatasetSnapshot"))
        return DatasetSnapshot.of(row) if row else None

    @strawberry.field(
        description="An item's provenance graph: admins, managers and compliance officers (lineage read); null "
        "for everyone else, as for a missing item."
    )
    async def lineage(self, info: Info, item_id: strawberry.ID) -> ProvGraph | None:
        pk: uuid.UUID = decode_id(item_id, "Item", "itemId")
        async with info.context.db() as session:
            graph = await service.lineage(session, info.context.actor, pk)
        return ProvGraph.of(graph) if graph else None
