"""Writing audit events: called by every service that changes something, inside its transaction.

`record` only notes the event on the session. The events join the hash chain when the
transaction commits (SQLAlchemy's before_commit, `_append`): the chain's head is read and the
rows inserted then, under a lock held until the commit completes. Appends are serialised, so the
chain never forks, and the lock is held for the length of the commit only, not of the request.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app.access import note as access
from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance.chain import GENESIS, Link, link_hash
from app.compliance.models import AuditEvent
from app.db import ADVISORY_XACT_LOCK
from app.metrics import registry as metrics
from app.operations import bound_input

PENDING = "labelgraph.audit_pending"
# The PostgreSQL advisory lock every append takes, until its transaction ends.
CHAIN_LOCK_KEY = "labelgraph.audit_chain"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


@dataclass(frozen=True)
class _Pending:
    link: Link
    details: dict[str, Any]


async def record(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    *,
    project_id: uuid.UUID | None = None,
    request: Any = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Note the event in the session's transaction: it commits (or not) with the change it describes.

    The input digest covers the whole validated input of the GraphQL operation running in this
    unit of work (app/operations.py); `request` is the input of callers outside one (the token
    endpoint, downloads, the CLI). The row is written at commit (`_append`), in this transaction.
    """
    bound = bound_input(session)
    access.changed(session, entity_type, entity_id)
    link = Link(
        seq=0,  # assigned at commit
        occurred_at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_kind=actor.kind.value if actor else "SYSTEM",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        project_id=project_id,
        input_digest=digest(bound if bound is not None else request),
    )
    session.info.setdefault(PENDING, []).append(_Pending(link, details or {}))


@event.listens_for(Session, "before_commit")
def _append(session: Session) -> None:
    """Insert the transaction's events at the chain's head, just before it commits.

    On PostgreSQL a transaction-scoped advisory lock queues appenders of every server process
    until this transaction ends; on SQLite the write transaction (BEGIN IMMEDIATE) already holds
    the database's only write lock. Each event's time is when it joined the log, never earlier
    than its predecessor's, so the log's times rise with seq (verify checks that).
    """
    pending: list[_Pending] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    started = time.perf_counter()
    session.flush()  # rows the events name (a new project, a new user) exist before they do
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(ADVISORY_XACT_LOCK, {"key": CHAIN_LOCK_KEY})
    head = connection.execute(
        select(col(AuditEvent.seq), col(AuditEvent.hash), col(AuditEvent.occurred_at))
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    ).first()
    seq, prev, floor = (head[0], head[1], head[2]) if head is not None else (0, GENESIS, None)
    now = utcnow()
    at = now if floor is None or now >= floor else floor
    rows = []
    for item in pending:
        seq += 1
        link = replace(item.link, seq=seq, occurred_at=at, prev_hash=prev)
        prev = link_hash(prev, link)
        rows.append(
            {
                "seq": seq,
                "prev_hash": link.prev_hash,
                "hash": prev,
                "occurred_at": at,
                "actor_id": link.actor_id,
                "actor_kind": link.actor_kind,
                "action": link.action,
                "entity_type": link.entity_type,
                "entity_id": link.entity_id,
                "project_id": link.project_id,
                "input_digest": link.input_digest,
                "details": item.details,
            }
        )
    connection.execute(insert(AuditEvent), rows)
    metrics.audit_appended(session, time.perf_counter() - started, len(rows))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """Events of a transaction that rolled back never happened."""
    session.info.pop(PENDING, None)
