"""The outbox: `emit` notes an event on the session; it is written when the transaction commits.

Like the audit log (app/compliance/audit.py), `emit` only notes the event on the session. Just
before the transaction commits (SQLAlchemy's before_commit, `_append`), the unit's events are
inserted with the next sequence numbers, and one `webhook_delivery` per active webhook of the
project that wants the kind, in the same transaction as the change they describe: a change that
rolls back leaves no event and no delivery, one that commits cannot lose its event (a crash
after the commit leaves the deliveries PENDING in the database for the next dispatcher).

Sequence numbers follow commit order. The append runs under the audit chain's PostgreSQL
advisory lock (the same key: every audited commit takes it anyway, and one lock cannot be taken
in two orders), held until the commit ends, so a reader that saw seq N never later finds a
smaller one committed. SQLite's single writer gives the same. After the commit, in-process
listeners (the dispatcher, the subscription poller) are woken; other processes poll.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col

from app.clock import utcnow
from app.compliance.audit import CHAIN_LOCK_KEY
from app.db import ADVISORY_XACT_LOCK, SESSIONS, after_commit
from app.events.kinds import EventKind, data_of
from app.events.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from app.ids import new_id

PENDING = "labelgraph.events_pending"

# In-process listeners woken after a commit that wrote events, per session factory (one per runtime).
_listeners: dict[int, list[Callable[[], None]]] = {}


@dataclass(frozen=True)
class _Pending:
    project_id: uuid.UUID
    kind: EventKind
    data: dict[str, Any]


def emit(session: AsyncSession, project_id: uuid.UUID, kind: EventKind, values: Mapping[str, Any]) -> None:
    """Note an event in the session's transaction: it commits (or not) with the change it describes.

    `values` holds exactly the kind's fields (app/events/kinds.py): uuids, integers, enum values;
    never content or free text.
    """
    pending: list[_Pending] = session.info.setdefault(PENDING, [])
    if not pending:
        sessions = session.info.get(SESSIONS)
        if sessions is not None:
            after_commit(session, lambda: notify(sessions))
    pending.append(_Pending(project_id, kind, data_of(kind, values)))


def listen(sessions: async_sessionmaker[AsyncSession], callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after every commit through `sessions` that wrote events; returns the undo."""
    _listeners.setdefault(id(sessions), []).append(callback)

    def forget() -> None:
        callbacks = _listeners.get(id(sessions), [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            _listeners.pop(id(sessions), None)

    return forget


def notify(sessions: async_sessionmaker[AsyncSession]) -> None:
    for callback in list(_listeners.get(id(sessions), [])):
        callback()


@event.listens_for(Session, "before_commit")
def _append(session: Session) -> None:
    pending: list[_Pending] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(ADVISORY_XACT_LOCK, {"key": CHAIN_LOCK_KEY})
    seq = connection.execute(select(func.max(col(Event.seq)))).scalar() or 0
    now = utcnow()
    events = []
    for item in pending:
        seq += 1
        events.append(
            {
                "id": new_id(),
                "seq": seq,
                "project_id": item.project_id,
                "kind": item.kind,
                "data": item.data,
                "occurred_at": now,
            }
        )
    connection.execute(insert(Event), events)
    # Webhooks change (delete, turn off) under the same lock (app/events/service.py), so the
    # ones read here stay as they are until this commit ends.
    hooks = connection.execute(
        select(col(Webhook.id), col(Webhook.project_id), col(Webhook.events)).where(
            col(Webhook.project_id).in_({item.project_id for item in pending}), col(Webhook.active).is_(True)
        )
    ).all()
    deliveries = [
        {
            "id": new_id(),
            "webhook_id": hook_id,
            "event_id": row["id"],
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "round_attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for row in events
        for hook_id, project_id, kinds in hooks
        if project_id == row["project_id"] and str(row["kind"]) in kinds
    ]
    if deliveries:
        connection.execute(insert(WebhookDelivery), deliveries)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """Events of a transaction that rolled back never happened."""
    session.info.pop(PENDING, None)
