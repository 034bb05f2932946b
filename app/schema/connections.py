"""Cursor connections (Relay) over keyset pages: the cursor is the last row's time-ordered id."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from app.schema.errors import bad_input

T = TypeVar("T")
Row = TypeVar("Row")

MAX_PAGE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of this page, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def encode_cursor(key: uuid.UUID | int) -> str:
    return base64.urlsafe_b64encode(str(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise bad_input("'after' is not a cursor from this API.") from exc


def uuid_cursor(cursor: str | None) -> uuid.UUID | None:
    raw = decode_cursor(cursor)
    try:
        return None if raw is None else uuid.UUID(raw)
    except ValueError as exc:
        raise bad_input("'after' is not a cursor from this API.") from exc


def int_cursor(cursor: str | None) -> int | None:
    raw = decode_cursor(cursor)
    try:
        return None if raw is None else int(raw)
    except ValueError as exc:
        raise bad_input("'after' is not a cursor from this API.") from exc


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"'first' must lie within 1..{MAX_PAGE}.")
    return first


def connection(
    rows: Sequence[Row],
    first: int,
    key: Callable[[Row], uuid.UUID | int],
    node: Callable[[Row], T],
    *,
    after: object = None,
) -> Connection[T]:
    """Build a page from up to first + 1 rows (the extra one only says a next page exists)."""
    page = rows[:first]
    edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
