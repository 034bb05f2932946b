"""Reading tasks, labels, reviews and final labels: statements scoped to what the actor may read.

- An assignment: one's own, or any in a project where one may read items.
- A label: one's own; any where one may read labels; and, for annotators, others' labels on an
  item only once they have labeled it themselves (judgments stay independent until then).
- A review: where its label is readable. A decision (every version; the one in force is the final
  label): where one may read items or labels.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.db import is_postgres
from app.errors import DomainError, Forbidden
from app.operations import Operation
from app.scopes import in_projects
from app.workflow.models import Assignment, Decision, Label, Review


def assignment_visible(actor: Actor) -> ColumnElement[bool]:
    return or_(
        col(Assignment.annotator_id) == actor.id,
        in_projects(actor, col(Assignment.project_id), "item", "read"),
    )


def label_visible(actor: Actor) -> ColumnElement[bool]:
    own = aliased(Label)
    after_own = and_(
        in_projects(actor, col(Label.project_id), "label", "create"),
        exists().where(col(own.item_id) == col(Label.item_id), col(own.author_id) == actor.id),
    )
    return or_(
        col(Label.author_id) == actor.id,
        in_projects(actor, col(Label.project_id), "label", "read"),
        after_own,
    )


def readable_assignments(actor: Actor) -> SelectOfScalar[Assignment]:
    return select(Assignment).where(assignment_visible(actor))


def readable_labels(actor: Actor) -> SelectOfScalar[Label]:
    return select(Label).where(label_visible(actor))


def readable_reviews(actor: Actor) -> SelectOfScalar[Review]:
    return select(Review).join(Label, col(Label.id) == col(Review.label_id)).where(label_visible(actor))


def readable_decisions(actor: Actor) -> SelectOfScalar[Decision]:
    """Every version of items' decisions; `.where(in_force())` keeps the final labels."""
    return select(Decision).where(
        or_(
            in_projects(actor, col(Decision.project_id), "item", "read"),
            in_projects(actor, col(Decision.project_id), "label", "read"),
        )
    )


def in_force() -> ColumnElement[bool]:
    return col(Decision.superseded_at).is_(None)


def require_label_list(actor: Actor, project_id: uuid.UUID) -> None:
    """Lists of an item's labels (and reviews) exist for those who read or make labels; for any
    other role the list itself is refused: null with FORBIDDEN on its path."""
    if not (actor.can("label", "read", project_id) or actor.can("label", "create", project_id)):
        raise Forbidden("You may not read labels in this project.")


def require_label_read(actor: Actor, project_id: uuid.UUID) -> None:
    """Label values shown outside a label (impact examples) need the right to read labels."""
    actor.require("label", "read", project_id)


def shows_people(actor: Actor, project_id: uuid.UUID) -> bool:
    """Who labeled and who decided is part of the labels: those who may not read labels (ML
    services) see decisions and their provenance ids, not the people behind them."""
    return actor.can("label", "read", project_id)


def require_task_label(actor: Actor, assignment: Assignment) -> None:
    """The label of a task one may see but did not do needs the right to read labels."""
    if assignment.annotator_id != actor.id:
        actor.require("label", "read", assignment.project_id)


async def find_own_task(
    session: AsyncSession, actor: Actor, assignment_id: uuid.UUID, operation: Operation
) -> Assignment:
    """The task an operation on one's own task names, locked for the transaction on PostgreSQL
    (against a concurrent submit, renewal, release or sweep; SQLite writers are serialised).

    Unreadable is NOT_FOUND; readable without the operation's permission is FORBIDDEN; someone
    else's (readable to those who may read items) is NOT_ASSIGNEE.
    """
    stmt = readable_assignments(actor).where(col(Assignment.id) == assignment_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    assignment = await session.scalar(stmt)
    if assignment is None:
        raise DomainError.single("NOT_FOUND", "No such assignment.", "assignmentId")
    operation.require(actor, assignment.project_id)
    if assignment.annotator_id != actor.id:
        raise DomainError.single("NOT_ASSIGNEE", "This task is leased to someone else.", "assignmentId")
    return assignment


async def get_assignment(session: AsyncSession, actor: Actor, assignment_id: uuid.UUID) -> Assignment | None:
    return await session.scalar(readable_assignments(actor).where(col(Assignment.id) == assignment_id))


async def get_label(session: AsyncSession, actor: Actor, label_id: uuid.UUID) -> Label | None:
    return await session.scalar(readable_labels(actor).where(col(Label.id) == label_id))


async def get_review(session: AsyncSession, actor: Actor, review_id: uuid.UUID) -> Review | None:
    return await session.scalar(readable_reviews(actor).where(col(Review.id) == review_id))


async def get_decision(session: AsyncSession, actor: Actor, decision_id: uuid.UUID) -> Decision | None:
    return await session.scalar(readable_decisions(actor).where(col(Decision.id) == decision_id))
