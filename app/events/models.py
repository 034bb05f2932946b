"""The outbox and the webhooks it feeds.

`outbox_event` is the outbox: one row per thing that happened in a project, written in the transaction
of the change it describes (app/events/outbox.py), numbered by `seq` in commit order. A
`webhook_delivery` row is one event owed to one webhook, made in that same transaction for every
active webhook of the project that wants the kind; `webhook_attempt` rows are its delivery log.
Nothing here holds item content or free text (app/events/kinds.py).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.events.kinds import EventKind
from app.ids import new_id


class Event(SQLModel, table=True):
    __tablename__ = "outbox_event"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # 1, 2, 3, ... in commit order (assigned at commit under the outbox lock): subscribers and
    # receivers order by it, and a poller that read up to N never misses one committed later.
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    project_id: uuid.UUID = Field(foreign_key="project.id")
    kind: EventKind = enum_field(EventKind)
    data: dict[str, Any] = json_field(default={})
    occurred_at: datetime = Field(default_factory=utcnow)


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_project", "project_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    url: str = Field(max_length=2048)
    events: list[str] = json_field(default=[])
    active: bool = True
    # The signing secret is derived (HKDF) from the server's webhook key and this salt; the
    # secret itself is never stored (app/events/signing.py).
    secret_salt: str = Field(max_length=64)
    created_by: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"  # due at next_attempt_at (a claimed one: when its lease runs out)
    SUCCEEDED = "SUCCEEDED"  # the receiver answered 2xx
    FAILED = "FAILED"  # every attempt of the round failed; redeliver starts a new round
    CANCELLED = "CANCELLED"  # the webhook was turned off before it went out


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        # The dispatcher's scan: due deliveries, oldest due first.
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook", "webhook_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhook.id")
    event_id: uuid.UUID = Field(foreign_key="outbox_event.id")
    status: DeliveryStatus = enum_field(DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts: int = 0  # every attempt ever started (numbers the log)
    round_attempts: int = 0  # attempts since the round began (creation or the last redeliver)
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    last_status_code: int | None = None
    last_error_code: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    """One attempt of a delivery: the delivery log."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id")
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error_code: str | None = Field(default=None, max_length=32)
    # Our own words about what went wrong (never the receiver's response body).
    error_message: str | None = Field(default=None, max_length=500)
    next_retry_at: datetime | None = None
