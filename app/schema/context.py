"""The per-request context: the actor, one read transaction, and the request's DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as StrawberryInfo

from app.auth.actor import Actor
from app.db import unit_of_work
from app.runtime import Runtime

if TYPE_CHECKING:
    from app.schema.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response | None
    runtime: Runtime
    actor: Actor
    _session: AsyncSession | None = None
    # Resolvers run concurrently; one AsyncSession must not. Loaders and resolvers take turns.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = None

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The request's read transaction (opened on first use), held exclusively meanwhile."""
        async with self._lock:
            if self._session is None:
                self._session = self.runtime.sessions()
            yield self._session

    def writer(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A fresh write transaction for one mutation: committed when it succeeds, else rolled back."""
        return unit_of_work(self.runtime.sessions, write=True)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from app.schema.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    async def refresh(self) -> None:
        """After a mutation commits, later reads in this request must see it: drop what was read."""
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None
            self._loaders = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


Info = StrawberryInfo[Context, None]
