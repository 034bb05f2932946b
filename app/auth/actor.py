"""The Actor: who is calling, and the one place services ask what they may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.auth.models import IdentityKind
from app.errors import Forbidden
from app.policies.enforcer import Authorizer


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    username: str
    kind: IdentityKind
    authorizer: Authorizer

    def can(self, obj: str, act: str, project_id: uuid.UUID | None = None) -> bool:
        return self.authorizer.allowed(self.id, obj, act, project_id)

    def require(self, obj: str, act: str, project_id: uuid.UUID | None = None) -> None:
        """For actions on what the actor can already read: refusing them is FORBIDDEN.
        Whether the object is readable at all is the read modules' question (app/scopes.py)."""
        if not self.can(obj, act, project_id):
            raise Forbidden(f"You may not {act} {obj} here.")

    def projects_where(self, obj: str, act: str) -> set[uuid.UUID] | None:
        """Projects where the actor may do (obj, act); None: every project (an org-wide grant)."""
        return self.authorizer.projects_with(self.id, obj, act)


# The caller of a public GraphQL operation (app/schema/public.py): no identity, no grant.
ANONYMOUS_ID = uuid.UUID(int=0)


def anonymous(authorizer: Authorizer) -> Actor:
    return Actor(id=ANONYMOUS_ID, username="", kind=IdentityKind.HUMAN, authorizer=authorizer)
