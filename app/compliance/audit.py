"""Writing audit events: called by every service that changes something, inside its transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import note as access
from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance.models import AuditEvent
from app.operations import bound_input


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


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
    """Write the event in the session's transaction: it commits (or not) with the change it describes.

    The input digest covers the whole validated input of the GraphQL operation running in this
    unit of work (app/operations.py); `request` is the input of callers outside one (the token
    endpoint, downloads, the CLI). A plain INSERT, not an ORM object: every mutation writes one,
    and nothing reads it back.
    """
    bound = bound_input(session)
    access.changed(session, entity_type, entity_id)
    await session.execute(
        insert(AuditEvent).values(
            occurred_at=utcnow(),
            actor_id=actor.id if actor else None,
            actor_kind=actor.kind.value if actor else "SYSTEM",
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            project_id=project_id,
            input_digest=digest(bound if bound is not None else request),
            details=details or {},
        )
    )
