"""Errors the services raise; the GraphQL layer turns each kind into its public shape."""

from __future__ import annotations

import enum
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


class CommonErrorCode(enum.StrEnum):
    """Codes every area's operations can answer."""

    NOT_FOUND = "NOT_FOUND"  # no such object, or one the caller may not read (the same answer)
    INVALID_ID = "INVALID_ID"  # not an id of this API, or of the wrong type
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"


def error_codes(name: str, doc: str, *parts: type[enum.StrEnum]) -> type[enum.StrEnum]:
    """An area's error-code enum: the union of the code groups its operations can answer.

    Code groups (a module's own codes, the label-schema language's, JSON bounds') are listed
    once where they are raised and composed per area, as the area's payload errors need them.
    """
    members = sorted({member.value for part in parts for member in part})
    codes = enum.StrEnum(name, {value: value for value in members})  # type: ignore[misc]
    codes.__doc__ = doc
    return codes
