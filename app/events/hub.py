"""Live events for GraphQL subscriptions, read from the outbox by sequence.

One poller per server process (started with its first subscriber, stopped with its last) reads
the events committed after the newest it has seen, `seq > head`, and hands each to the
subscribers of its project and kind. It is woken after every local commit that wrote events
and otherwise polls every `events_poll_s`, so events committed by other server processes reach
this process's subscribers too, within that interval: no broker, and every process sees every
event in the same order (seq is commit order, app/events/outbox.py). A subscriber that falls
more than QUEUE_SIZE events behind is ended with an error (it may resume with afterSequence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events import outbox
from app.events.kinds import EventKind
from app.events.models import Event
from app.events.reads import events_after, head

logger = logging.getLogger("labelgraph.events")
QUEUE_SIZE = 1000


class Overflow(Exception):
    """The subscriber did not keep up."""


@dataclass(eq=False)
class Subscriber:
    project_id: uuid.UUID
    kinds: frozenset[EventKind]
    start: int  # the newest sequence number when it subscribed: live events come after it
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def wants(self, event: Event) -> bool:
        return event.project_id == self.project_id and (not self.kinds or event.kind in self.kinds)

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # read as the overflow

    async def next(self, wait_s: float) -> Event | None:
        """The next event, or None after `wait_s` with nothing (the caller re-checks its rights)."""
        try:
            event = await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            return None
        if event is None:
            raise Overflow
        return event


class SubscriptionHub:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], poll_s: float) -> None:
        self.sessions = sessions
        self.poll_s = poll_s
        self.head = 0
        self._subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._forget: list[object] = []
        self._starting = asyncio.Lock()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def subscribe(self, project_id: uuid.UUID, kinds: Collection[EventKind]) -> Subscriber:
        async with self._starting:
            if self._task is None:
                async with self.sessions() as session:
                    self.head = await head(session)
                self._forget.append(outbox.listen(self.sessions, self._wake.set))
                self._task = asyncio.create_task(self._run(), name="events-subscriptions")
            subscriber = Subscriber(project_id, frozenset(kinds), self.head)
            self._subscribers.add(subscriber)
            return subscriber

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        if not self._subscribers:
            await self.stop()

    async def stop(self) -> None:
        for forget in self._forget:
            forget()  # type: ignore[operator]
        self._forget.clear()
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()
            try:
                await self.poll()
            except Exception as exc:  # the database away for a moment: the next tick tries again
                logger.warning("event subscriptions: poll failed (%s)", type(exc).__name__)

    async def poll(self) -> None:
        while True:
            async with self.sessions() as session:
                batch = await events_after(session, self.head)
            for event in batch:
                for subscriber in list(self._subscribers):
                    if subscriber.wants(event):
                        subscriber.offer(event)
                self.head = event.seq
            if len(batch) < 500:
                return
