"""A project's schema versions as a chain: how a value made under any version reads under the
version in force, one approved mapping at a time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.projects.models import Project
from app.taxonomy import schema_language
from app.taxonomy.mapping import SchemaMapping
from app.taxonomy.models import LabelSchemaVersion

Step = tuple[SchemaMapping, schema_language.LabelSchema]


@dataclass(frozen=True)
class Version:
    id: uuid.UUID
    version: int
    definition: Mapping[str, Any]
    schema: schema_language.LabelSchema
    # Carries values of version - 1 into this one (identity for the first version).
    mapping: SchemaMapping


@dataclass(frozen=True)
class VersionChain:
    versions: tuple[Version, ...]  # by version number, the last one in force

    @property
    def active(self) -> Version:
        return self.versions[-1]

    def steps_from(self, version_id: uuid.UUID) -> list[Step]:
        """The mappings a value made under `version_id` goes through to read under the active version."""
        index = next((i for i, v in enumerate(self.versions) if v.id == version_id), len(self.versions) - 1)
        return [(v.mapping, v.schema) for v in self.versions[index + 1 :]]

    def number_of(self, version_id: uuid.UUID) -> int | None:
        return next((v.version for v in self.versions if v.id == version_id), None)

    def mapping_between(self, old: int, new: int) -> SchemaMapping:
        """How values of version `old` carry to version `new` (old <= new, both in the chain)."""
        by_number = {v.version: v for v in self.versions}
        mapping = SchemaMapping.IDENTITY
        for number in range(old + 1, new + 1):
            mapping = compose(mapping, by_number[number].mapping, by_number[old].schema)
        return mapping


# Versions never change once written, so a chain is cached per (project, version in force).
_chains: dict[tuple[uuid.UUID, int], VersionChain] = {}


async def version_chain(session: AsyncSession, project: Project) -> VersionChain:
    return await version_chain_at(session, project.id, project.schema_version)


async def version_chain_at(session: AsyncSession, project_id: uuid.UUID, in_force: int) -> VersionChain:
    """The chain as it was while version `in_force` was the one in force (a snapshot's terms)."""
    key = (project_id, in_force)
    chain = _chains.get(key)
    if chain is None:
        rows = (
            await session.scalars(
                select(LabelSchemaVersion)
                .where(
                    LabelSchemaVersion.project_id == project_id,
                    col(LabelSchemaVersion.version) <= in_force,
                )
                .order_by(col(LabelSchemaVersion.version))
            )
        ).all()
        chain = VersionChain(tuple(_version(row) for row in rows))
        if len(_chains) > 1_000:
            _chains.clear()
        _chains[key] = chain
    return chain


def _version(row: LabelSchemaVersion) -> Version:
    return Version(
        id=row.id,
        version=row.version,
        definition=row.definition,
        schema=schema_language.parse(row.definition),
        mapping=SchemaMapping.from_json(row.mapping) if row.mapping else SchemaMapping.IDENTITY,
    )


def compose(first: SchemaMapping, then: SchemaMapping, source: schema_language.LabelSchema) -> SchemaMapping:
    """One mapping with the effect of `first` followed by `then`, for values of the `source` schema."""
    fields: dict[str, str | None] = {}
    classes: dict[str, dict[str, str | None]] = {}
    for spec in source.fields:
        middle = first.fields.get(spec.name, spec.name)
        target = None if middle is None else then.fields.get(middle, middle)
        if target != spec.name:
            fields[spec.name] = target
        if middle is None or target is None:
            continue
        moved: dict[str, str | None] = {}
        for name in spec.classes:
            step = first.classes.get(spec.name, {}).get(name, name)
            final = None if step is None else then.classes.get(middle, {}).get(step, step)
            if final != name:
                moved[name] = final
        if moved:
            classes[spec.name] = moved
    return SchemaMapping(fields=fields, classes=classes)
