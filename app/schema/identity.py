"""Users, the viewer, and role grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import models
from app.auth.reads import email_of, list_identities
from app.expertise import feedback
from app.policies import error_codes as area_codes
from app.policies import roles
from app.policies.roles import ORG, project_of
from app.policies.service import GRANT_ROLE, REVOKE_ROLE, grant_role, revoke_role
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id
from app.workflow.models import AssignmentStatus as TaskStatus

RoleErrorCode = strawberry.enum(area_codes.RoleErrorCode, description=area_codes.RoleErrorCode.__doc__)


@strawberry.type(description="A failure of granting or revoking a role.")
class RoleError(UserError):
    codes = area_codes.RoleErrorCode
    code: RoleErrorCode  # type: ignore[valid-type]


if TYPE_CHECKING:
    from app.schema.discussion import Comment
    from app.schema.feedback import FeedbackEntry
    from app.schema.workflow import Assignment

IdentityKind = strawberry.enum(models.IdentityKind, description="A person, or a service account (a model, a pipeline).")
Role = strawberry.enum(roles.Role, description="Least-privilege roles; docs/ARCHITECTURE.md says what each may do.")
# Registered here, where Viewer.feedback takes it as an argument (app/schema/feedback.py has the rest).
FeedbackKind = strawberry.enum(
    feedback.FeedbackKind,
    description="What judged your label wrong: a reviewer rejecting or correcting it (REJECTION), a QA audit "
    "overturning a decision it was behind to another value (OVERTURN), a gold question answered short of "
    "full marks (GOLD_MISS), an expert resolving its escalated item to another value (EXPERT_RESOLUTION).",
)


UserStatus = strawberry.enum(
    models.UserStatus,
    description="INVITED (the invitation not accepted yet: cannot sign in), ACTIVE, DEACTIVATED (a person taken "
    "off: no sign-in, no token works; reactivateUser), REVOKED (a service account, for good), ERASED.",
)


@strawberry.type(description="A person or service account, as others see it.")
class User(Node):
    username: str
    display_name: str
    kind: IdentityKind  # type: ignore[valid-type]
    status: UserStatus  # type: ignore[valid-type]
    created_at: datetime
    deactivated_at: datetime | None = strawberry.field(
        description="When the person was deactivated or the service account revoked; null otherwise."
    )
    erased_at: datetime | None = strawberry.field(
        description="When the person was erased (eraseUser): username and displayName are a pseudonym since."
    )
    row: strawberry.Private[models.User]

    @classmethod
    def of(cls, row: models.User) -> User:
        return cls(
            id=global_id("User", row.id),
            username=row.username,
            display_name=row.display_name,
            kind=row.kind,
            status=row.status,
            created_at=row.created_at,
            deactivated_at=row.deactivated_at,
            erased_at=row.erased_at,
            row=row,
        )

    @strawberry.field(
        description="The e-mail address: yours, or anyone's for those who read users (admins, project managers, "
        "compliance officers); null with FORBIDDEN for everyone else."
    )
    def email(self, info: Info) -> str | None:
        return email_of(info.context.actor, self.row)


async def load_user(info: Info, user_id: uuid.UUID | None) -> User | None:
    """A user through the request's loader (one query per page, not per row); None for no id."""
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.of(row) if row else None


async def known_user(info: Info, user_id: uuid.UUID) -> User:
    """A user a row points at with a foreign key: always there."""
    user = await load_user(info, user_id)
    assert user is not None
    return user


@strawberry.type(description="A role held, in one project or (projectId null) org-wide.")
class RoleGrant:
    role: Role  # type: ignore[valid-type]
    project_id: strawberry.ID | None


@strawberry.type(description="The caller.")
class Viewer:
    id: strawberry.ID
    username: str
    kind: IdentityKind  # type: ignore[valid-type]
    roles: list[RoleGrant]

    @strawberry.field(
        description="Your own tasks, newest claim first, in the projects where you claim tasks; optionally of one "
        "project, and of one status (ACTIVE by default: leases still running; null for all). A lapsed lease "
        "reads as EXPIRED."
    )
    async def tasks(
        self,
        info: Info,
        project_id: strawberry.ID | None = None,
        # The model's enum is the GraphQL one: app/schema/workflow.py registers it in place.
        status: TaskStatus | None = TaskStatus.ACTIVE,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Annotated[Assignment, strawberry.lazy("app.schema.workflow")]]:
        from app.schema.tasks import viewer_tasks

        return await viewer_tasks(info, project_id, status, first, after)

    @strawberry.field(
        description="Comments that mention you, newest first: only live ones on threads you may still read."
    )
    async def mentions(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Annotated[Comment, strawberry.lazy("app.schema.discussion")]]:
        from app.schema.discussion import viewer_mentions

        return await viewer_mentions(info, first, after)

    @strawberry.field(
        description="What was judged wrong about your own labels, newest first: rejections and corrections by a "
        "reviewer, QA audits overturning a decision to another value than yours, gold answers short of full "
        "marks, experts resolving an escalated item to another value than yours. Each entry has the item, your "
        "value, the decided value, the comment and the guideline's definitions of the classes in question. Only "
        "projects where you still make or read labels; optionally of one project and of some kinds."
    )
    async def feedback(
        self,
        info: Info,
        project_id: strawberry.ID | None = None,
        kinds: list[FeedbackKind] | None = None,  # type: ignore[valid-type]
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Annotated[FeedbackEntry, strawberry.lazy("app.schema.feedback")]]:
        from app.schema.feedback import viewer_feedback

        return await viewer_feedback(info, project_id, kinds, first, after)


def viewer(info: Info) -> Viewer:
    actor = info.context.actor
    grants = [
        RoleGrant(role=role, project_id=None if dom == ORG else global_id("Project", project_of(dom)))  # type: ignore[arg-type]
        for role, dom in actor.authorizer.grants_of(actor.id)
    ]
    return Viewer(id=global_id("User", actor.id), username=actor.username, kind=actor.kind, roles=grants)


@strawberry.input
class RoleInput:
    user_id: strawberry.ID
    role: Role  # type: ignore[valid-type]
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="The project; leave out for org-wide roles (admin, compliance_officer)."
    )


@strawberry.type
class RolePayload:
    user: User | None
    errors: list[RoleError]


async def _change_role(info: Info, input: RoleInput, revoke: bool) -> RolePayload:
    async def act(session: AsyncSession) -> models.User:
        user_id = input_id(input.user_id, "User", "userId")
        project_id = None if input.project_id is None else input_id(input.project_id, "Project", "projectId")
        change = revoke_role if revoke else grant_role
        return await change(session, info.context.actor, user_id, input.role, project_id)

    result = await run_mutation(info, REVOKE_ROLE if revoke else GRANT_ROLE, input, act, RoleError)
    if isinstance(result, list):
        return RolePayload(user=None, errors=result)
    return RolePayload(user=User.of(result), errors=[])


@strawberry.type
class IdentityQuery:
    viewer: Viewer = strawberry.field(resolver=viewer, description="Who the bearer token belongs to.")

    @strawberry.field(
        description="People and service accounts, by username. Null with FORBIDDEN except for admins, project "
        "managers and compliance officers."
    )
    async def users(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        search: str | None = None,
        status: Annotated[
            list[UserStatus] | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only identities in one of these statuses (all: null or empty)."),
        ] = None,
        kind: Annotated[
            IdentityKind | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only people, or only service accounts."),
        ] = None,
    ) -> Connection[User] | None:
        limit, cursor = page_size(first), uuid_cursor(after)
        async with info.context.db() as session:
            rows = await list_identities(
                session,
                info.context.actor,
                search=search,
                after=cursor,
                limit=limit + 1,
                statuses=status or (),
                kind=kind,
            )
        return connection(rows, limit, key=lambda r: r.id, node=User.of, after=after)


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Grant a role. Admins grant any role; a project manager grants "
        "annotator, reviewer, qa_auditor and expert in its own projects. Nobody grants to themselves."
    )
    async def grant_role(self, info: Info, input: RoleInput) -> RolePayload | None:
        return await _change_role(info, input, revoke=False)

    @strawberry.mutation(description="Take back a role, under the same rules as granting it.")
    async def revoke_role(self, info: Info, input: RoleInput) -> RolePayload | None:
        return await _change_role(info, input, revoke=True)


@strawberry.type(description="A person or service account holding roles in a project.")
class ProjectMember:
    user: User
    roles: list[Role]  # type: ignore[valid-type]


async def project_members(info: Info, project_id: uuid.UUID) -> list[ProjectMember]:
    from app.auth.people import project_members as members_of

    async with info.context.db() as session:
        members = await members_of(session, info.context.actor, project_id)
    return [ProjectMember(user=User.of(member.user), roles=member.roles) for member in members]
