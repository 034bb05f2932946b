"""Where the CLI's requests go: a running server, or the local store through the same app in process.

Remote: `--url` (or LABELGRAPH_URL) with the Bearer token in LABELGRAPH_TOKEN; the token says who is
acting. Local (no URL): `create_app(settings)` runs in this process behind an httpx transport onto
the ASGI app (app/client/streaming.py: bodies streamed), its lifespan started and stopped as a
server's is, and the requests carry tokens the Runtime's token service mints for the person named
by `--as` (the operator has the database, so this is their own store; the token is checked by the
same middleware as any other). Either way the commands see one `Api`, so there is one code path.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from app.client.api import TIMEOUT, Api
from app.client.errors import ApiError
from app.settings import Settings

if TYPE_CHECKING:
    from app.runtime import Runtime

CLIENT_ID = "labelgraph-cli"


@asynccontextmanager
async def connect(
    url: str | None, token: str | None, as_user: str | None, settings: Callable[[], Settings]
) -> AsyncIterator[Api]:
    """An Api on `url` with `token`, or (no url) on the local store acting as `as_user`.
    `settings` is called only for the local store (it checks the database URL, and may exit)."""
    if url:
        if as_user:
            raise ApiError("--as is for the local store: with --url the token says who you are")
        if not token:
            raise ApiError("set LABELGRAPH_TOKEN to an access token for the server at --url")
        async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=TIMEOUT) as http:
            yield Api(http, lambda: token, url)
        return
    if not as_user:
        raise ApiError("give --url (or LABELGRAPH_URL) for a server, or --as USERNAME to act on the local store")
    async with _local(settings(), as_user) as api:
        yield api


@asynccontextmanager
async def _local(settings: Settings, username: str) -> AsyncIterator[Api]:
    from app.client.streaming import StreamingASGITransport
    from app.main import create_app

    # The command's own work only: sweeps, retraining and webhook deliveries are the servers' (and
    # `labelgraph events dispatch`'s) to run, not a one-off import's.
    settings = dataclasses.replace(settings, events_dispatch=False, consent_sweep_s=0.0, retrain_poll_s=0.0)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        runtime: Runtime = application.state.runtime
        subject = await _active_user(runtime, username)
        mint = _Minter(lambda: str(runtime.tokens.issue(subject, CLIENT_ID)), runtime.tokens.lifetime_s)
        transport = StreamingASGITransport(application)
        async with httpx.AsyncClient(transport=transport, base_url="http://local", timeout=TIMEOUT) as http:
            yield Api(http, mint, "the local store")


async def _active_user(runtime: Runtime, username: str) -> uuid.UUID:
    """The id of the active identity named `username`; anyone else is refused in one line."""
    from sqlmodel import col, select

    from app.auth.models import User, UserStatus

    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(col(User.username) == username.lower()))
    if user is None or user.status is not UserStatus.ACTIVE:
        raise ApiError(f"no active user named {username} in the local store")
    return user.id


class _Minter:
    """A fresh token when the last one is half through its lifetime: an hour-long import never
    sends an expired one, and a token never lives longer than the server's usual."""

    def __init__(self, issue: Callable[[], str], lifetime_s: int) -> None:
        self._issue = issue
        self._renew_after = lifetime_s / 2
        self._token = ""
        self._at = 0.0

    def __call__(self) -> str:
        now = time.monotonic()
        if not self._token or now - self._at > self._renew_after:
            self._token, self._at = self._issue(), now
        return self._token
