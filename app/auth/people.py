"""People through the API: createUser, inviteUser and acceptInvite, updateUser, deactivateUser,
reactivateUser, and a project's members.

Admins create and invite anyone; a project manager invites into its own projects, each
invitation carrying role grants the inviter may hand out there (policies/service.py's rules),
applied when the invitee accepts. Mutations that set a password run in two steps, as the schema
impact dry run does: `prepare_*` checks the policy and hashes (~100 ms of argon2) before the
write transaction, so SQLite's write lock is never held for it; the write re-checks what it
depends on. Reasons go to `account_change` (erasable), the audit event keeps their digest.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import identities, links, refresh
from app.auth.actor import Actor
from app.auth.fields import check_display_name, check_email, check_reason, check_username, normal_email
from app.auth.models import AccountChange, AccountChangeAction, AccountTokenKind, IdentityKind, User, UserStatus
from app.auth.password_policy import PasswordPolicy, check_password
from app.auth.passwords import Passwords
from app.auth.reads import get_user
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.operations import Operation, Permission
from app.policies import service as grants
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, domain
from app.projects.reads import find_project
from app.workflow.tasks import return_open_work

CREATE_USER = Operation("createUser", Permission("user", "create"), audit="user.create", secret_fields=("password",))
INVITE_USER = Operation("inviteUser", Permission("user", "invite"), audit="user.invite")
ACCEPT_INVITE = Operation("acceptInvite", None, audit="user.invite.accept", secret_fields=("token", "password"))
UPDATE_USER = Operation("updateUser", Permission("user", "update"), audit="user.update")
DEACTIVATE_USER = Operation("deactivateUser", Permission("user", "deactivate"), audit="user.deactivate")
REACTIVATE_USER = Operation("reactivateUser", Permission("user", "deactivate"), audit="user.reactivate")


# --- passwords, shared by every operation that sets one -------------------------------------


async def prepared_hash(
    passwords: Passwords,
    policy: PasswordPolicy,
    password: str,
    *,
    username: str,
    email: str | None,
    display_name: str,
    field: str = "password",
) -> str:
    """The argon2 hash of a password the policy accepts for this person, or its problem."""
    problems = await anyio.to_thread.run_sync(
        lambda: check_password(password, policy, username=username, email=email, display_name=display_name, field=field)
    )
    if problems:
        raise DomainError(problems)
    return await passwords.hash(password)


# --- creating and inviting ------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str = ""
    email: str | None = None


@dataclass(frozen=True)
class Grant:
    role: Role
    project_id: uuid.UUID | None

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role.value, "project": str(self.project_id) if self.project_id else None}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Grant:
        project = stored.get("project")
        return cls(Role(stored["role"]), uuid.UUID(project) if project else None)


def _field_problems(new: NewUser) -> list[Problem]:
    return [*check_username(new.username), *check_email(new.email), *check_display_name(new.display_name)]


async def taken(session: AsyncSession, new: NewUser, *, except_id: uuid.UUID | None = None) -> list[Problem]:
    problems = []
    same_name = await session.scalar(select(User.id).where(col(User.username) == new.username))
    if same_name is not None and same_name != except_id:
        problems.append(Problem("USERNAME_TAKEN", "That username exists.", "username"))
    if new.email is not None:
        same_email = await session.scalar(select(User.id).where(col(User.email) == new.email))
        if same_email is not None and same_email != except_id:
            problems.append(Problem("EMAIL_TAKEN", "Another account has that e-mail address.", "email"))
    return problems


def normal(new: NewUser) -> NewUser:
    return NewUser(username=new.username, display_name=new.display_name, email=normal_email(new.email))


async def prepare_user(actor: Actor, passwords: Passwords, policy: PasswordPolicy, new: NewUser, password: str) -> str:
    """createUser's first step (no database): permission, fields, password policy, the hash."""
    CREATE_USER.require(actor)
    new = normal(new)
    if problems := _field_problems(new):
        raise DomainError(problems)
    return await prepared_hash(
        passwords, policy, password, username=new.username, email=new.email, display_name=new.display_name
    )


async def create_user(session: AsyncSession, actor: Actor, new: NewUser, secret_hash: str) -> User:
    """An active person with the password an admin chose (prepare_user hashed it)."""
    CREATE_USER.require(actor)
    new = normal(new)
    if problems := _field_problems(new) + await taken(session, new):
        raise DomainError(problems)
    user = User(
        username=new.username,
        display_name=new.display_name,
        email=new.email,
        kind=IdentityKind.HUMAN,
        secret_hash=secret_hash,
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session, actor, CREATE_USER.audit, "User", user.id, details={"username": user.username, "kind": "HUMAN"}
    )
    return user


@dataclass(frozen=True)
class Invitation:
    user: User
    token: str  # shown once, to the inviter, to send as a link
    expires_at: Any


async def _check_grants(session: AsyncSession, actor: Actor, wanted: Sequence[Grant]) -> list[Problem]:
    """Every grant the invitation carries must be one the inviter may hand out, where it may
    invite; a project it cannot read is NOT_FOUND. Without grants only an org-wide inviter
    (an admin) invites. Raises Forbidden for a readable project where the actor may not."""
    if not wanted:
        if actor.can("user", "invite"):
            return []
        if actor.projects_where("user", "invite") == set():
            INVITE_USER.require(actor)  # FORBIDDEN: it invites nowhere
        return [Problem("GRANT_REQUIRED", "Invite into one of your projects: give a role there.", "grants")]
    problems: list[Problem] = []
    seen: set[Grant] = set()
    for n, grant in enumerate(wanted):
        at = f"grants.{n}"
        if grant in seen:
            problems.append(Problem("DUPLICATE_GRANT", "That role is granted twice.", at))
            continue
        seen.add(grant)
        if grant.project_id is not None:
            await find_project(session, actor, grant.project_id, f"{at}.projectId")
        INVITE_USER.require(actor, grant.project_id)
        grants.GRANT_ROLE.require(actor, grant.project_id, role=grant.role.value)
        try:
            grants.check_fit(IdentityKind.HUMAN, grant.role, grant.project_id)
        except DomainError as exc:
            problems += [Problem(p.code, p.message, f"{at}.{p.field}") for p in exc.problems]
    return problems


async def _pending_invitee(session: AsyncSession, actor: Actor, username: str) -> User | None:
    """An invited person who has not accepted yet, whom the actor may invite again (an admin, or
    whoever sent the invitation): a new invitation replaces the old one."""
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None or user.status is not UserStatus.INVITED:
        return None
    if actor.can("user", "invite"):
        return user
    from app.auth.models import AccountToken

    sender = await session.scalar(
        select(AccountToken.created_by)
        .where(col(AccountToken.user_id) == user.id, col(AccountToken.kind) == AccountTokenKind.INVITE)
        .order_by(col(AccountToken.created_at).desc())
        .limit(1)
    )
    return user if sender == actor.id else None


async def invite_user(
    session: AsyncSession, actor: Actor, new: NewUser, wanted: Sequence[Grant], lifetime_s: int
) -> Invitation:
    """An account that cannot sign in yet, and a one-time link token that sets its password."""
    new = normal(new)
    problems = _field_problems(new) + await _check_grants(session, actor, wanted)
    again = await _pending_invitee(session, actor, new.username)
    if not problems:
        problems = await taken(session, new, except_id=again.id if again else None)
    if problems:
        raise DomainError(problems)
    if again is None:
        user = User(
            username=new.username,
            display_name=new.display_name,
            email=new.email,
            kind=IdentityKind.HUMAN,
            secret_hash="",
            is_active=False,
        )
        session.add(user)
        await session.flush()
    else:
        user = again
        user.display_name, user.email = new.display_name, new.email
    token, row = await links.issue(
        session,
        AccountTokenKind.INVITE,
        user.id,
        actor.id,
        lifetime_s,
        grants=[grant.as_json() for grant in wanted],
    )
    for project_id in {grant.project_id for grant in wanted} or {None}:
        await audit.record(
            session,
            actor,
            INVITE_USER.audit,
            "User",
            user.id,
            project_id=project_id,
            details={
                "invitation": str(row.id),
                "expiresAt": row.expires_at.isoformat(),
                "grants": [grant.as_json() for grant in wanted if grant.project_id == project_id],
                "replaced": again is not None,
            },
        )
    return Invitation(user=user, token=token, expires_at=row.expires_at)


async def prepare_acceptance(
    session: AsyncSession, passwords: Passwords, policy: PasswordPolicy, token: str, password: str
) -> str:
    """acceptInvite's first step, in a read: the invitation is live, the password fits the
    invitee, and its hash."""
    _row, user = await links.find_live(session, AccountTokenKind.INVITE, token)
    if user.status is not UserStatus.INVITED:
        raise links.invalid_token()
    return await prepared_hash(
        passwords, policy, password, username=user.username, email=user.email, display_name=user.display_name
    )


@dataclass(frozen=True)
class Accepted:
    user: User
    granted: list[Grant]
    dropped: list[Grant]  # grants the inviter could no longer hand out when the invitee accepted


def _still_grantable(authorizer: Authorizer, inviter: User | None, grant: Grant) -> bool:
    if inviter is None or not inviter.is_active:
        return False
    return authorizer.allowed(inviter.id, "user", "invite", grant.project_id) and authorizer.allowed(
        inviter.id, f"role:{grant.role.value}", "grant", grant.project_id
    )


async def accept_invite(session: AsyncSession, authorizer: Authorizer, token: str, secret_hash: str) -> Accepted:
    """The invitee sets its password (hashed by prepare_acceptance) and can sign in; the
    invitation's grants that its sender may still hand out are applied. Callable without
    signing in: the token is the credential, used once."""
    row, user = await links.find_live(session, AccountTokenKind.INVITE, token, lock=True)
    if user.status is not UserStatus.INVITED:
        raise links.invalid_token()
    # The hash was made for this invitee's names: a replaced invitation revoked this token.
    await links.use(session, row)
    user.secret_hash = secret_hash
    user.is_active = True
    await identities.changed(session, user.id)
    inviter = await session.get(User, row.created_by) if row.created_by else None
    granted, dropped = [], []
    for grant in map(Grant.of, row.grants):
        if not _still_grantable(authorizer, inviter, grant):
            dropped.append(grant)
            continue
        granted.append(grant)
        await grants.add_grant(session, authorizer, user, grant.role, grant.project_id, granted_by=inviter)
    actor = Actor(id=user.id, username=user.username, kind=user.kind, authorizer=authorizer)
    await audit.record(
        session,
        actor,
        ACCEPT_INVITE.audit,
        "User",
        user.id,
        details={
            "invitation": str(row.id),
            "granted": [g.as_json() for g in granted],
            "dropped": [g.as_json() for g in dropped],
        },
    )
    await session.flush()
    return Accepted(user=user, granted=granted, dropped=dropped)


# --- changing and ending accounts -----------------------------------------------------------


async def _target(session: AsyncSession, actor: Actor, user_id: uuid.UUID, operation: Operation) -> User:
    user = await get_user(session, actor, user_id)
    if user is None:
        raise DomainError.single("NOT_FOUND", "No such user.", "userId")
    operation.require(actor)
    return user


async def _note_change(
    session: AsyncSession, actor: Actor, user: User, action: AccountChangeAction, reason: str
) -> AccountChange:
    change = AccountChange(user_id=user.id, action=action, reason=reason, changed_by=actor.id)
    session.add(change)
    await session.flush()
    return change


async def update_user(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    display_name: str | None,
    email: str | None,
    email_given: bool,
    reason: str,
) -> User:
    """Change a person's display name and e-mail address (what is left out stays)."""
    user = await _target(session, actor, user_id, UPDATE_USER)
    new = NewUser(
        username=user.username,
        display_name=user.display_name if display_name is None else display_name,
        email=normal_email(email) if email_given else user.email,
    )
    problems = check_reason(reason) + check_email(new.email) + check_display_name(new.display_name)
    if user.erased_at is not None:
        problems.append(Problem("ALREADY_ERASED", "This person was erased: nothing of theirs changes.", "userId"))
    if problems:
        raise DomainError(problems)
    if problems := await taken(session, new, except_id=user.id):
        raise DomainError(problems)
    changed = [
        name
        for name, before, after in (
            ("displayName", user.display_name, new.display_name),
            ("email", user.email, new.email),
        )
        if before != after
    ]
    user.display_name, user.email = new.display_name, new.email
    change = await _note_change(session, actor, user, AccountChangeAction.UPDATE, reason)
    await audit.record(
        session,
        actor,
        UPDATE_USER.audit,
        "User",
        user.id,
        details={"changed": changed, "change": str(change.id), "reasonDigest": audit.digest(reason)},
    )
    return user


@dataclass(frozen=True)
class Deactivated:
    user: User
    sign_ins_ended: int
    links_revoked: int
    tasks_returned: int
    escalations_returned: int
    audits_returned: int


async def end_access(session: AsyncSession, user: User, reason: str) -> tuple[int, int]:
    """What a deactivation, a revocation or an erasure does to the account's credentials, at once:
    it cannot sign in, every access token issued so far is refused on the next request (the
    identity caches forget it: app/auth/identities.py), refresh tokens and unused links are revoked. Returns
    (sign-ins ended, links revoked)."""
    now = utcnow()
    user.is_active = False
    user.deactivated_at = user.deactivated_at or now
    user.tokens_valid_after = now
    user.previous_secret_hash = None
    user.previous_secret_expires_at = None
    sign_ins = await refresh.revoke_all(session, user.id, reason)
    revoked = await links.revoke_live(session, user.id, now)
    await identities.changed(session, user.id)
    await session.flush()
    return sign_ins, revoked


async def deactivate_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID, reason: str) -> Deactivated:
    """Take a person off at once: no sign-in, no token that works, nothing held. Grants stay (for
    a reactivation); `project.members` shows the status."""
    user = await _target(session, actor, user_id, DEACTIVATE_USER)
    problems = check_reason(reason)
    if user.kind is IdentityKind.SERVICE:
        message = "Service accounts are revoked (revokeServiceAccount)."
        problems.append(Problem("WRONG_IDENTITY_KIND", message, "userId"))
    elif user.id == actor.id:
        problems.append(Problem("SELF_DEACTIVATION", "Another admin deactivates your account.", "userId"))
    elif user.erased_at is not None:
        problems.append(Problem("ALREADY_ERASED", "This person was erased already.", "userId"))
    elif user.deactivated_at is not None:
        problems.append(Problem("ALREADY_DEACTIVATED", "This person is deactivated already.", "userId"))
    if problems:
        raise DomainError(problems)
    sign_ins, revoked = await end_access(session, user, "deactivated")
    work = await return_open_work(session, user.id)
    change = await _note_change(session, actor, user, AccountChangeAction.DEACTIVATE, reason)
    counts = {
        "signInsEnded": sign_ins,
        "linksRevoked": revoked,
        "tasksReturned": work.tasks,
        "escalationsReturned": work.escalations,
        "auditsReturned": work.audits,
    }
    await audit.record(
        session,
        actor,
        DEACTIVATE_USER.audit,
        "User",
        user.id,
        details={**counts, "change": str(change.id), "reasonDigest": audit.digest(reason)},
    )
    return Deactivated(user, sign_ins, revoked, work.tasks, work.escalations, work.audits)


async def reactivate_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID, reason: str) -> User:
    """Let a deactivated person sign in again (with its password; one invited and never accepted
    is INVITED again, and needs a new invitation). Tokens issued before the deactivation stay dead."""
    user = await _target(session, actor, user_id, REACTIVATE_USER)
    problems = check_reason(reason)
    if user.kind is IdentityKind.SERVICE:
        problems.append(Problem("WRONG_IDENTITY_KIND", "A revoked service account stays revoked.", "userId"))
    elif user.erased_at is not None:
        problems.append(Problem("ALREADY_ERASED", "This person was erased.", "userId"))
    elif user.deactivated_at is None:
        problems.append(Problem("NOT_DEACTIVATED", "This person is not deactivated.", "userId"))
    if problems:
        raise DomainError(problems)
    user.deactivated_at = None
    user.is_active = user.secret_hash != ""
    await identities.changed(session, user.id)
    change = await _note_change(session, actor, user, AccountChangeAction.REACTIVATE, reason)
    await audit.record(
        session,
        actor,
        REACTIVATE_USER.audit,
        "User",
        user.id,
        details={"status": user.status.value, "change": str(change.id), "reasonDigest": audit.digest(reason)},
    )
    await session.flush()
    return user


# --- a project's people ---------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user: User
    roles: list[Role]


async def project_members(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> list[Member]:
    """Everyone holding a role in the project (not the org-wide roles that reach it), with those
    roles, by username: `member read` there (its managers, admins), FORBIDDEN otherwise."""
    actor.require("member", "read", project_id)
    rows = await session.execute(
        select(CasbinRule.v0, CasbinRule.v1).where(
            col(CasbinRule.ptype) == "g", col(CasbinRule.v2) == domain(project_id)
        )
    )
    held: dict[uuid.UUID, list[Role]] = {}
    for subject, role in rows:
        held.setdefault(uuid.UUID(subject.removeprefix("user:")), []).append(Role(role.removeprefix("role:")))
    if not held:
        return []
    people = await session.scalars(select(User).where(col(User.id).in_(held)).order_by(col(User.username)))
    return [Member(user=user, roles=sorted(held[user.id])) for user in people]
