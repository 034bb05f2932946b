"""A subscriber's stream of a project's events: replayed from the outbox, then live from the hub.

Authorized like the queries: the project must be readable (else NOT_FOUND, as a missing one)
and the subscriber needs `event read` there (else FORBIDDEN). The right is asked again before
every event and at least every HEARTBEAT_S while nothing comes, together with the identity
(deactivated or erased accounts are cut off) and the access token's expiry: a subscription
ends when the token that opened it would no longer be accepted (reconnect with a fresh one).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.actor import Actor
from app.errors import Unauthenticated
from app.events.hub import SubscriptionHub
from app.events.kinds import EventKind
from app.events.models import Event
from app.events.reads import events_after, recheck_events, require_events
from app.projects.reads import get_project

HEARTBEAT_S = 10.0
REPLAY_PAGE = 500


async def project_events(
    sessions: async_sessionmaker[AsyncSession],
    hub: SubscriptionHub,
    actor: Actor,
    project_id: uuid.UUID,
    kinds: Collection[EventKind],
    after: int | None,
    *,
    expires_at: int,
    still_active: Callable[[], Awaitable[bool]],
) -> AsyncIterator[Event]:
    async with sessions() as session:
        require_events(actor, await get_project(session, actor, project_id))
    subscriber = await hub.subscribe(project_id, kinds)
    try:
        last = subscriber.start if after is None else max(after, 0)
        while last < subscriber.start:  # the replay: committed before the subscription began
            async with sessions() as session:
                page = await events_after(
                    session, last, project_id=project_id, kinds=list(kinds), up_to=subscriber.start, limit=REPLAY_PAGE
                )
            for event in page:
                await _check(actor, project_id, expires_at, still_active)
                yield event
                last = event.seq
            if len(page) < REPLAY_PAGE:
                break
        last = max(last, subscriber.start)
        while True:
            live = await subscriber.next(HEARTBEAT_S)
            await _check(actor, project_id, expires_at, still_active)
            if live is None or live.seq <= last:
                continue
            yield live
            last = live.seq
    finally:
        await hub.unsubscribe(subscriber)


async def _check(
    actor: Actor, project_id: uuid.UUID, expires_at: int, still_active: Callable[[], Awaitable[bool]]
) -> None:
    if time.time() >= expires_at or not await still_active():
        raise Unauthenticated("The access token expired or its identity is gone: subscribe again with a fresh one.")
    recheck_events(actor, project_id)
