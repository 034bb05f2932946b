"""The note a request keeps of what it touched, found through a context variable.

AccessHistory (app/access/middleware.py) opens one per HTTP request; resolvers and services
add to it without knowing about requests: `read(kind, id)` where content is returned,
`changed(session, kind, id)` where an audit event is recorded (kept only once that change
commits), `denied(...)` where authorization refuses. Outside a request (the CLI, tests calling
services) there is no note and every call is a no-op.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import Channel, Outcome, ResourceAction
from app.clock import utcnow
from app.db import after_commit

# What one request may list: beyond it the note keeps a count, not the ids (an export of a
# million items is one snapshot, recorded by lineage, not a million rows here).
MAX_RESOURCES = 10_000
MAX_DENIALS = 20


@dataclass
class AccessNote:
    channel: Channel
    operation: str
    operation_type: str
    actor_id: uuid.UUID | None = None
    actor_kind: str = "ANONYMOUS"
    occurred_at: datetime = field(default_factory=utcnow)
    resources: dict[tuple[str, str], ResourceAction] = field(default_factory=dict)
    denials: list[dict[str, Any]] = field(default_factory=list)
    failed: bool = False
    status: int = 200
    dropped_resources: int = 0
    # The outcome when the status alone does not tell it (a refused sign-in answers 400).
    outcome_override: Outcome | None = None

    def add(self, kind: str, pk: uuid.UUID | str, action: ResourceAction) -> None:
        key = (kind, str(pk))
        if key in self.resources and self.resources[key] is ResourceAction.CHANGED:
            return
        if key not in self.resources and len(self.resources) >= MAX_RESOURCES:
            self.dropped_resources += 1
            return
        self.resources[key] = action

    def outcome(self, status: int) -> Outcome:
        if self.outcome_override is not None:
            return self.outcome_override
        if status == 401:
            return Outcome.UNAUTHENTICATED
        if status == 403 or self.denials:
            return Outcome.DENIED
        if status >= 400 or self.failed:
            return Outcome.FAILED
        return Outcome.OK

    def details(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.denials:
            found["denials"] = self.denials
        if self.dropped_resources:
            found["resourcesNotListed"] = self.dropped_resources
        return found


current: ContextVar[AccessNote | None] = ContextVar("labelgraph_access_note", default=None)


def read(kind: str, pk: uuid.UUID | str) -> None:
    """The content of (kind, pk) is being returned to the caller."""
    note = current.get()
    if note is not None:
        note.add(kind, pk, ResourceAction.READ)


def read_many(kind: str, pks: list[uuid.UUID] | list[str]) -> None:
    note = current.get()
    if note is not None:
        for pk in pks:
            note.add(kind, pk, ResourceAction.READ)


def changed(session: AsyncSession, kind: str, pk: uuid.UUID | str) -> None:
    """(kind, pk) is changed in this session's transaction: noted once it commits. A download
    changes nothing (its audit event records the reading, which `read` notes)."""
    note = current.get()
    if note is not None and note.channel is Channel.GRAPHQL:
        after_commit(session, lambda: note.add(kind, pk, ResourceAction.CHANGED))


def denied(where: str, message: str) -> None:
    """An authorization check refused part of the request (`where`: a field path or route)."""
    note = current.get()
    if note is not None and len(note.denials) < MAX_DENIALS:
        note.denials.append({"path": where, "message": message})


def failed() -> None:
    note = current.get()
    if note is not None:
        note.failed = True


def name_operation(operation: str, operation_type: str) -> None:
    note = current.get()
    if note is not None:
        note.operation = operation[:255]
        note.operation_type = operation_type
