"""Running one mutation: its own write transaction, typed payload errors for what the caller can fix."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.schema.context import Info
from app.schema.errors import PublicError, UserError, user_errors
from app.schema.node import parse_global_id

R = TypeVar("R")


async def run_mutation(info: Info, action: Callable[[AsyncSession], Awaitable[R]]) -> R | list[UserError]:
    """The action's result once committed, or the errors of a DomainError with nothing written."""
    try:
        async with info.context.writer() as session:
            result = await action(session)
    except DomainError as exc:
        return user_errors(exc)
    await info.context.refresh()
    return result


def input_id(value: str, expected: str, field: str) -> uuid.UUID:
    """A global id from mutation input; a malformed or mistyped one is a payload error."""
    try:
        type_name, pk = parse_global_id(value)
    except PublicError:
        raise DomainError.single("INVALID_ID", f"{field} is not an id of this API.", field) from None
    if type_name != expected:
        raise DomainError.single("INVALID_ID", f"{field} must be the id of a {expected}.", field)
    return pk
