"""Webhook use cases: register (the signing secret shown once), change, delete, redeliver.

Managers manage their projects' webhooks, admins everyone's (`webhook manage`); a webhook or a
delivery one may not manage does not exist for one. URLs are checked for form and for where
they resolve (app/events/addresses.py) at registration; the dispatcher checks again at every
connection. Changes that decide which deliveries exist (delete, turn off) hold the outbox's lock
for their transaction, so a commit fanning an event out to webhooks never races them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.compliance.audit import CHAIN_LOCK_KEY
from app.db import SESSIONS, after_commit, serialize_on
from app.errors import DomainError, Problem
from app.events import outbox, signing
from app.events.addresses import AddressPolicy
from app.events.dispatcher import cancel_pending
from app.events.kinds import EventKind
from app.events.models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery
from app.events.reads import find_delivery, find_webhook
from app.operations import Operation, Permission
from app.projects.reads import find_project
from app.settings import Settings

REGISTER_WEBHOOK = Operation("registerWebhook", Permission("webhook", "manage"), audit="webhook.register")
UPDATE_WEBHOOK = Operation("updateWebhook", Permission("webhook", "manage"), audit="webhook.update")
DELETE_WEBHOOK = Operation("deleteWebhook", Permission("webhook", "manage"), audit="webhook.delete")
REDELIVER = Operation("redeliverWebhookDelivery", Permission("webhook", "manage"), audit="webhook.redeliver")

MAX_WEBHOOKS = 20


@dataclass(frozen=True)
class NewWebhook:
    project_id: uuid.UUID
    url: str
    events: Sequence[EventKind]
    active: bool = True


@dataclass(frozen=True)
class Registered:
    webhook: Webhook
    secret: str  # shown once, in the mutation's answer; never stored, logged or audited


def origin(url: str) -> str:
    """What the audit log keeps of a URL: scheme and host (paths and queries may hold tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def _check_events(events: Sequence[EventKind], field: str = "events") -> list[Problem]:
    if not events:
        return [Problem("REQUIRED", "Name at least one kind of event.", field)]
    seen: set[EventKind] = set()
    problems = []
    for i, kind in enumerate(events):
        if kind in seen:
            problems.append(Problem("DUPLICATE_EVENT", "Each kind of event is named once.", f"{field}.{i}"))
        seen.add(kind)
    return problems


async def register_webhook(session: AsyncSession, actor: Actor, settings: Settings, new: NewWebhook) -> Registered:
    project = await find_project(session, actor, new.project_id)
    REGISTER_WEBHOOK.require(actor, project.id)
    problems = _check_events(new.events)
    problems += await AddressPolicy(settings.webhook_allowed_networks).check(new.url)
    count = await session.scalar(select(func.count()).select_from(Webhook).where(col(Webhook.project_id) == project.id))
    if (count or 0) >= MAX_WEBHOOKS:
        problems.append(Problem("TOO_MANY_WEBHOOKS", f"A project has at most {MAX_WEBHOOKS} webhooks.", "projectId"))
    if problems:
        raise DomainError(problems)
    webhook = Webhook(
        project_id=project.id,
        url=new.url,
        events=sorted(str(kind) for kind in new.events),
        active=new.active,
        secret_salt=signing.new_salt(),
        created_by=actor.id,
    )
    session.add(webhook)
    await session.flush()
    await audit.record(
        session,
        actor,
        REGISTER_WEBHOOK.audit,
        "Webhook",
        webhook.id,
        project_id=project.id,
        details={"origin": origin(new.url), "events": webhook.events, "active": webhook.active},
    )
    return Registered(webhook, signing.signing_secret(settings.webhook_key_bytes(), webhook.id, webhook.secret_salt))


@dataclass(frozen=True)
class WebhookChange:
    webhook_id: uuid.UUID
    events: Sequence[EventKind] | None = None
    active: bool | None = None


async def update_webhook(session: AsyncSession, actor: Actor, change: WebhookChange) -> Webhook:
    await serialize_on(session, CHAIN_LOCK_KEY)  # no event fans out to it while it changes
    webhook = await find_webhook(session, actor, change.webhook_id)
    UPDATE_WEBHOOK.require(actor, webhook.project_id)
    before: dict[str, Any] = {"events": list(webhook.events), "active": webhook.active}
    if change.events is not None:
        problems = _check_events(change.events)
        if problems:
            raise DomainError(problems)
        webhook.events = sorted(str(kind) for kind in change.events)
    cancelled = 0
    if change.active is not None:
        if webhook.active and not change.active:
            cancelled = await cancel_pending(session, webhook.id)
        webhook.active = change.active
    after = {"events": list(webhook.events), "active": webhook.active}
    changed = {k: v for k, v in after.items() if v != before[k]}
    webhook.updated_at = utcnow()
    await audit.record(
        session,
        actor,
        UPDATE_WEBHOOK.audit,
        "Webhook",
        webhook.id,
        project_id=webhook.project_id,
        details={"changed": changed, "before": {k: before[k] for k in changed}, "cancelledDeliveries": cancelled},
    )
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> uuid.UUID:
    """The webhook, its deliveries and their log go; the events stay in the outbox."""
    await serialize_on(session, CHAIN_LOCK_KEY)
    webhook = await find_webhook(session, actor, webhook_id)
    DELETE_WEBHOOK.require(actor, webhook.project_id)
    deliveries = select(WebhookDelivery.id).where(col(WebhookDelivery.webhook_id) == webhook.id)
    await session.execute(
        delete(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(deliveries))
        .execution_options(synchronize_session=False)
    )
    removed = await session.execute(
        delete(WebhookDelivery)
        .where(col(WebhookDelivery.webhook_id) == webhook.id)
        .execution_options(synchronize_session=False)
    )
    await session.delete(webhook)
    await audit.record(
        session,
        actor,
        DELETE_WEBHOOK.audit,
        "Webhook",
        webhook.id,
        project_id=webhook.project_id,
        details={"origin": origin(webhook.url), "deliveries": int(removed.rowcount)},  # type: ignore[attr-defined]
    )
    await session.flush()
    return webhook.id


async def redeliver(session: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a delivery again soon, whatever became of it (a receiver lost it, or was down for the
    whole round): a new round of attempts, with the same event id and body, freshly signed."""
    delivery, webhook = await find_delivery(session, actor, delivery_id)
    REDELIVER.require(actor, webhook.project_id)
    if delivery.status is DeliveryStatus.PENDING:
        raise DomainError.single("DELIVERY_PENDING", "This delivery is still due: it will be sent.", "deliveryId")
    if not webhook.active:
        raise DomainError.single("WEBHOOK_INACTIVE", "Turn the webhook on first.", "deliveryId")
    previous = delivery.status
    delivery.status = DeliveryStatus.PENDING
    delivery.round_attempts = 0
    delivery.next_attempt_at = utcnow()
    await audit.record(
        session,
        actor,
        REDELIVER.audit,
        "WebhookDelivery",
        delivery.id,
        project_id=webhook.project_id,
        details={"webhook": str(webhook.id), "event": str(delivery.event_id), "previous": str(previous)},
    )
    await session.flush()
    sessions = session.info.get(SESSIONS)
    if sessions is not None:
        after_commit(session, lambda: outbox.notify(sessions))
    return delivery
