"""Public error shapes: typed payload errors for expected failures, coded GraphQL errors for the rest.

Every mutation payload lists `errors` of its area's type (WorkflowError, TaxonomyError, ...):
each implements the `UserError` interface and carries a `code` from its area's enum
(app/<area>/error_codes.py), so generated clients can switch on codes exhaustively.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

import strawberry
from graphql import GraphQLError

from app.errors import Forbidden, Problem

logger = logging.getLogger("labelgraph.graphql")


class PublicError(Exception):
    """An error whose message is safe to show; everything else is masked."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code}


def bad_input(message: str) -> PublicError:
    return PublicError(message, "BAD_USER_INPUT")


def should_mask(error: GraphQLError) -> bool:
    # Parse and validation errors carry no original error, and variable-coercion errors wrap
    # graphql-core's own GraphQLError ("Float cannot represent ..."): both stay readable.
    original = error.original_error
    return original is not None and not isinstance(original, PublicError | Forbidden | GraphQLError)


@strawberry.interface(
    description="An expected failure the caller can correct: nothing of the mutation was written. "
    "Each area's error type adds `code`, a value of that area's error-code enum."
)
class UserError:
    field: str | None = strawberry.field(description="Dotted path of the input at fault, when one is.")
    message: str = strawberry.field(description="For people; carries no data the reader may not see.")
    # The area's code enum (the Python side of the `code` field).
    codes: ClassVar[type[enum.StrEnum]]


E = TypeVar("E", bound=UserError)


class UndeclaredErrorCode(Exception):
    """A service raised a code its area's enum lacks: a bug (tests/schema/test_error_codes.py)."""


def errors_of(error_type: type[E], problems: Iterable[Problem]) -> list[E]:
    found = []
    for problem in problems:
        try:
            code = error_type.codes(problem.code)
        except ValueError:
            raise UndeclaredErrorCode(f"{problem.code} is not a {error_type.codes.__name__}") from None
        found.append(error_type(code=code, field=problem.field, message=problem.message))  # type: ignore[call-arg]
    return found
