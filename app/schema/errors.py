"""Public error shapes: payload UserErrors for expected failures, coded GraphQL errors for the rest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError

from app.errors import DomainError, Forbidden, Problem


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


@strawberry.type(description="An expected failure: nothing of the mutation was written.")
class UserError:
    code: str = strawberry.field(description="Stable, machine-readable reason, e.g. NOT_FOUND.")
    field: str | None = strawberry.field(description="Dotted path of the input at fault, when one is.")
    message: str


def problem_errors(problems: Iterable[Problem]) -> list[UserError]:
    return [UserError(code=p.code, field=p.field, message=p.message) for p in problems]


def user_errors(exc: DomainError) -> list[UserError]:
    return problem_errors(exc.problems)
