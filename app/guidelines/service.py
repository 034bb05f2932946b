"""Guideline versions: one draft at a time, published by a project manager with a changelog,
and acknowledged by the people who label before they claim work again."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.discussion.models import Comment
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.guidelines import content as guideline_content
from app.guidelines.diff import GuidelineDiff, diff
from app.guidelines.models import GuidelineAcknowledgement, GuidelineStatus, GuidelineVersion
from app.ids import id_from_path
from app.ingestion.models import Item
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema, current_guideline, guideline_row
from app.scopes import in_projects
from app.taxonomy.schema_language import LabelSchema
from app.workflow.models import Decision

SAVE_GUIDELINE_DRAFT = Operation("saveGuidelineDraft", Permission("guideline", "write"), audit="guideline.draft")
PUBLISH_GUIDELINE = Operation("publishGuideline", Permission("guideline", "write"), audit="guideline.publish")
ACKNOWLEDGE_GUIDELINE = Operation(
    "acknowledgeGuideline", Permission("guideline", "acknowledge"), audit="guideline.acknowledge"
)

MAX_CHANGELOG = 10_000


class DraftStart(enum.StrEnum):
    """What a draft is rebuilt from before the given parts are applied."""

    IN_FORCE = "IN_FORCE"  # the published version in force (body and content)
    EMPTY = "EMPTY"  # an empty body and no content


async def save_draft(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    *,
    body: str | None = None,
    content: Any = None,
    start_from: DraftStart | None = None,
) -> GuidelineVersion:
    """Create the project's draft or edit the one being written, changing only the parts given.

    The base is the draft being written; with no draft (or with ``start_from``), the version in
    force, or nothing for ``EMPTY``. A ``body`` given replaces the base's body. ``content`` is
    applied section by section: each section given (definitions, examples, edgeCases,
    decisionTree) replaces the base's, a section given as null is cleared, and the sections left
    out keep the base's. The result is checked against the schema in force as a whole.
    """
    # Locked on PostgreSQL: two first saves from two processes would both number a new draft.
    project = await find_project(session, actor, project_id, lock=True)
    SAVE_GUIDELINE_DRAFT.require(actor, project.id)
    draft = await _draft(session, project.id)
    base_body, base_content = await _base(session, project, draft, start_from)
    new_body = base_body if body is None else body
    normalized = await _checked(session, project, new_body, _merged(base_content, content))
    draft = await _store_draft(session, actor, project, draft, new_body, normalized)
    await audit.record(
        session,
        actor,
        SAVE_GUIDELINE_DRAFT.audit,
        "GuidelineVersion",
        draft.id,
        project_id=project.id,
        request={"body": body, "content": content, "startFrom": start_from.value if start_from else None},
        details={"version": draft.version},
    )
    return draft


async def add_edge_case(session: AsyncSession, actor: Actor, project: Project, case: dict[str, Any]) -> AddedEdgeCase:
    """Append an edge case to the project's draft, started from the version in force when there is
    none; the whole draft is checked as a save is. For promotions (app/discussion/service.py), whose
    operation checks its permission (guideline write), locks the project and records the event."""
    draft = await _draft(session, project.id)
    body, content = await _base(session, project, draft, None)
    cases = [*content.get("edgeCases", []), case]
    normalized = await _checked(session, project, body, {**content, "edgeCases": cases})
    return AddedEdgeCase(await _store_draft(session, actor, project, draft, body, normalized), len(cases) - 1)


@dataclass(frozen=True)
class AddedEdgeCase:
    draft: GuidelineVersion
    index: int  # of the new edge case in the draft's edgeCases


async def _store_draft(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    draft: GuidelineVersion | None,
    body: str,
    normalized: dict[str, Any],
) -> GuidelineVersion:
    now = utcnow()
    if draft is None:
        latest = await session.scalar(
            select(func.max(GuidelineVersion.version)).where(GuidelineVersion.project_id == project.id)
        )
        draft = GuidelineVersion(
            project_id=project.id, version=(latest or 0) + 1, created_by=actor.id, created_at=now, updated_at=now
        )
        session.add(draft)
    draft.body, draft.content, draft.updated_at = body, normalized, now
    await session.flush()
    return draft


async def _base(
    session: AsyncSession, project: Project, draft: GuidelineVersion | None, start_from: DraftStart | None
) -> tuple[str, dict[str, Any]]:
    """The body and stored content a save edits."""
    if start_from is DraftStart.EMPTY:
        return "", {}
    if start_from is None and draft is not None:
        return draft.body, dict(draft.content or {})
    in_force = await guideline_row(session, project)
    if in_force is None:
        if start_from is DraftStart.IN_FORCE:
            raise DomainError.single(
                "NOT_IN_FORCE", "No guideline is in force to start from; start from EMPTY.", "startFrom"
            )
        return "", {}
    return in_force.body, dict(in_force.content or {})


def _merged(base: dict[str, Any], given: Any) -> Any:
    """The base's content with the sections given replacing its own (null clears one)."""
    if given is None:
        return base
    if not isinstance(given, Mapping):
        return given  # the check reports the shape
    merged = {**base, **given}
    return {key: value for key, value in merged.items() if value is not None}


async def publish(session: AsyncSession, actor: Actor, project_id: uuid.UUID, changelog: str) -> GuidelineVersion:
    """Put the draft in force. Its content is checked again: the schema may have changed since."""
    project = await find_project(session, actor, project_id, lock=True)
    PUBLISH_GUIDELINE.require(actor, project.id)
    draft = await _draft(session, project.id)
    if draft is None:
        raise DomainError.single("NO_DRAFT", "There is no draft to publish; save one first.", "projectId")
    problems = []
    if not changelog.strip():
        problems.append(Problem("REQUIRED", "Say what changed: a changelog entry is required.", "changelog"))
    elif len(changelog) > MAX_CHANGELOG:
        problems.append(Problem("TOO_LONG", f"changelog allows {MAX_CHANGELOG} characters.", "changelog"))
    if problems:
        raise DomainError(problems)
    await _checked(session, project, draft.body, draft.content)
    now = utcnow()
    draft.status = GuidelineStatus.PUBLISHED
    draft.changelog = changelog.strip()
    draft.published_by, draft.published_at, draft.updated_at = actor.id, now, now
    previous = project.guideline_version
    project.guideline_version = draft.version
    await session.flush()
    await audit.record(
        session,
        actor,
        PUBLISH_GUIDELINE.audit,
        "GuidelineVersion",
        draft.id,
        project_id=project.id,
        request={"projectId": str(project.id), "changelog": changelog},
        details={"version": draft.version, "previous": previous, "changelog": draft.changelog},
    )
    published = {"guidelineVersionId": draft.id, "version": draft.version}
    events.emit(session, project.id, EventKind.GUIDELINE_PUBLISHED, published)
    return draft


async def acknowledge(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, version: int
) -> GuidelineAcknowledgement:
    """Record that the actor read the guideline in force. Acknowledging twice returns the first record."""
    project = await find_project(session, actor, project_id)
    ACKNOWLEDGE_GUIDELINE.require(actor, project.id)
    if project.guideline_version is None or version != project.guideline_version:
        in_force = project.guideline_version
        message = f"Version {in_force} is in force; acknowledge that one." if in_force else "No guideline is in force."
        raise DomainError.single("NOT_IN_FORCE", message, "version")
    row = await _published(session, project.id, version)
    found = await session.scalar(
        select(GuidelineAcknowledgement).where(
            GuidelineAcknowledgement.guideline_version_id == row.id, GuidelineAcknowledgement.user_id == actor.id
        )
    )
    if found is not None:
        return found
    ack = GuidelineAcknowledgement(project_id=project.id, guideline_version_id=row.id, user_id=actor.id)
    session.add(ack)
    await session.flush()
    await audit.record(
        session,
        actor,
        ACKNOWLEDGE_GUIDELINE.audit,
        "GuidelineVersion",
        row.id,
        project_id=project.id,
        request={"projectId": str(project.id), "version": version},
        details={"version": version},
    )
    return ack


# (user, guideline version) pairs seen acknowledged. Acknowledgements are never withdrawn, and a
# pair is remembered only once read back from the database, so a rolled-back one never counts.
_acknowledged: set[tuple[uuid.UUID, uuid.UUID]] = set()


async def require_acknowledged(session: AsyncSession, actor: Actor, project: Project, field: str) -> None:
    """Claims wait until the claimant has acknowledged the guideline in force."""
    row = await current_guideline(session, project)
    if row is None or await has_acknowledged(session, actor.id, row.id):
        return
    raise DomainError.single(
        "GUIDELINE_NOT_ACKNOWLEDGED",
        f"Guideline version {row.version} is in force: read it and acknowledge it (acknowledgeGuideline) "
        "before claiming work.",
        field,
    )


async def has_acknowledged(session: AsyncSession, user_id: uuid.UUID, version_id: uuid.UUID) -> bool:
    """Whether the user acknowledged the version; a yes read from the database is remembered."""
    if (user_id, version_id) in _acknowledged:
        return True
    found = await session.scalar(
        select(GuidelineAcknowledgement.id).where(
            GuidelineAcknowledgement.guideline_version_id == version_id, GuidelineAcknowledgement.user_id == user_id
        )
    )
    if found is None:
        return False
    if len(_acknowledged) > 100_000:
        _acknowledged.clear()
    _acknowledged.add((user_id, version_id))
    return True


async def get_version(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, version: int
) -> GuidelineVersion | None:
    """A version by number; a draft only for those who may write one."""
    actor.require("guideline", "read", project_id)
    row = await session.scalar(
        select(GuidelineVersion).where(GuidelineVersion.project_id == project_id, GuidelineVersion.version == version)
    )
    if row is not None and row.status is GuidelineStatus.DRAFT and not actor.can("guideline", "write", project_id):
        return None
    return row


async def get_version_by_id(session: AsyncSession, actor: Actor, version_id: uuid.UUID) -> GuidelineVersion | None:
    """A version by id under the same rule as by number: None when it is not there for the actor."""
    row = await session.scalar(
        select(GuidelineVersion).where(
            col(GuidelineVersion.id) == version_id,
            in_projects(actor, col(GuidelineVersion.project_id), "guideline", "read"),
        )
    )
    if row is not None and row.status is GuidelineStatus.DRAFT and not actor.can("guideline", "write", row.project_id):
        return None
    return row


async def schema_in_force(session: AsyncSession, project_id: uuid.UUID) -> LabelSchema:
    """The label schema a guideline of the project is checked against."""
    project = await session.get(Project, project_id)
    assert project is not None, "rows point at their project with a foreign key"
    return (await active_schema(session, project)).schema


async def get_in_force(session: AsyncSession, actor: Actor, project: Project) -> GuidelineVersion | None:
    if project.guideline_version is None:
        return None
    return await get_version(session, actor, project.id, project.guideline_version)


async def get_draft(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> GuidelineVersion | None:
    """The draft being written; it exists only for those who may write one."""
    if not actor.can("guideline", "write", project_id):
        return None
    return await _draft(session, project_id)


async def list_versions(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, *, before: int | None, limit: int
) -> Sequence[GuidelineVersion]:
    """Published versions, newest first: the guideline's changelog."""
    actor.require("guideline", "read", project_id)
    stmt = (
        select(GuidelineVersion)
        .where(GuidelineVersion.project_id == project_id, GuidelineVersion.status == GuidelineStatus.PUBLISHED)
        .order_by(col(GuidelineVersion.version).desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(col(GuidelineVersion.version) < before)
    return (await session.scalars(stmt)).all()


async def version_diff(session: AsyncSession, actor: Actor, project_id: uuid.UUID, old: int, new: int) -> GuidelineDiff:
    rows = []
    for number, field in ((old, "from"), (new, "to")):
        row = await get_version(session, actor, project_id, number)
        if row is None:
            raise DomainError.single("NOT_FOUND", f"No guideline version {number} here.", field)
        rows.append(row)
    before, after = rows
    return diff(
        before.body,
        guideline_content.parse(before.content),
        after.body,
        guideline_content.parse(after.content),
        old_label=f"v{before.version}",
        new_label=f"v{after.version}",
    )


async def list_acknowledgements(
    session: AsyncSession, actor: Actor, version: GuidelineVersion, *, after: uuid.UUID | None, limit: int
) -> Sequence[GuidelineAcknowledgement]:
    actor.require("acknowledgement", "read", version.project_id)
    stmt = (
        select(GuidelineAcknowledgement)
        .where(GuidelineAcknowledgement.guideline_version_id == version.id)
        .order_by(col(GuidelineAcknowledgement.id))
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(col(GuidelineAcknowledgement.id) > after)
    return (await session.scalars(stmt)).all()


async def _checked(session: AsyncSession, project: Project, body: str, content: Any) -> dict[str, Any]:
    """The content to store, checked against the schema in force; its item references must be the project's."""
    schema = (await active_schema(session, project)).schema
    bounded = json_bounds.check(content, "content")
    if bounded:
        raise DomainError(bounded)
    checked = guideline_content.check({} if content is None else content, schema)
    problems = [*checked.problems, *guideline_content.check_body(body)]
    problems += await _unknown_items(session, project.id, checked.item_refs)
    problems += await _unknown_sources(session, project.id, checked.source_refs)
    if problems or checked.normalized is None:
        raise DomainError(problems)
    return checked.normalized


async def _unknown_items(
    session: AsyncSession, project_id: uuid.UUID, refs: Sequence[tuple[str, str]]
) -> list[Problem]:
    wanted = {path: id_from_path(raw, "Item") for path, raw in refs}
    ids = {pk for pk in wanted.values() if pk is not None}
    found = set()
    if ids:
        found = set(
            (await session.scalars(select(Item.id).where(Item.project_id == project_id, col(Item.id).in_(ids)))).all()
        )
    return [
        Problem("UNKNOWN_ITEM", "Examples may only cite items of this project, by id.", path)
        for path, pk in wanted.items()
        if pk not in found
    ]


async def _unknown_sources(
    session: AsyncSession, project_id: uuid.UUID, refs: Sequence[tuple[str, guideline_content.EdgeCaseSource]]
) -> list[Problem]:
    """An edge case's source comment or decision must be one of its item's (in this project)."""
    problems = []
    for path, source in refs:
        item_id = id_from_path(source.item_id, "Item")
        for key, raw, model, type_name in (
            ("commentId", source.comment_id, Comment, "Comment"),
            ("decisionId", source.decision_id, Decision, "Decision"),
        ):
            if raw is None:
                continue
            pk = id_from_path(raw, type_name)
            found = None
            if pk is not None and item_id is not None:
                found = await session.scalar(
                    select(model.id).where(model.id == pk, model.item_id == item_id, model.project_id == project_id)
                )
            if found is None:
                problems.append(
                    Problem(
                        "UNKNOWN_SOURCE", f"The source's {key} must name a {type_name} of its item.", f"{path}.{key}"
                    )
                )
    return problems


async def _draft(session: AsyncSession, project_id: uuid.UUID) -> GuidelineVersion | None:
    return await session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.project_id == project_id, GuidelineVersion.status == GuidelineStatus.DRAFT
        )
    )


async def _published(session: AsyncSession, project_id: uuid.UUID, version: int) -> GuidelineVersion:
    row = await session.scalar(
        select(GuidelineVersion).where(GuidelineVersion.project_id == project_id, GuidelineVersion.version == version)
    )
    assert row is not None, "a project's guideline in force exists"
    return row
