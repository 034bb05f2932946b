"""Label-schema versions and their governed change: proposals, decisions, diffs, impact."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.errors import DomainError
from app.operations import Operation
from app.schema.connections import Connection, connection, int_cursor, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import UserError, bad_input, errors_of
from app.schema.identity import User, load_user
from app.schema.label_schema import LabelField, LabelRule, label_fields, label_rules
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id
from app.taxonomy import diff, impact, models, service
from app.taxonomy import error_codes as area_codes
from app.taxonomy.mapping import SchemaMapping
from app.workflow import reads as workflow_reads

TaxonomyErrorCode = strawberry.enum(area_codes.TaxonomyErrorCode, description=area_codes.TaxonomyErrorCode.__doc__)


@strawberry.type(description="A failure of a schema-change mutation, or a problem of a value under a schema.")
class TaxonomyError(UserError):
    codes = area_codes.TaxonomyErrorCode
    code: TaxonomyErrorCode  # type: ignore[valid-type]


ChangeStatus = strawberry.enum(models.ChangeStatus, description="Where a schema change request stands.")


@strawberry.enum(description="What happened to a field, class or rule between two versions.")
class DiffChange(enum.StrEnum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    RENAMED = "RENAMED"
    CHANGED = "CHANGED"
    MERGED = "MERGED"
    MOVED = "MOVED"


@strawberry.enum(description="How an existing value fares under a proposed schema.")
class ImpactOutcome(enum.StrEnum):
    VALID = "VALID"
    REMAPPED = "REMAPPED"
    INVALID = "INVALID"


@strawberry.type(description="A field added, removed, renamed (through fieldMapping) or changed.")
class FieldChange:
    field: str
    change: DiffChange
    previous: str | None = strawberry.field(description="The old name of a renamed field.")
    details: list[str] = strawberry.field(description='What changed, one line each, e.g. "max: 5 -> 7".')


@strawberry.type(description="A class added, removed, renamed or merged (through classMapping), or moved in a tree.")
class ClassChange:
    field: str
    class_name: str
    change: DiffChange
    target: str | None = strawberry.field(description="The new class (renamed, merged) or new parent (moved).")


@strawberry.type(description="A cross-field rule added or removed.")
class RuleChange:
    change: DiffChange
    rule: JSON
    description: str


@strawberry.type(description="What a schema change changes.")
class SchemaDiff:
    fields: list[FieldChange]
    classes: list[ClassChange]
    rules: list[RuleChange]

    @classmethod
    def of(cls, value: diff.SchemaDiff) -> SchemaDiff:
        return cls(
            fields=[
                FieldChange(field=c.field, change=DiffChange(c.change), previous=c.previous, details=list(c.details))
                for c in value.fields
            ],
            classes=[
                ClassChange(field=c.field, class_name=c.class_, change=DiffChange(c.change), target=c.target)
                for c in value.classes
            ],
            rules=[
                RuleChange(change=DiffChange(c.change), rule=JSON(c.rule), description=c.description)
                for c in value.rules
            ],
        )


@strawberry.type(description="One existing value under the proposed schema.")
class ImpactExample:
    outcome: ImpactOutcome
    subject_id: strawberry.ID = strawberry.field(description="The Label, or for a final label its Item.")
    problems: list[TaxonomyError] = strawberry.field(description="Why it would be invalid; empty otherwise.")
    _example: strawberry.Private[impact.ImpactExample]
    _project_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The value as stored. Null with FORBIDDEN for those who may not read labels.")
    def before(self, info: Info) -> JSON | None:
        workflow_reads.require_label_read(info.context.actor, self._project_id)
        return JSON(self._example.before)

    @strawberry.field(
        description="The value carried to the proposed schema. Null with FORBIDDEN for those who may not read labels."
    )
    def after(self, info: Info) -> JSON | None:
        workflow_reads.require_label_read(info.context.actor, self._project_id)
        return JSON(self._example.after)


@strawberry.type(description="How many values stay valid, are remapped, or become invalid.")
class ImpactTally:
    valid: int
    remapped: int
    invalid: int
    examples: list[ImpactExample] = strawberry.field(description="Up to 5 per outcome, oldest first.")

    @strawberry.field
    def total(self) -> int:
        return self.valid + self.remapped + self.invalid

    @classmethod
    def of(cls, tally: impact.Tally, project_id: uuid.UUID) -> ImpactTally:
        examples = [
            ImpactExample(
                outcome=ImpactOutcome(outcome),
                subject_id=strawberry.ID(example.subject_id),
                problems=errors_of(TaxonomyError, example.problems),
                _example=example,
                _project_id=project_id,
            )
            for outcome in impact.OUTCOMES
            for example in tally.examples.get(outcome, ())
        ]
        return cls(valid=tally.valid, remapped=tally.remapped, invalid=tally.invalid, examples=examples)


@strawberry.type(description="Every label and final label of the project, dry-run against the proposed schema.")
class ImpactReport:
    labels: ImpactTally
    final_labels: ImpactTally


@strawberry.type(description="A proposed change of a project's label schema, and its decision.")
class SchemaChangeRequest(Node):
    base_version: int = strawberry.field(description="The version in force when proposed.")
    definition: JSON
    rationale: str
    status: ChangeStatus  # type: ignore[valid-type]
    proposed_at: datetime
    decided_at: datetime | None
    decision_note: str = strawberry.field(description="The approver's note, or the reason for a rejection.")
    resulting_version: int | None = strawberry.field(description="The version an approval created.")
    _row: strawberry.Private[models.SchemaChangeRequest]

    @classmethod
    def of(cls, row: models.SchemaChangeRequest) -> SchemaChangeRequest:
        return cls(
            id=global_id("SchemaChangeRequest", row.id),
            base_version=row.base_version,
            definition=JSON(row.definition),
            rationale=row.rationale,
            status=row.status,
            proposed_at=row.proposed_at,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
            resulting_version=row.resulting_version,
            _row=row,
        )

    @strawberry.field(description="Old class -> new class (null: dropped), per old field name.")
    def class_mapping(self) -> JSON:
        return JSON(SchemaMapping.from_json(self._row.mapping).to_json()["classes"])

    @strawberry.field(description="Old field -> new field (null: dropped).")
    def field_mapping(self) -> JSON:
        return JSON(SchemaMapping.from_json(self._row.mapping).to_json()["fields"])

    @strawberry.field
    def diff(self) -> SchemaDiff:
        return SchemaDiff.of(diff.SchemaDiff.from_json(self._row.diff))

    @strawberry.field(description="Computed when proposed.")
    def impact(self) -> ImpactReport:
        report = impact.ImpactReport.from_json(self._row.impact)
        return ImpactReport(
            labels=ImpactTally.of(report.labels, self._row.project_id),
            final_labels=ImpactTally.of(report.final_labels, self._row.project_id),
        )

    @strawberry.field(description="Pending, but another version came into force since: approving it is a conflict.")
    async def stale(self, info: Info) -> bool:
        async with info.context.db() as session:
            return await service.is_stale(session, self._row)

    @strawberry.field
    async def proposed_by(self, info: Info) -> User | None:
        return await load_user(info, self._row.proposed_by)

    @strawberry.field
    async def decided_by(self, info: Info) -> User | None:
        return await load_user(info, self._row.decided_by)


@strawberry.type(description="A version of a project's label schema; labels keep the one they were made under.")
class LabelSchemaVersion:
    version: int
    definition: JSON
    created_at: datetime
    _row: strawberry.Private[models.LabelSchemaVersion]

    @classmethod
    def of(cls, row: models.LabelSchemaVersion) -> LabelSchemaVersion:
        return cls(version=row.version, definition=JSON(row.definition), created_at=row.created_at, _row=row)

    @strawberry.field(description="The definition's fields as typed objects, in order: what a labeling form draws.")
    def fields(self) -> list[LabelField]:
        return label_fields(self._row)

    @strawberry.field(description="The definition's cross-field rules, in order.")
    def rules(self) -> list[LabelRule]:
        return label_rules(self._row)

    @strawberry.field(
        description="Who proposed this version (who created the project, for the first). "
        "Schema history: null with FORBIDDEN for annotators."
    )
    async def created_by(self, info: Info) -> User | None:
        service.require_history(info.context.actor, self._row.project_id)
        return await load_user(info, self._row.created_by)

    @strawberry.field(
        description="The approved request that created it; null for a project's first version. "
        "Schema history: null with FORBIDDEN for annotators."
    )
    async def change_request(self, info: Info) -> SchemaChangeRequest | None:
        async with info.context.db() as session:
            row = await service.change_request_of(session, info.context.actor, self._row)
        return SchemaChangeRequest.of(row) if row else None


@strawberry.type(description="A value carried from the version it was made under to the version in force.")
class CarriedValue:
    schema_version: int = strawberry.field(description="The version in force it is shown under.")
    value: JSON
    remapped: bool = strawberry.field(description="Whether approved mappings changed it.")
    problems: list[TaxonomyError] = strawberry.field(
        description="Why it does not fit the version in force, if it doesn't."
    )


async def carried_value(
    info: Info, project_id: uuid.UUID, item_id: uuid.UUID, value: dict[str, Any], schema_version_id: uuid.UUID
) -> CarriedValue:
    async with info.context.db() as session:
        chain = await service.chain_in_force(session, project_id)
    steps = chain.steps_from(schema_version_id)
    if not steps:
        return CarriedValue(schema_version=chain.active.version, value=JSON(value), remapped=False, problems=[])
    item = None
    if chain.active.schema.reads_item:
        row = await info.context.loaders.item.load(item_id)
        item = {"data": row.data, "metadata": row.meta} if row else None
    _, after, problems = impact.assess(value, steps, item)
    return CarriedValue(
        schema_version=chain.active.version,
        value=JSON(after),
        remapped=after != value,
        problems=errors_of(TaxonomyError, problems),
    )


@strawberry.input
class ProposeSchemaChangeInput:
    project_id: strawberry.ID
    definition: JSON = strawberry.field(description="The whole proposed label schema.")
    rationale: str = strawberry.field(description="Why: shown to the approver and kept in the changelog.")
    class_mapping: JSON | None = strawberry.field(
        default=None,
        description='Per old field name, old class -> new class or null: {"sentiment": {"pos": "positive"}}.',
    )
    field_mapping: JSON | None = strawberry.field(default=None, description="Old field name -> new name or null.")


@strawberry.input
class ApproveSchemaChangeInput:
    request_id: strawberry.ID
    note: str = ""


@strawberry.input
class RejectSchemaChangeInput:
    request_id: strawberry.ID
    reason: str


@strawberry.input
class WithdrawSchemaChangeInput:
    request_id: strawberry.ID


@strawberry.type
class SchemaChangePayload:
    request: SchemaChangeRequest | None
    errors: list[TaxonomyError]


async def _decide(info: Info, operation: Operation, input: Any, action: Any) -> SchemaChangePayload:
    result = await run_mutation(info, operation, input, action, TaxonomyError)
    if isinstance(result, list):
        return SchemaChangePayload(request=None, errors=result)
    return SchemaChangePayload(request=SchemaChangeRequest.of(result), errors=[])


def _request_id(value: str) -> uuid.UUID:
    return input_id(value, "SchemaChangeRequest", "requestId")


@strawberry.type
class TaxonomyMutation:
    @strawberry.mutation(
        description="Propose a new label schema with its diff and impact report. Project managers and admins."
    )
    async def propose_schema_change(self, info: Info, input: ProposeSchemaChangeInput) -> SchemaChangePayload | None:
        actor = info.context.actor
        try:
            proposal = service.Proposal(
                project_id=input_id(input.project_id, "Project", "projectId"),
                definition=input.definition,
                rationale=input.rationale,
                class_mapping=input.class_mapping,
                field_mapping=input.field_mapping,
            )
            async with info.context.db() as session:
                assessment = await service.assess_proposal(session, actor, proposal)
        except DomainError as exc:
            return SchemaChangePayload(request=None, errors=errors_of(TaxonomyError, exc.problems))

        async def act(session: AsyncSession) -> models.SchemaChangeRequest:
            return await service.propose_schema_change(session, actor, proposal, assessment)

        return await _decide(info, service.PROPOSE_SCHEMA_CHANGE, input, act)

    @strawberry.mutation(description="Put a proposal in force. Admins other than the proposer.")
    async def approve_schema_change(self, info: Info, input: ApproveSchemaChangeInput) -> SchemaChangePayload | None:
        async def act(session: AsyncSession) -> models.SchemaChangeRequest:
            actor = info.context.actor
            return await service.approve_schema_change(session, actor, _request_id(input.request_id), input.note)

        return await _decide(info, service.APPROVE_SCHEMA_CHANGE, input, act)

    @strawberry.mutation(description="Turn a proposal down, saying why. Admins.")
    async def reject_schema_change(self, info: Info, input: RejectSchemaChangeInput) -> SchemaChangePayload | None:
        async def act(session: AsyncSession) -> models.SchemaChangeRequest:
            actor = info.context.actor
            return await service.reject_schema_change(session, actor, _request_id(input.request_id), input.reason)

        return await _decide(info, service.REJECT_SCHEMA_CHANGE, input, act)

    @strawberry.mutation(description="Take back one's own pending proposal.")
    async def withdraw_schema_change(self, info: Info, input: WithdrawSchemaChangeInput) -> SchemaChangePayload | None:
        async def act(session: AsyncSession) -> models.SchemaChangeRequest:
            return await service.withdraw_schema_change(session, info.context.actor, _request_id(input.request_id))

        return await _decide(info, service.WITHDRAW_SCHEMA_CHANGE, input, act)


# Fields of Project, kept here with the types they return.


async def label_schema_versions(
    root: Any, info: Info, first: int = 20, after: str | None = None
) -> Connection[LabelSchemaVersion] | None:
    limit, cursor = page_size(first), int_cursor(after)
    async with info.context.db() as session:
        rows = await service.list_versions(session, info.context.actor, root.row.id, before=cursor, limit=limit + 1)
    return connection(rows, limit, key=lambda r: r.version, node=LabelSchemaVersion.of, after=after)


async def label_schema_version(root: Any, info: Info, version: int) -> LabelSchemaVersion | None:
    async with info.context.db() as session:
        row = await service.get_version(session, info.context.actor, root.row.id, version)
    return LabelSchemaVersion.of(row) if row else None


async def schema_change_requests(
    root: Any,
    info: Info,
    status: ChangeStatus | None = None,  # type: ignore[valid-type]
    first: int = 20,
    after: str | None = None,
) -> Connection[SchemaChangeRequest] | None:
    limit, cursor = page_size(first), uuid_cursor(after)
    async with info.context.db() as session:
        rows = await service.list_requests(
            session, info.context.actor, root.row.id, status=status, before=cursor, limit=limit + 1
        )
    return connection(rows, limit, key=lambda r: r.id, node=SchemaChangeRequest.of, after=after)


async def schema_diff(
    root: Any,
    info: Info,
    from_: Annotated[int, strawberry.argument(name="from")],
    to: int,
) -> SchemaDiff | None:
    async with info.context.db() as session:
        try:
            found = await service.schema_diff(session, info.context.actor, root.row, from_, to)
        except DomainError as exc:
            raise bad_input(str(exc)) from None
    return SchemaDiff.of(found)
