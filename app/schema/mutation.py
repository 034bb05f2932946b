"""Running one mutation: the operation it is, its own write transaction with the whole validated
input bound for its audit event, and typed payload errors for what the caller can fix."""

from __future__ import annotations

import dataclasses
import enum
import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.utils.str_converters import to_camel_case

from app.errors import DomainError
from app.operations import Operation, bind_input
from app.schema.context import Info
from app.schema.errors import E, PublicError, errors_of
from app.schema.node import parse_global_id

R = TypeVar("R")


async def run_mutation(
    info: Info,
    operation: Operation,
    input: Any,
    action: Callable[[AsyncSession], Awaitable[R]],
    errors: type[E],
) -> R | list[E]:
    """The action's result once committed, or its area's errors for a DomainError, nothing written.

    `operation` (declared by the service, app/operations.py) names the permission the service
    checks and the audit action it records; `input` is the whole validated input, digested into
    that audit event.
    """
    try:
        async with info.context.writer() as session:
            bind_input(session, operation, input_payload(input))
            result = await action(session)
    except DomainError as exc:
        info.context.runtime.metrics.payload_errors(problem.code for problem in exc.problems)
        return errors_of(errors, exc.problems)
    await info.context.refresh()
    return result


def input_payload(value: Any) -> Any:
    """A strawberry input as plain JSON-able data, keyed as the client wrote it (camelCase).

    Only input fields are renamed: JSON values (item data, label values) are passed on as they
    came, keys and all.
    """
    if isinstance(value, list | tuple):
        return [input_payload(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if value is strawberry.UNSET:
        return None
    names = _input_fields(type(value)) if dataclasses.is_dataclass(value) and not isinstance(value, type) else None
    if names is None:
        return value
    return {camel: input_payload(getattr(value, name)) for name, camel in names}


@functools.cache
def _input_fields(input_type: type) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, to_camel_case(f.name)) for f in dataclasses.fields(input_type))


def input_id(value: str, expected: str, field: str) -> uuid.UUID:
    """A global id from mutation input; a malformed or mistyped one is a payload error."""
    try:
        type_name, pk = parse_global_id(value)
    except PublicError:
        raise DomainError.single("INVALID_ID", f"{field} is not an id of this API.", field) from None
    if type_name != expected:
        raise DomainError.single("INVALID_ID", f"{field} must be the id of a {expected}.", field)
    return pk
