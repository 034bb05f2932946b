"""Projects: creation with their first label schema (and guideline), reads scoped by role."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.compliance import audit
from app.errors import DomainError, Problem
from app.guidelines.models import GuidelineStatus, GuidelineVersion
from app.projects.models import Project
from app.taxonomy import schema_language
from app.taxonomy.models import LabelSchemaVersion

MAX_OVERLAP = 10


@dataclass(frozen=True)
class NewProject:
    name: str
    label_schema: Any
    description: str = ""
    overlap: int = 1
    lease_seconds: int = 600
    guideline: str | None = None


async def create_project(session: AsyncSession, actor: Actor, new: NewProject) -> Project:
    actor.require("project", "create")
    problems = _check(new)
    if await session.scalar(select(Project.id).where(Project.name == new.name.strip())):
        problems.append(Problem("NAME_TAKEN", "A project with this name exists.", "name"))
    if problems:
        raise DomainError(problems)
    project = Project(
        name=new.name.strip(),
        description=new.description,
        overlap=new.overlap,
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
                changelog="First version.",
                created_by=actor.id,
                published_at=project.created_at,
            )
        )
    await session.flush()
    audit.record(
        session,
        actor,
        "project.create",
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
    if not 1 <= new.overlap <= MAX_OVERLAP:
        problems.append(Problem("OUT_OF_RANGE", f"overlap must lie within 1..{MAX_OVERLAP}.", "overlap"))
    if not 30 <= new.lease_seconds <= 86_400:
        problems.append(Problem("OUT_OF_RANGE", "leaseSeconds must lie within 30..86400.", "leaseSeconds"))
    return problems


async def get_project(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> Project | None:
    """The project, or None when it does not exist; Forbidden when the actor has no role in it."""
    project = await session.get(Project, project_id)
    if project is None:
        return None
    actor.require("project", "read", project.id)
    return project


async def require_project(session: AsyncSession, project_id: uuid.UUID, field: str = "projectId") -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise DomainError.single("NOT_FOUND", "No such project.", field)
    return project


async def list_projects(
    session: AsyncSession, actor: Actor, *, after: uuid.UUID | None, limit: int
) -> Sequence[Project]:
    """Projects the actor holds a role in (every project for org-wide roles), oldest first."""
    visible = actor.authorizer.projects_with(actor.id, "project", "read")
    stmt = select(Project).order_by(col(Project.id)).limit(limit)
    if visible is not None:
        if not visible:
            return []
        stmt = stmt.where(col(Project.id).in_(visible))
    if after is not None:
        stmt = stmt.where(col(Project.id) > after)
    return (await session.scalars(stmt)).all()


async def active_schema(session: AsyncSession, project: Project) -> LabelSchemaVersion:
    version = await session.scalar(
        select(LabelSchemaVersion).where(
            LabelSchemaVersion.project_id == project.id, LabelSchemaVersion.version == project.schema_version
        )
    )
    assert version is not None, "every project has its active schema version"
    return version


async def current_guideline(session: AsyncSession, project: Project) -> GuidelineVersion | None:
    if project.guideline_version is None:
        return None
    return await session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.project_id == project.id, GuidelineVersion.version == project.guideline_version
        )
    )


_parsed: dict[uuid.UUID, schema_language.LabelSchema] = {}


def parsed_schema(version: LabelSchemaVersion) -> schema_language.LabelSchema:
    """Schema versions never change once written, so their parsed form is cached by id."""
    cached = _parsed.get(version.id)
    if cached is None:
        cached = _parsed[version.id] = schema_language.parse(version.definition)
    return cached
