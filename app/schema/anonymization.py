"""Anonymization at import: the project's policy, what was done to an item, items' lineage."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.ingestion import anonymization as service
from app.ingestion import reads as item_reads
from app.ingestion.anonymize import custom
from app.ingestion.anonymize import detectors as detector_kinds
from app.ingestion.anonymize import policy as policy_module
from app.ingestion.anonymize.redact import NAME, VERSION
from app.projects import models as project_models
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.items import IngestionError
from app.schema.mutation import input_id, run_mutation
from app.schema.node import global_id

if TYPE_CHECKING:
    from app.schema.projects import Project

AnonymizationKind = strawberry.enum(
    detector_kinds.Kind, name="AnonymizationKind", description=detector_kinds.Kind.__doc__
)
DuplicateContent = strawberry.enum(policy_module.DuplicateContent, description=policy_module.DuplicateContent.__doc__)


@strawberry.type(description="A project rule: values it finds become [NAME_n]. Either a pattern or terms.")
class AnonymizationRule:
    name: str
    pattern: str | None = strawberry.field(description="An RE2 regular expression.")
    terms: list[str] | None = strawberry.field(description="Whole words or phrases, matched in any letter case.")


@strawberry.type(description="What importItems does to each row's data before anything is stored.")
class AnonymizationPolicy:
    enabled: bool
    detectors: list[AnonymizationKind]  # type: ignore[valid-type]
    custom_rules: list[AnonymizationRule]
    duplicate_content: DuplicateContent  # type: ignore[valid-type]
    anonymizer: str = strawberry.field(description="The anonymizer that applies it, and its version.")
    version: str

    @classmethod
    def of(cls, policy: policy_module.Policy) -> AnonymizationPolicy:
        return cls(
            enabled=policy.enabled,
            detectors=list(policy.detectors),
            custom_rules=[
                AnonymizationRule(name=r.name, pattern=r.pattern, terms=list(r.terms) if r.terms is not None else None)
                for r in policy.rules
            ],
            duplicate_content=policy.duplicate_content,
            anonymizer=NAME,
            version=VERSION,
        )


@strawberry.type(description="How many values of a kind (a built-in kind or a project rule's name) were replaced.")
class Redaction:
    kind: str
    count: int


@strawberry.type(description="The anonymizer that rewrote an item's data at import, and what it replaced.")
class ItemAnonymization:
    anonymizer: str
    version: str
    redactions: list[Redaction]

    @classmethod
    def of(
        cls, anonymizer: str | None, version: str | None, redactions: dict[str, int] | None
    ) -> ItemAnonymization | None:
        if anonymizer is None:
            return None
        counts = redactions or {}
        return cls(
            anonymizer=anonymizer,
            version=version or "",
            redactions=[Redaction(kind=kind, count=counts[kind]) for kind in sorted(counts)],
        )


@strawberry.type(description="An item's lineage without its content: for compliance officers as for managers.")
class ItemLineage:
    item_id: strawberry.ID
    external_id: str
    content_hash: str = strawberry.field(description="HMAC-SHA256 of the canonical JSON of the data as imported.")
    anonymization: ItemAnonymization | None = strawberry.field(description="Null when imported without it.")
    created_at: datetime

    @classmethod
    def of(cls, row: item_reads.Lineage) -> ItemLineage:
        return cls(
            item_id=global_id("Item", row.id),
            external_id=row.external_id,
            content_hash=row.content_hash,
            anonymization=ItemAnonymization.of(row.anonymizer, row.anonymizer_version, row.redactions),
            created_at=row.created_at,
        )


async def anonymization_policy(info: Info, row: project_models.Project) -> AnonymizationPolicy:
    return AnonymizationPolicy.of(service.read_policy(info.context.actor, row))


async def item_lineage(
    info: Info, row: project_models.Project, first: int, after: str | None
) -> Connection[ItemLineage]:
    limit, cursor = page_size(first), uuid_cursor(after)
    async with info.context.db() as session:
        rows = await item_reads.list_lineage(session, info.context.actor, row, after=cursor, limit=limit + 1)
    return connection(rows, limit, key=lambda r: r.id, node=ItemLineage.of, after=after)


@strawberry.input(description="Either a pattern or terms.")
class AnonymizationRuleInput:
    name: str = strawberry.field(description="The placeholder's kind: 1 to 32 of A-Z, 0-9, _ from a letter.")
    pattern: str | None = strawberry.field(default=None, description="RE2, at most 1,000 characters.")
    terms: list[str] | None = strawberry.field(default=None, description="At most 1,000 terms over all rules.")


@strawberry.input
class UpdateAnonymizationPolicyInput:
    project_id: strawberry.ID
    enabled: bool | None = None
    detectors: list[AnonymizationKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="The built-in detectors to run (all of them by default)."
    )
    custom_rules: list[AnonymizationRuleInput] | None = strawberry.field(
        default=None, description="Replaces the project's rules when given."
    )
    duplicate_content: DuplicateContent | None = None  # type: ignore[valid-type]


@strawberry.type
class UpdateAnonymizationPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[IngestionError]


@strawberry.type
class AnonymizationMutation:
    @strawberry.mutation(
        description="Change how importItems anonymizes the project's data (project managers and admins; audited). "
        "Items already imported stay as they are."
    )
    async def update_anonymization_policy(
        self, info: Info, input: UpdateAnonymizationPolicyInput
    ) -> UpdateAnonymizationPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            rules = (
                None
                if input.custom_rules is None
                else [
                    custom.Rule(r.name, r.pattern, tuple(r.terms) if r.terms is not None else None)
                    for r in input.custom_rules
                ]
            )
            change = service.PolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                enabled=input.enabled,
                detectors=input.detectors,
                custom_rules=rules,
                duplicate_content=input.duplicate_content,
            )
            return await service.update_anonymization_policy(session, info.context.actor, change)

        result = await run_mutation(info, service.UPDATE_ANONYMIZATION_POLICY, input, act, IngestionError)
        if isinstance(result, list):
            return UpdateAnonymizationPolicyPayload(project=None, errors=result)
        return UpdateAnonymizationPolicyPayload(project=Project.of(result), errors=[])
