"""Reading events and webhooks.

Webhooks (with their deliveries and log) are read where one manages them: `webhook manage` in
the project (managers in theirs, admins everywhere); for anyone else a webhook or delivery by id
does not exist. Events are read by subscribers with `event read` in a readable project.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.errors import DomainError
from app.events.kinds import EventKind
from app.events.models import DeliveryStatus, Event, Webhook, WebhookAttempt, WebhookDelivery
from app.ids import encode_global_id
from app.projects.models import Project
from app.scopes import in_projects


def aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; every stored one is UTC (app/clock.py).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def envelope(event: Event) -> dict[str, Any]:
    """An event as webhooks receive it (the JSON body) and subscriptions show it."""
    return {
        "id": encode_global_id("Event", event.id),
        "type": str(event.kind),
        "sequence": event.seq,
        "projectId": encode_global_id("Project", event.project_id),
        "occurredAt": aware(event.occurred_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": event.data,
    }


def readable_webhooks(actor: Actor) -> SelectOfScalar[Webhook]:
    return select(Webhook).where(in_projects(actor, col(Webhook.project_id), "webhook", "manage"))


async def webhooks_of(session: AsyncSession, actor: Actor, project: Project) -> Sequence[Webhook]:
    """A readable project's webhooks, oldest first; FORBIDDEN unless one manages them there."""
    actor.require("webhook", "manage", project.id)
    stmt = readable_webhooks(actor).where(col(Webhook.project_id) == project.id).order_by(col(Webhook.id))
    return (await session.scalars(stmt)).all()


async def find_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID, field: str = "webhookId") -> Webhook:
    webhook = await session.scalar(readable_webhooks(actor).where(col(Webhook.id) == webhook_id))
    if webhook is None:
        raise DomainError.single("NOT_FOUND", "No such webhook.", field)
    return webhook


async def find_delivery(
    session: AsyncSession, actor: Actor, delivery_id: uuid.UUID, field: str = "deliveryId"
) -> tuple[WebhookDelivery, Webhook]:
    row = (
        await session.execute(
            select(WebhookDelivery, Webhook)
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(
                col(WebhookDelivery.id) == delivery_id,
                in_projects(actor, col(Webhook.project_id), "webhook", "manage"),
            )
        )
    ).one_or_none()
    if row is None:
        raise DomainError.single("NOT_FOUND", "No such delivery.", field)
    return row[0], row[1]


async def deliveries_of(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[tuple[WebhookDelivery, Event]]:
    """A (readable) webhook's deliveries, newest first, each with its event."""
    stmt = (
        select(WebhookDelivery, Event)
        .join(Event, col(Event.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookDelivery.webhook_id) == webhook_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(col(WebhookDelivery.status) == status)
    if after is not None:
        stmt = stmt.where(col(WebhookDelivery.id) < after)
    return [(d, e) for d, e in (await session.execute(stmt)).all()]


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """The delivery log of a page of deliveries, in one statement, each oldest attempt first."""
    found: dict[uuid.UUID, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    stmt = (
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
        .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
    )
    for attempt in (await session.scalars(stmt)).all():
        found[attempt.delivery_id].append(attempt)
    return found


def require_events(actor: Actor, project: Project | None) -> Project:
    """A subscription's check: the project readable (else NOT_FOUND, as a missing one), then
    `event read` there (else FORBIDDEN)."""
    if project is None:
        raise DomainError.single("NOT_FOUND", "No such project.", "projectId")
    actor.require("event", "read", project.id)
    return project


def recheck_events(actor: Actor, project_id: uuid.UUID) -> None:
    """require_events again, from the grants in memory, before every event a live subscription
    sends (a role revoked meanwhile ends it)."""
    if not actor.can("project", "read", project_id):
        raise DomainError.single("NOT_FOUND", "No such project.", "projectId")
    actor.require("event", "read", project_id)


async def head(session: AsyncSession) -> int:
    """The sequence number of the newest committed event (0 before the first)."""
    return int(await session.scalar(select(func.max(col(Event.seq)))) or 0)


async def events_after(
    session: AsyncSession,
    after: int,
    *,
    project_id: uuid.UUID | None = None,
    kinds: Sequence[EventKind] | None = None,
    up_to: int | None = None,
    limit: int = 500,
) -> Sequence[Event]:
    """Events with seq > after (and <= up_to), in sequence order."""
    stmt = select(Event).where(col(Event.seq) > after).order_by(col(Event.seq)).limit(limit)
    if project_id is not None:
        stmt = stmt.where(col(Event.project_id) == project_id)
    if kinds:
        stmt = stmt.where(col(Event.kind).in_(list(kinds)))
    if up_to is not None:
        stmt = stmt.where(col(Event.seq) <= up_to)
    return (await session.scalars(stmt)).all()
