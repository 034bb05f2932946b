"""Granting and revoking roles: who may hand out what, where, to whom."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.auth.models import IdentityKind, User
from app.compliance import audit
from app.db import after_commit
from app.errors import DomainError
from app.operations import Operation, Permission
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, domain, user_subject
from app.policies.watcher import announce_change
from app.projects.models import Project
from app.projects.reads import find_project

# The same permission covers handing a role out and taking it back.
GRANT_ROLE = Operation("grantRole", Permission("role:{role}", "grant"), audit="role.grant")
REVOKE_ROLE = Operation("revokeRole", Permission("role:{role}", "grant"), audit="role.revoke")


async def grant_role(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, role: Role, project_id: uuid.UUID | None
) -> User:
    user = await _check(session, actor, user_id, role, project_id, GRANT_ROLE)
    if actor.authorizer.has_grant(user.id, role, project_id):
        raise DomainError.single("ALREADY_GRANTED", f"{user.username} already holds {role.value} here.", "role")
    session.add(
        CasbinRule(ptype="g", v0=user_subject(user.id), v1=role.subject, v2=domain(project_id), granted_by=actor.id)
    )
    await _audit(session, actor, GRANT_ROLE.audit, user, role, project_id)
    await session.flush()
    await announce_change(session)
    after_commit(session, lambda: actor.authorizer.apply_grant(user.id, role, project_id))
    return user


async def revoke_role(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, role: Role, project_id: uuid.UUID | None
) -> User:
    user = await _check(session, actor, user_id, role, project_id, REVOKE_ROLE)
    removed = await session.execute(
        delete(CasbinRule).where(
            col(CasbinRule.ptype) == "g",
            col(CasbinRule.v0) == user_subject(user.id),
            col(CasbinRule.v1) == role.subject,
            col(CasbinRule.v2) == domain(project_id),
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise DomainError.single("NOT_GRANTED", f"{user.username} does not hold {role.value} here.", "role")
    await _audit(session, actor, REVOKE_ROLE.audit, user, role, project_id)
    await announce_change(session)
    after_commit(session, lambda: actor.authorizer.apply_revoke(user.id, role, project_id))
    return user


async def _check(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    role: Role,
    project_id: uuid.UUID | None,
    operation: Operation,
) -> User:
    if project_id is not None:
        await find_project(session, actor, project_id)
    operation.require(actor, project_id, role=role.value)
    verb = "grant" if operation is GRANT_ROLE else "revoke"
    if user_id == actor.id:
        # Separation of duties: a payload code, like SELF_REVIEW and SELF_APPROVAL.
        raise DomainError.single("SELF_GRANT", f"You may not {verb} roles of your own.", "userId")
    user = await session.get(User, user_id)
    if user is None:
        raise DomainError.single("NOT_FOUND", "No such user.", "userId")
    _check_fit(user, role, project_id)
    return user


def _check_fit(user: User, role: Role, project_id: uuid.UUID | None) -> None:
    check_fit(user.kind, role, project_id)


def check_fit(kind: IdentityKind, role: Role, project_id: uuid.UUID | None) -> None:
    """The role suits the scope and the kind of identity it is granted to."""
    if role.org_wide and project_id is not None:
        raise DomainError.single("WRONG_SCOPE", f"{role.value} is org-wide: leave projectId out.", "projectId")
    if not role.org_wide and project_id is None:
        raise DomainError.single("WRONG_SCOPE", f"{role.value} is held in a project: give projectId.", "projectId")
    if role.for_service_accounts != (kind is IdentityKind.SERVICE):
        wanted = "service accounts" if role.for_service_accounts else "people"
        raise DomainError.single("WRONG_IDENTITY_KIND", f"{role.value} is for {wanted} only.", "userId")


async def _audit(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    user: User,
    role: Role,
    project_id: uuid.UUID | None,
) -> None:
    await audit.record(
        session,
        actor,
        action,
        "User",
        user.id,
        project_id=project_id,
        request={
            "userId": str(user.id),
            "role": role.value,
            "projectId": str(project_id) if project_id else None,
        },
        details={"role": role.value, "domain": domain(project_id)},
    )


async def add_grant(
    session: AsyncSession,
    authorizer: Authorizer,
    user: User,
    role: Role,
    project_id: uuid.UUID | None,
    *,
    granted_by: User | None,
) -> bool:
    """A grant someone authorised earlier (an invitation's, applied at its acceptance), audited as
    theirs; False when it was held already."""
    check_fit(user.kind, role, project_id)
    if authorizer.has_grant(user.id, role, project_id):
        return False
    session.add(
        CasbinRule(
            ptype="g",
            v0=user_subject(user.id),
            v1=role.subject,
            v2=domain(project_id),
            granted_by=granted_by.id if granted_by else None,
        )
    )
    by = None if granted_by is None else Actor(granted_by.id, granted_by.username, granted_by.kind, authorizer)
    await _audit(session, by, GRANT_ROLE.audit, user, role, project_id)
    await session.flush()
    await announce_change(session)
    after_commit(session, lambda: authorizer.apply_grant(user.id, role, project_id))
    return True


async def drop_grant(
    session: AsyncSession, authorizer: Authorizer, user: User, role: Role, project_id: uuid.UUID | None
) -> bool:
    """Take away a grant something other than a person gave (a sign-in's role mapping,
    app/sso/service.py), audited as the system's; False when it was not held."""
    removed = await session.execute(
        delete(CasbinRule).where(
            col(CasbinRule.ptype) == "g",
            col(CasbinRule.v0) == user_subject(user.id),
            col(CasbinRule.v1) == role.subject,
            col(CasbinRule.v2) == domain(project_id),
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        return False
    await _audit(session, None, REVOKE_ROLE.audit, user, role, project_id)
    await announce_change(session)
    after_commit(session, lambda: authorizer.apply_revoke(user.id, role, project_id))
    return True


async def grants_in_db(session: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await session.execute(select(CasbinRule.v0, CasbinRule.v1, CasbinRule.v2).where(CasbinRule.ptype == "g"))
    return [(s, r, d) for s, r, d in rows]


async def grant_as_system(session: AsyncSession, username: str, role: Role, project_name: str | None) -> bool:
    """Bootstrap grants from the CLI and seeds (the first admin has nobody to grant it).

    Idempotent: False when the grant already existed. Running servers pick it up at once on
    PostgreSQL (NOTIFY), and on restart on SQLite.
    """
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise DomainError.single("NOT_FOUND", f"No user named {username}.", "username")
    project_id = None
    if project_name is not None:
        project_id = await session.scalar(select(Project.id).where(Project.name == project_name))
        if project_id is None:
            raise DomainError.single("NOT_FOUND", f"No project named {project_name}.", "project")
    _check_fit(user, role, project_id)
    rule = (user_subject(user.id), role.subject, domain(project_id))
    exists = await session.scalar(
        select(CasbinRule.id).where(
            CasbinRule.ptype == "g",
            CasbinRule.v0 == rule[0],
            CasbinRule.v1 == rule[1],
            CasbinRule.v2 == rule[2],
        )
    )
    if exists:
        return False
    session.add(CasbinRule(ptype="g", v0=rule[0], v1=rule[1], v2=rule[2]))
    await _audit(session, None, "role.grant", user, role, project_id)
    await announce_change(session)
    await session.flush()
    return True
