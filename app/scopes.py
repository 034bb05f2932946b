"""Statements scoped to what an actor may read: the SQL half of the one denial rule.

Every read of the API starts from a statement that already leaves out what the caller may
not see, so an object it cannot read and one that does not exist give the same answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor


def in_projects(actor: Actor, column: Any, obj: str, act: str) -> ColumnElement[bool]:
    """`column` (a project id) names a project where the actor may do (obj, act)."""
    projects = actor.projects_where(obj, act)
    if projects is None:
        return true()
    if not projects:
        return false()
    return column.in_(sorted(projects, key=uuid.UUID.__str__))  # type: ignore[no-any-return]


M = TypeVar("M")


async def rows_where_in(
    session: AsyncSession, base: SelectOfScalar[M], column: Any, keys: Sequence[Any], *, order_by: Any
) -> Sequence[M]:
    """The rows of a (scoped) statement whose `column` is one of `keys`: one batch of a DataLoader."""
    return (await session.scalars(base.where(column.in_(keys)).order_by(order_by))).all()
