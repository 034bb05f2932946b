"""Operations: each mutation's permission and audit action, declared once beside its service.

A service module declares the operations it carries out, e.g.

    SUBMIT_LABEL = Operation("submitLabel", Permission("label", "create"), audit="label.submit")

and uses that declaration for both: `SUBMIT_LABEL.require(actor, project_id)` to check the
permission in the project the input names (after that project, or object, was found readable),
and `SUBMIT_LABEL.audit` as the action of the event it records. The GraphQL resolver names the
same constant when it runs the mutation (app/schema/mutation.py), which puts the whole validated
input on the unit of work: the audit event's input digest is computed from all of it, not from
what a service chose to pass on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor

# Where the unit of work keeps the running operation and its whole validated input.
OPERATION_INPUT = "labelgraph_operation_input"


class Permission(NamedTuple):
    """A casbin (object, action) pair; `obj` may name a placeholder filled at check time ("role:{role}")."""

    obj: str
    act: str


@dataclass(frozen=True)
class Operation:
    name: str  # the GraphQL mutation field
    permission: Permission | None  # None: an operation on one's own things only (signing out)
    audit: str  # the action of the audit event it writes
    # Input fields whose values never reach the audit digest (a token being revoked).
    secret_fields: tuple[str, ...] = ()

    def require(self, actor: Actor, project_id: uuid.UUID | None = None, **placeholders: str) -> None:
        """FORBIDDEN unless the actor holds the permission there (for objects it can already read)."""
        assert self.permission is not None, f"{self.name} declares no permission"
        actor.require(self.permission.obj.format(**placeholders), self.permission.act, project_id)


def bind_input(session: AsyncSession, operation: Operation, validated_input: Any) -> None:
    """Record the running operation's whole input on the unit of work, for its audit event."""
    if isinstance(validated_input, dict) and operation.secret_fields:
        validated_input = {
            key: "<redacted>" if key in operation.secret_fields and value is not None else value
            for key, value in validated_input.items()
        }
    session.info[OPERATION_INPUT] = {"operation": operation.name, "input": validated_input}


def rebind_input(session: AsyncSession, bound: dict[str, Any]) -> None:
    """Replace what the audit digest covers: a service that must not let data reach the digest
    (anonymized imports: their raw data) puts its stand-in here before recording the event."""
    session.info[OPERATION_INPUT] = bound


def bound_input(session: AsyncSession) -> Any:
    """The whole input of the operation running in this unit of work; None outside one."""
    return session.info.get(OPERATION_INPUT)
