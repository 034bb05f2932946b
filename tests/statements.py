"""Counting the SQL statements a request costs (for tests that keep that cost flat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event

from tests.conftest import Api


@asynccontextmanager
async def counted(api: Api) -> AsyncIterator[list[str]]:
    """Every statement sent meanwhile; the access history writes none of its batches meanwhile
    (they are every request's, written apart, and would land at random in the count)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = api.runtime.engine.sync_engine
    async with api.runtime.access.held():
        event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", count)
