"""Reading projects: every statement starts from the projects the actor holds a role in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.db import is_postgres
from app.errors import DomainError
from app.guidelines.models import GuidelineVersion
from app.projects.models import Project
from app.scopes import in_projects
from app.taxonomy.models import LabelSchemaVersion


def readable_projects(actor: Actor) -> SelectOfScalar[Project]:
    return select(Project).where(in_projects(actor, col(Project.id), "project", "read"))


async def get_project(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> Project | None:
    """The project, or None when it does not exist or the actor has no role in it (the same answer)."""
    return await session.scalar(readable_projects(actor).where(col(Project.id) == project_id))


async def find_project(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, field: str = "projectId", *, lock: bool = False
) -> Project:
    """The project an operation names, or NOT_FOUND on `field` when the actor cannot read it.

    With lock, the row is locked for the transaction on PostgreSQL (SQLite writers are
    serialised already): changes to what is in force (schema, guideline) queue there. FOR NO KEY
    UPDATE, not FOR UPDATE: inserts that only reference the project (an audit event, appended
    at commit under the chain's lock) must not wait for it, or two commits could deadlock.
    """
    stmt = readable_projects(actor).where(col(Project.id) == project_id)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update(key_share=True)
    project = await session.scalar(stmt)
    if project is None:
        raise DomainError.single("NOT_FOUND", "No such project.", field)
    return project


def cited_schema_versions() -> SelectOfScalar[LabelSchemaVersion]:
    """Label-schema versions a readable label, review or decision was made under."""
    return select(LabelSchemaVersion)


def cited_guideline_versions() -> SelectOfScalar[GuidelineVersion]:
    """Guideline versions a readable label or decision was made under (only their numbers are shown)."""
    return select(GuidelineVersion)


async def list_projects(
    session: AsyncSession, actor: Actor, *, after: uuid.UUID | None, limit: int
) -> Sequence[Project]:
    """Projects the actor holds a role in (every project for org-wide roles), oldest first."""
    stmt = readable_projects(actor).order_by(col(Project.id)).limit(limit)
    if after is not None:
        stmt = stmt.where(col(Project.id) > after)
    return (await session.scalars(stmt)).all()
