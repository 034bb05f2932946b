"""Errors the services raise; the GraphQL layer turns each kind into its public shape."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: a stable code, a readable message, the field at fault."""

    code: str
    message: str
    field: str | None = None


class DomainError(Exception):
    """An expected failure the caller can correct; nothing of the operation was written."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def single(cls, code: str, message: str, field: str | None = None) -> DomainError:
        return cls([Problem(code, message, field)])


class Unauthenticated(Exception):
    """No valid credentials came with the request."""


class Forbidden(Exception):
    """The actor is known but may not do this. Its message is safe to show."""

    # Read by graphql-core into the error's extensions.
    extensions = {"code": "FORBIDDEN"}

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)
