"""Projects: creation with their first label schema (and guideline), reads scoped by role."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app import json_bounds
from app.auth.actor import Actor
from app.compliance import audit
from app.errors import DomainError, Problem
from app.guidelines import content as guideline_content
from app.guidelines.models import GuidelineStatus, GuidelineVersion
from app.operations import Operation, Permission
from app.projects.models import Project
from app.taxonomy import schema_language
from app.taxonomy.models import LabelSchemaVersion

CREATE_PROJECT = Operation("createProject", Permission("project", "create"), audit="project.create")

MAX_OVERLAP = 10
MAX_DESCRIPTION = 10_000
V = TypeVar("V", bound="GuidelineInForce")


@dataclass(frozen=True)
class NewProject:
    name: str
    label_schema: Any
    description: str = ""
    overlap: int = 1
    lease_seconds: int = 600
    guideline: str | None = None
    # Definitions, examples, edge cases, decision tree (app.guidelines.content), with `guideline`.
    guideline_content: Any = None


async def create_project(session: AsyncSession, actor: Actor, new: NewProject) -> Project:
    CREATE_PROJECT.require(actor)
    problems = _check(new)
    content: dict[str, Any] = {}
    if new.guideline_content is not None and not schema_language.lint(new.label_schema):
        checked = guideline_content.check(
            new.guideline_content, schema_language.parse(new.label_schema), "guidelineContent"
        )
        problems += checked.problems
        content = checked.normalized or {}
        if checked.item_refs:  # a new project has no items to cite
            problems.append(Problem("UNKNOWN_ITEM", "A new project has no items to cite.", checked.item_refs[0][0]))
        if new.guideline is None:
            problems.append(Problem("REQUIRED", "guidelineContent comes with a guideline body.", "guideline"))
    if await session.scalar(select(Project.id).where(Project.name == new.name.strip())):
        problems.append(Problem("NAME_TAKEN", "A project with this name exists.", "name"))
    if problems:
        raise DomainError(problems)
    project = Project(
        name=new.name.strip(),
        description=new.description,
        overlap=new.overlap,
        max_overlap=new.overlap,
        # Seeds the review sample (app/workflow/policy.py): fixed per project, different across projects.
        review_seed=secrets.randbelow(2**31),
        lease_seconds=new.lease_seconds,
        created_by=actor.id,
    )
    session.add(project)
    await session.flush()  # tables carry no ORM relationships, so the parent row goes first by hand
    session.add(LabelSchemaVersion(project_id=project.id, version=1, definition=new.label_schema, created_by=actor.id))
    if new.guideline is not None:
        project.guideline_version = 1
        session.add(
            GuidelineVersion(
                project_id=project.id,
                version=1,
                status=GuidelineStatus.PUBLISHED,
                body=new.guideline,
                content=content,
                changelog="First version.",
                created_by=actor.id,
                published_by=actor.id,
                published_at=project.created_at,
            )
        )
    await session.flush()
    await audit.record(
        session,
        actor,
        CREATE_PROJECT.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={"name": new.name, "labelSchema": new.label_schema, "overlap": new.overlap},
        details={"name": project.name, "overlap": project.overlap},
    )
    return project


def _check(new: NewProject) -> list[Problem]:
    problems = schema_language.lint(new.label_schema)
    if not new.name.strip() or len(new.name) > 200:
        problems.append(Problem("INVALID_NAME", "A project name has 1 to 200 characters.", "name"))
    if len(new.description) > MAX_DESCRIPTION:
        problems.append(Problem("TOO_LONG", f"description allows {MAX_DESCRIPTION:,} characters.", "description"))
    if new.guideline is not None and len(new.guideline) > guideline_content.MAX_BODY:
        allowed = guideline_content.MAX_BODY
        problems.append(Problem("TOO_LONG", f"guideline allows {allowed:,} characters.", "guideline"))
    problems += json_bounds.check(new.guideline_content, "guidelineContent")
    if not 1 <= new.overlap <= MAX_OVERLAP:
        problems.append(Problem("OUT_OF_RANGE", f"overlap must lie within 1..{MAX_OVERLAP}.", "overlap"))
    if not 30 <= new.lease_seconds <= 86_400:
        problems.append(Problem("OUT_OF_RANGE", "leaseSeconds must lie within 30..86400.", "leaseSeconds"))
    return problems


@dataclass(frozen=True)
class GuidelineInForce:
    """A version as labels cite it. Versions never change once written, so these are cached
    per process by (project, version number)."""

    id: uuid.UUID
    version: int


@dataclass(frozen=True)
class SchemaInForce(GuidelineInForce):
    schema: schema_language.LabelSchema


_versions: dict[tuple[str, uuid.UUID, int], Any] = {}


async def active_schema(session: AsyncSession, project: Project) -> SchemaInForce:
    key = ("schema", project.id, project.schema_version)
    found: SchemaInForce | None = _versions.get(key)
    if found is None:
        row = await schema_version_row(session, project)
        found = _remember(key, SchemaInForce(row.id, row.version, schema_language.parse(row.definition)))
    return found


async def current_guideline(session: AsyncSession, project: Project) -> GuidelineInForce | None:
    if project.guideline_version is None:
        return None
    key = ("guideline", project.id, project.guideline_version)
    found: GuidelineInForce | None = _versions.get(key)
    if found is None:
        row = await guideline_row(session, project)
        if row is None:
            return None
        found = _remember(key, GuidelineInForce(row.id, row.version))
    return found


def _remember(key: tuple[str, uuid.UUID, int], version: V) -> V:
    if len(_versions) > 10_000:
        _versions.clear()
    _versions[key] = version
    return version


async def schema_version_row(session: AsyncSession, project: Project) -> LabelSchemaVersion:
    """The full row of the schema in force (definition, author, time), for display."""
    row = await session.scalar(
        select(LabelSchemaVersion).where(
            LabelSchemaVersion.project_id == project.id, LabelSchemaVersion.version == project.schema_version
        )
    )
    assert row is not None, "every project has its active schema version"
    return row


async def guideline_row(session: AsyncSession, project: Project) -> GuidelineVersion | None:
    if project.guideline_version is None:
        return None
    return await session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.project_id == project.id, GuidelineVersion.version == project.guideline_version
        )
    )
