"""Reading identities: oneself always; others for those who hand out roles or audit actors."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.auth.models import IdentityKind, User, UserStatus
from app.errors import Forbidden


def _reads_users(actor: Actor) -> bool:
    return actor.projects_where("user", "read") != set()


def email_of(actor: Actor, user: User) -> str | None:
    """A person's e-mail address: its own, or anyone's for those who read users; FORBIDDEN for
    the others (who see the person only as the author of something they read)."""
    if user.id != actor.id and not _reads_users(actor):
        raise Forbidden("You may not read e-mail addresses.")
    return user.email


def user_visible(actor: Actor) -> ColumnElement[bool]:
    return true() if _reads_users(actor) else col(User.id) == actor.id


def referenced_users() -> SelectOfScalar[User]:
    """People a readable row points at (its author, reviewer, decider, actor): shown with that
    row, so readable wherever the row is; looking a user up by id is `get_user`."""
    return select(User)


def readable_users(actor: Actor) -> SelectOfScalar[User]:
    return select(User).where(user_visible(actor))


async def get_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User | None:
    return await session.scalar(readable_users(actor).where(col(User.id) == user_id))


def has_status(status: UserStatus) -> ColumnElement[bool]:
    """User.status as SQL: the same reading of the same columns."""
    live = and_(col(User.erased_at).is_(None), col(User.deactivated_at).is_(None))
    ended = and_(col(User.erased_at).is_(None), col(User.deactivated_at).is_not(None))
    return {
        UserStatus.ERASED: col(User.erased_at).is_not(None),
        UserStatus.DEACTIVATED: and_(ended, col(User.kind) == IdentityKind.HUMAN),
        UserStatus.REVOKED: and_(ended, col(User.kind) == IdentityKind.SERVICE),
        UserStatus.ACTIVE: and_(live, col(User.is_active)),
        UserStatus.INVITED: and_(live, ~col(User.is_active)),
    }[status]


async def list_identities(
    session: AsyncSession,
    actor: Actor,
    *,
    search: str | None,
    after: uuid.UUID | None,
    limit: int,
    statuses: Sequence[UserStatus] = (),
    kind: IdentityKind | None = None,
) -> Sequence[User]:
    """Identities by username prefix, oldest first, of the given statuses and kind; the list is for
    those who hand out roles (and compliance officers, who put names to audit events): FORBIDDEN
    for anyone else."""
    if not _reads_users(actor):
        raise Forbidden("You may not list users.")
    stmt = select(User).order_by(col(User.id)).limit(limit)
    if search:
        stmt = stmt.where(col(User.username).startswith(search.lower(), autoescape=True))
    if statuses:
        stmt = stmt.where(or_(*(has_status(status) for status in statuses)))
    if kind is not None:
        stmt = stmt.where(col(User.kind) == kind)
    if after is not None:
        stmt = stmt.where(col(User.id) > after)
    return (await session.scalars(stmt)).all()
