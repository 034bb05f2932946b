"""Reading threads: statements scoped to what the actor may read.

A thread on an item is readable where one may read comments (`comment read`) and either reads the
project's items (reviewers, QA auditors, experts, project managers, admins) or has submitted a
label on that very item (an annotator, afterwards: discussion would otherwise tell it what others
think before it judged for itself). A live claim without a label is not enough. ML services read
items but not comments; compliance officers read neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.auth.models import User
from app.discussion.models import Comment, CommentMention
from app.errors import DomainError, Forbidden
from app.ingestion.models import Item
from app.ingestion.reads import get_item
from app.operations import Operation
from app.scopes import in_projects
from app.workflow.models import Label


def discussion_visible(actor: Actor, project_id: Any, item_id: Any) -> ColumnElement[bool]:
    """The rule above, for the item `item_id` of project `project_id` (columns of the statement it scopes)."""
    own_label = exists().where(col(Label.item_id) == item_id, col(Label.author_id) == actor.id)
    return and_(
        in_projects(actor, project_id, "comment", "read"),
        or_(
            in_projects(actor, project_id, "item", "read"),
            and_(in_projects(actor, project_id, "label", "create"), own_label),
        ),
    )


def comment_visible(actor: Actor) -> ColumnElement[bool]:
    return discussion_visible(actor, col(Comment.project_id), col(Comment.item_id))


def readable_comments(actor: Actor) -> SelectOfScalar[Comment]:
    return select(Comment).where(comment_visible(actor))


def discussable_items(actor: Actor) -> SelectOfScalar[Item]:
    """Items whose thread the actor may read."""
    return select(Item).where(discussion_visible(actor, col(Item.project_id), col(Item.id)))


def require_comment_list(actor: Actor, project_id: uuid.UUID) -> None:
    """An item's comments are a list for those who read comments (empty until the thread is theirs
    to read); for any other role the list is refused: null with FORBIDDEN on its path."""
    if not actor.can("comment", "read", project_id):
        raise Forbidden("You may not read comments in this project.")


async def find_item(session: AsyncSession, actor: Actor, item_id: uuid.UUID, operation: Operation) -> Item:
    """The item an operation on its thread names.

    Unreadable item: NOT_FOUND. Readable without the operation's permission: FORBIDDEN. Readable,
    permitted, but its thread not yet the actor's (an annotator holding a claim, no label yet):
    NOT_FOUND too, exactly as a missing item.
    """
    item = await get_item(session, actor, item_id)
    if item is None:
        raise DomainError.single("NOT_FOUND", "No such item.", "itemId")
    operation.require(actor, item.project_id)
    if await session.scalar(discussable_items(actor).where(col(Item.id) == item.id)) is None:
        raise DomainError.single("NOT_FOUND", "No such item.", "itemId")
    return item


async def find_comment(
    session: AsyncSession, actor: Actor, comment_id: uuid.UUID, operation: Operation, field: str = "commentId"
) -> Comment:
    """A comment an operation names: NOT_FOUND unless readable, FORBIDDEN without the permission."""
    comment = await session.scalar(readable_comments(actor).where(col(Comment.id) == comment_id))
    if comment is None:
        raise DomainError.single("NOT_FOUND", "No such comment.", field)
    operation.require(actor, comment.project_id)
    return comment


async def get_comment(session: AsyncSession, actor: Actor, comment_id: uuid.UUID) -> Comment | None:
    return await session.scalar(readable_comments(actor).where(col(Comment.id) == comment_id))


async def may_read_thread(session: AsyncSession, user: User, actor: Actor, item: Item) -> bool:
    """Whether another person (someone to mention) may read the item's thread: the same statement,
    asked as that person (its grants, from the same Authorizer)."""
    if not user.is_active:
        return False
    other = Actor(user.id, user.username, user.kind, actor.authorizer)
    return await session.scalar(discussable_items(other).where(col(Item.id) == item.id)) is not None


async def list_mentions(
    session: AsyncSession, actor: Actor, *, after: uuid.UUID | None, limit: int
) -> Sequence[Comment]:
    """Live comments that mention the actor and that it may (still) read, newest first."""
    stmt = (
        readable_comments(actor)
        .join(CommentMention, col(CommentMention.comment_id) == col(Comment.id))
        .where(col(CommentMention.user_id) == actor.id, col(Comment.deleted_at).is_(None))
        .order_by(col(Comment.id).desc())
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(col(Comment.id) < after)
    return (await session.scalars(stmt)).all()
