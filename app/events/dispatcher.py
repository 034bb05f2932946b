"""The dispatcher: claims due deliveries, sends them, records each attempt.

A pass (`run_once`) claims up to a batch of PENDING deliveries whose `next_attempt_at` has come,
in one short write transaction: on PostgreSQL `FOR UPDATE SKIP LOCKED`, so several server
processes (or `labelgraph events dispatch`) never claim the same row; on SQLite the write
transaction serialises claims. Claiming counts the attempt and pushes `next_attempt_at` out by a
lease, so nothing else picks it up meanwhile, and a dispatcher that dies mid-send leaves it due
again once the lease ends (at-least-once: receivers de-duplicate by the event id). The requests
go out with no transaction open; a second short transaction records the outcomes: 2xx is
SUCCEEDED; anything else schedules the next try after an exponential backoff with jitter
(base * 2^(n-1), capped, times a random factor in [0.5, 1]) until `webhook_max_attempts`, then
FAILED. Failures never reach the change that emitted the event: they are rows in the log.

In a server the dispatcher is an asyncio task (started in the app's lifespan, app/runtime.py),
woken after every local commit that wrote events and otherwise every `events_poll_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.clock import utcnow
from app.compliance.audit import CHAIN_LOCK_KEY
from app.db import is_postgres, serialize_on, unit_of_work
from app.events import outbox, signing
from app.events.addresses import AddressPolicy
from app.events.models import DeliveryStatus, Event, Webhook, WebhookAttempt, WebhookDelivery
from app.events.reads import envelope
from app.events.sender import Outcome, Request, Sender
from app.ids import encode_global_id
from app.metrics import registry as metrics
from app.settings import Settings

logger = logging.getLogger("labelgraph.events")
BATCH = 100
CONCURRENCY = 8
_random = secrets.SystemRandom()


def backoff_s(round_attempts: int, base_s: float, cap_s: float, jitter: float | None = None) -> float:
    """The wait before the next try after the round's n-th failed attempt."""
    factor = _random.uniform(0.5, 1.0) if jitter is None else jitter
    return float(min(cap_s, base_s * 2 ** (round_attempts - 1)) * factor)


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    attempt: int  # the delivery's attempt number (the log's)
    round_attempt: int
    request: Request


@dataclass
class Report:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed

    def summary(self) -> str:
        errors = ", ".join(f"{code} {count}" for code, count in sorted(self.errors.items()))
        text = f"attempted {self.attempted}: delivered {self.delivered}, retrying {self.retrying}, failed {self.failed}"
        return text + (f" ({errors})" if errors else "")


class Dispatcher:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, *, sender: Sender | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.policy = AddressPolicy(settings.webhook_allowed_networks)
        self.sender = sender or Sender(self.policy, settings.webhook_timeout_s)
        self.key = settings.webhook_key_bytes()
        self.lease = timedelta(seconds=settings.webhook_timeout_s * 3 + 30)
        self._wake = asyncio.Event()
        self._running = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._forget: list[object] = []

    def start(self) -> None:
        if self._task is None:
            self._forget.append(outbox.listen(self.sessions, self.wake))
            self._task = asyncio.create_task(self._run(), name="events-dispatcher")

    async def stop(self) -> None:
        for forget in self._forget:
            forget()  # type: ignore[operator]
        self._forget.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.sender.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.events_poll_s)
            self._wake.clear()
            try:
                await self.run_once()
            except Exception as exc:  # the database away for a moment: try again at the next tick
                logger.warning("events dispatcher: pass failed (%s)", type(exc).__name__)

    async def run_once(self, limit: int = 1000) -> Report:
        """One pass: every delivery due now (up to `limit`), each attempted once."""
        report = Report()
        async with self._running:
            seen: set[uuid.UUID] = set()
            while report.attempted < limit:
                claimed = await self._claim(min(BATCH, limit - report.attempted), seen)
                if not claimed:
                    break
                seen.update(c.delivery_id for c in claimed)
                gate = asyncio.Semaphore(CONCURRENCY)
                outcomes = await asyncio.gather(*(self._send(gate, c) for c in claimed))
                await self._record(outcomes, report)
        return report

    async def _send(self, gate: asyncio.Semaphore, claimed: Claimed) -> tuple[Claimed, datetime, Outcome]:
        async with gate:
            started = utcnow()
            return claimed, started, await self.sender.send(claimed.request)

    async def _claim(self, batch: int, seen: set[uuid.UUID]) -> list[Claimed]:
        now = utcnow()
        due = (
            select(WebhookDelivery.id)
            .where(col(WebhookDelivery.status) == DeliveryStatus.PENDING, col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(batch)
        )
        if seen:
            due = due.where(col(WebhookDelivery.id).notin_(seen))
        # A plain read first: an idle tick (most are) takes no write lock (SQLite's is the database's).
        async with self.sessions() as session:
            if await session.scalar(due.limit(1)) is None:
                return []
        async with unit_of_work(self.sessions, write=True) as session:
            if is_postgres(session):
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.scalars(due)).all())
            if not ids:
                return []
            rows = (
                await session.execute(
                    select(WebhookDelivery, Webhook, Event)
                    .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
                    .join(Event, col(Event.id) == col(WebhookDelivery.event_id))
                    .where(col(WebhookDelivery.id).in_(ids))
                )
            ).all()
            claimed = []
            for delivery, webhook, event in rows:
                delivery.attempts += 1
                delivery.round_attempts += 1
                delivery.next_attempt_at = now + self.lease
                secret = signing.signing_secret(self.key, webhook.id, webhook.secret_salt)
                request = Request(
                    delivery_id=encode_global_id("WebhookDelivery", delivery.id),
                    attempt=delivery.attempts,
                    event_id=encode_global_id("Event", event.id),
                    kind=str(event.kind),
                    url=webhook.url,
                    secret=secret,
                    envelope=envelope(event),
                )
                claimed.append(Claimed(delivery.id, delivery.attempts, delivery.round_attempts, request))
        return claimed

    async def _record(self, outcomes: Sequence[tuple[Claimed, datetime, Outcome]], report: Report) -> None:
        now = utcnow()
        async with unit_of_work(self.sessions, write=True) as session:
            # Deleting or turning off a webhook holds this lock for its whole transaction
            # (app/events/service.py): its deliveries are either still here or gone, not half.
            await serialize_on(session, CHAIN_LOCK_KEY)
            ids = [c.delivery_id for c, _, _ in outcomes]
            current = {
                d.id: d
                for d in (await session.scalars(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)))).all()
            }
            attempts = []
            for claimed, started, outcome in outcomes:
                delivery = current.get(claimed.delivery_id)
                if delivery is None:
                    continue  # its webhook was deleted meanwhile
                next_retry: datetime | None = None
                ours = delivery.status is DeliveryStatus.PENDING and delivery.attempts == claimed.attempt
                result = "succeeded"
                if outcome.ok:
                    report.delivered += 1
                    if ours:
                        delivery.status = DeliveryStatus.SUCCEEDED
                        delivery.delivered_at = now
                        delivery.next_attempt_at = None
                else:
                    assert outcome.error_code is not None
                    report.errors[outcome.error_code] = report.errors.get(outcome.error_code, 0) + 1
                    if claimed.round_attempt >= self.settings.webhook_max_attempts:
                        result = "failed"
                        report.failed += 1
                        if ours:
                            delivery.status = DeliveryStatus.FAILED
                            delivery.next_attempt_at = None
                    else:
                        result = "retrying"
                        report.retrying += 1
                        delay = backoff_s(
                            claimed.round_attempt, self.settings.webhook_backoff_s, self.settings.webhook_backoff_max_s
                        )
                        next_retry = now + timedelta(seconds=delay)
                        if ours:
                            delivery.next_attempt_at = next_retry
                    logger.info(
                        "webhook delivery %s attempt %d: %s",
                        claimed.request.delivery_id,
                        claimed.attempt,
                        outcome.error_code,
                    )
                metrics.webhook_attempted(session, result, outcome.error_code, outcome.duration_ms / 1000)
                if ours:
                    delivery.last_status_code = outcome.status_code
                    delivery.last_error_code = outcome.error_code
                attempts.append(
                    WebhookAttempt(
                        delivery_id=claimed.delivery_id,
                        number=claimed.attempt,
                        started_at=started,
                        duration_ms=outcome.duration_ms,
                        status_code=outcome.status_code,
                        error_code=outcome.error_code,
                        error_message=outcome.error_message,
                        next_retry_at=next_retry if ours else None,
                    )
                )
            session.add_all(attempts)


async def cancel_pending(session: AsyncSession, webhook_id: uuid.UUID) -> int:
    """A webhook turned off: what it still owes is not sent (redeliver can send one again)."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.webhook_id) == webhook_id, col(WebhookDelivery.status) == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
