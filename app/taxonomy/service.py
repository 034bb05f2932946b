"""Governed change of a project's label schema: propose, approve, reject, withdraw.

A proposal is linted, diffed against the version in force and dry-run over every label and
final label of the project; only an admin other than the proposer can make it the version in
force, and only while the version it was based on still is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.db import is_postgres
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.scopes import in_projects
from app.taxonomy import schema_language
from app.taxonomy.diff import SchemaDiff, diff
from app.taxonomy.dry_run import dry_run
from app.taxonomy.impact import ImpactReport, Tally
from app.taxonomy.mapping import SchemaMapping, lint_mapping, parse_mapping
from app.taxonomy.models import ChangeStatus, LabelSchemaVersion, SchemaChangeRequest
from app.taxonomy.versions import VersionChain, version_chain

PROPOSE_SCHEMA_CHANGE = Operation("proposeSchemaChange", Permission("schema", "propose"), audit="schema.propose")
APPROVE_SCHEMA_CHANGE = Operation("approveSchemaChange", Permission("schema", "approve"), audit="schema.approve")
REJECT_SCHEMA_CHANGE = Operation("rejectSchemaChange", Permission("schema", "approve"), audit="schema.reject")
# Withdrawing is the proposer's own (NOT_PROPOSER for anyone else who may propose).
WITHDRAW_SCHEMA_CHANGE = Operation("withdrawSchemaChange", Permission("schema", "propose"), audit="schema.withdraw")

MAX_RATIONALE = 10_000


@dataclass(frozen=True)
class Proposal:
    project_id: uuid.UUID
    definition: Any
    rationale: str
    class_mapping: Any = None
    field_mapping: Any = None


@dataclass(frozen=True)
class Assessment:
    """What a proposal would change, against the version in force when it was assessed."""

    base_version: int
    mapping: SchemaMapping
    diff: SchemaDiff
    impact: ImpactReport


async def assess_proposal(session: AsyncSession, actor: Actor, proposal: Proposal) -> Assessment:
    """Lint, mapping, diff and the impact dry run. Reads only: it grows with the project, so it
    runs before the write transaction and never holds SQLite's write lock."""
    project = await find_project(session, actor, proposal.project_id)
    PROPOSE_SCHEMA_CHANGE.require(actor, project.id)
    problems = schema_language.lint(proposal.definition, "definition") + _check_note(proposal.rationale, "rationale")
    if problems:
        raise DomainError(problems)
    chain = await version_chain(session, project)
    base = chain.active
    new_schema = schema_language.parse(proposal.definition)
    class_mapping = {} if proposal.class_mapping is None else proposal.class_mapping
    field_mapping = {} if proposal.field_mapping is None else proposal.field_mapping
    problems = lint_mapping(base.schema, new_schema, class_mapping, field_mapping)
    if problems:
        raise DomainError(problems)
    mapping = parse_mapping(class_mapping, field_mapping)
    changes = diff(base.definition, proposal.definition, mapping)
    if changes.is_empty():
        raise DomainError.single("NO_CHANGE", "The proposed schema is the one in force.", "definition")
    report = await dry_run(session, project.id, chain, mapping, new_schema)
    return Assessment(base.version, mapping, changes, report)


async def propose_schema_change(
    session: AsyncSession, actor: Actor, proposal: Proposal, assessment: Assessment
) -> SchemaChangeRequest:
    project = await find_project(session, actor, proposal.project_id)
    PROPOSE_SCHEMA_CHANGE.require(actor, project.id)
    if project.schema_version != assessment.base_version:
        raise DomainError.single(
            "STALE_BASE", "Another version came into force while this was assessed; propose again.", "projectId"
        )
    report = assessment.impact
    request = SchemaChangeRequest(
        project_id=project.id,
        base_version=assessment.base_version,
        definition=proposal.definition,
        mapping=assessment.mapping.to_json(),
        rationale=proposal.rationale.strip(),
        diff=assessment.diff.to_json(),
        impact=report.to_json(),
        proposed_by=actor.id,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session,
        actor,
        PROPOSE_SCHEMA_CHANGE.audit,
        "SchemaChangeRequest",
        request.id,
        project_id=project.id,
        request={"definition": proposal.definition, "rationale": proposal.rationale, "mapping": request.mapping},
        details={
            "baseVersion": assessment.base_version,
            "rationale": request.rationale,
            "impact": {
                "labels": _counts(report.labels),
                "finalLabels": _counts(report.final_labels),
            },
        },
    )
    return request


async def approve_schema_change(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, note: str = ""
) -> SchemaChangeRequest:
    request = await _pending(session, actor, request_id, APPROVE_SCHEMA_CHANGE)
    if request.proposed_by == actor.id:
        # Separation of duties: a second pair of eyes on every change of what labels mean.
        raise DomainError.single("SELF_APPROVAL", "You may not approve your own proposal.", "requestId")
    problems = _check_note(note, "note", required=False)
    if problems:
        raise DomainError(problems)
    project = await find_project(session, actor, request.project_id, lock=True)
    if request.base_version != project.schema_version:
        raise DomainError.single(
            "STALE_BASE",
            f"This request changes version {request.base_version}, but version {project.schema_version} is in "
            "force now; propose again against it.",
            "requestId",
        )
    version = LabelSchemaVersion(
        project_id=project.id,
        version=project.schema_version + 1,
        definition=request.definition,
        mapping=request.mapping,
        change_request_id=request.id,
        created_by=request.proposed_by,
    )
    session.add(version)
    project.schema_version = version.version
    _decide(request, actor, ChangeStatus.APPROVED, note)
    request.resulting_version = version.version
    await session.flush()
    await audit.record(
        session,
        actor,
        APPROVE_SCHEMA_CHANGE.audit,
        "SchemaChangeRequest",
        request.id,
        project_id=project.id,
        request={"requestId": str(request.id), "note": note},
        details={"version": version.version, "baseVersion": request.base_version, "note": request.decision_note},
    )
    approved = {
        "changeRequestId": request.id,
        "schemaVersion": version.version,
        "previousVersion": request.base_version,
    }
    events.emit(session, project.id, EventKind.SCHEMA_APPROVED, approved)
    return request


async def reject_schema_change(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, reason: str
) -> SchemaChangeRequest:
    request = await _pending(session, actor, request_id, REJECT_SCHEMA_CHANGE)
    problems = _check_note(reason, "reason")
    if problems:
        raise DomainError(problems)
    _decide(request, actor, ChangeStatus.REJECTED, reason)
    await session.flush()
    await audit.record(
        session,
        actor,
        REJECT_SCHEMA_CHANGE.audit,
        "SchemaChangeRequest",
        request.id,
        project_id=request.project_id,
        request={"requestId": str(request.id), "reason": reason},
        details={"baseVersion": request.base_version, "reason": request.decision_note},
    )
    return request


async def withdraw_schema_change(session: AsyncSession, actor: Actor, request_id: uuid.UUID) -> SchemaChangeRequest:
    request = await _pending(session, actor, request_id, WITHDRAW_SCHEMA_CHANGE)
    if request.proposed_by != actor.id:
        raise DomainError.single("NOT_PROPOSER", "Only the proposer may withdraw a change request.", "requestId")
    _decide(request, actor, ChangeStatus.WITHDRAWN, "")
    await session.flush()
    await audit.record(
        session,
        actor,
        WITHDRAW_SCHEMA_CHANGE.audit,
        "SchemaChangeRequest",
        request.id,
        project_id=request.project_id,
        request={"requestId": str(request.id)},
        details={"baseVersion": request.base_version},
    )
    return request


def readable_requests(actor: Actor) -> SelectOfScalar[SchemaChangeRequest]:
    """Change requests where the actor may read schema history."""
    return select(SchemaChangeRequest).where(in_projects(actor, col(SchemaChangeRequest.project_id), "schema", "read"))


async def get_request(session: AsyncSession, actor: Actor, request_id: uuid.UUID) -> SchemaChangeRequest | None:
    """A change request, or None when it does not exist or the actor may not read schema history there."""
    return await session.scalar(readable_requests(actor).where(col(SchemaChangeRequest.id) == request_id))


async def list_requests(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    *,
    status: ChangeStatus | None,
    before: uuid.UUID | None,
    limit: int,
) -> Sequence[SchemaChangeRequest]:
    """Newest first: read top-down, the list is the project's schema changelog."""
    actor.require("schema", "read", project_id)
    stmt = (
        select(SchemaChangeRequest)
        .where(SchemaChangeRequest.project_id == project_id)
        .order_by(col(SchemaChangeRequest.id).desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(SchemaChangeRequest.status == status)
    if before is not None:
        stmt = stmt.where(col(SchemaChangeRequest.id) < before)
    return (await session.scalars(stmt)).all()


async def list_versions(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, *, before: int | None, limit: int
) -> Sequence[LabelSchemaVersion]:
    """Newest first."""
    actor.require("schema", "read", project_id)
    stmt = (
        select(LabelSchemaVersion)
        .where(LabelSchemaVersion.project_id == project_id)
        .order_by(col(LabelSchemaVersion.version).desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(col(LabelSchemaVersion.version) < before)
    return (await session.scalars(stmt)).all()


async def get_version(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, version: int
) -> LabelSchemaVersion | None:
    actor.require("schema", "read", project_id)
    return await session.scalar(
        select(LabelSchemaVersion).where(
            LabelSchemaVersion.project_id == project_id, LabelSchemaVersion.version == version
        )
    )


def require_history(actor: Actor, project_id: uuid.UUID) -> None:
    """Who wrote which version and why is schema history: annotators label under the version in
    force and see no more of it (FORBIDDEN on those fields)."""
    actor.require("schema", "read", project_id)


async def change_request_of(
    session: AsyncSession, actor: Actor, version: LabelSchemaVersion
) -> SchemaChangeRequest | None:
    if version.change_request_id is None:
        return None
    require_history(actor, version.project_id)
    return await get_request(session, actor, version.change_request_id)


async def is_stale(session: AsyncSession, request: SchemaChangeRequest) -> bool:
    """Pending, while another version came into force: approving it would be a conflict."""
    if request.status is not ChangeStatus.PENDING:
        return False
    in_force = await session.scalar(select(Project.schema_version).where(col(Project.id) == request.project_id))
    return in_force is not None and in_force != request.base_version


async def chain_in_force(session: AsyncSession, project_id: uuid.UUID) -> VersionChain:
    """The project's versions up to the one in force (cached per version in force)."""
    project = await session.get(Project, project_id)
    assert project is not None, "rows point at their project with a foreign key"
    return await version_chain(session, project)


async def schema_diff(session: AsyncSession, actor: Actor, project: Project, old: int, new: int) -> SchemaDiff:
    """What changed from version `old` to `new`, renames followed through the approved mappings."""
    require_history(actor, project.id)
    if not 1 <= old <= new:
        raise DomainError.single("INVALID_RANGE", "'from' must be a version no later than 'to'.", "from")
    chain = await version_chain(session, project)
    numbers = {v.version: v for v in chain.versions}
    if old not in numbers or new not in numbers:
        raise DomainError.single("INVALID_RANGE", f"This project has versions 1..{chain.active.version}.", "to")
    return diff(numbers[old].definition, numbers[new].definition, chain.mapping_between(old, new))


async def _pending(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, operation: Operation
) -> SchemaChangeRequest:
    stmt = readable_requests(actor).where(col(SchemaChangeRequest.id) == request_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    request = await session.scalar(stmt)
    if request is None:
        raise DomainError.single("NOT_FOUND", "No such change request.", "requestId")
    operation.require(actor, request.project_id)
    if request.status is not ChangeStatus.PENDING:
        raise DomainError.single(
            "NOT_PENDING", f"This request was {request.status.value.lower()} already.", "requestId"
        )
    return request


def _decide(request: SchemaChangeRequest, actor: Actor, status: ChangeStatus, note: str) -> None:
    request.status = status
    request.decided_by = actor.id
    request.decided_at = utcnow()
    request.decision_note = note.strip()


def _check_note(text: str, field: str, *, required: bool = True) -> list[Problem]:
    if required and not text.strip():
        return [Problem("REQUIRED", f"{field} must say why.", field)]
    if len(text) > MAX_RATIONALE:
        return [Problem("TOO_LONG", f"{field} allows {MAX_RATIONALE} characters.", field)]
    return []


def _counts(tally: Tally) -> dict[str, int]:
    return {"valid": tally.valid, "remapped": tally.remapped, "invalid": tally.invalid}
