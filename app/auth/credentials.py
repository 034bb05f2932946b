"""A person's password after the first: changePassword (knowing the current one), and the
reset link an admin issues (issuePasswordReset) that the person redeems (resetPassword).

Both set the password in two steps (people.py explains why): `prepare_*` verifies and hashes
outside the write transaction, the write checks the row still holds what was verified.

A stolen session could otherwise guess the current password through changePassword as fast as
argon2 allows: each attempt counts against the same per-username key as /auth/token
(app/auth/throttle.py), counted before the check, so the two channels share one budget.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.auth import identities, links, refresh, throttle
from app.auth.actor import Actor
from app.auth.models import AccountTokenKind, IdentityKind, RefreshToken, User, UserStatus
from app.auth.password_policy import PasswordPolicy
from app.auth.passwords import Passwords
from app.auth.people import prepared_hash
from app.auth.reads import get_user
from app.clock import utcnow
from app.compliance import audit
from app.db import is_postgres, unit_of_work
from app.errors import DomainError
from app.operations import Operation, Permission
from app.policies.enforcer import Authorizer

CHANGE_PASSWORD = Operation(
    "changePassword",
    None,  # one's own password: knowing the current one is the permission
    audit="user.password.change",
    secret_fields=("currentPassword", "newPassword", "refreshToken"),
)
ISSUE_PASSWORD_RESET = Operation(
    "issuePasswordReset", Permission("user", "reset_password"), audit="user.password.reset_issue"
)
RESET_PASSWORD = Operation("resetPassword", None, audit="user.password.reset", secret_fields=("token", "password"))


async def _own_row(session: AsyncSession, actor: Actor, *, lock: bool = False) -> User:
    stmt = select(User).where(col(User.id) == actor.id)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update(key_share=True)
    user = await session.scalar(stmt.execution_options(populate_existing=True))
    assert user is not None  # the bearer check read it this request
    if user.kind is not IdentityKind.HUMAN:
        raise DomainError.single(
            "WRONG_IDENTITY_KIND", "Service accounts rotate their client secret instead.", "currentPassword"
        )
    return user


async def count_attempt(
    sessions: async_sessionmaker[AsyncSession], limits: throttle.Limits, keys: throttle.Keys
) -> None:
    """Count a changePassword attempt before its check; TOO_MANY_ATTEMPTS while the key is locked."""
    async with unit_of_work(sessions, write=True) as session:
        wait = await throttle.begin(session, limits, keys, utcnow())
    if wait is not None:
        message = f"Too many wrong passwords: try again in {wait} seconds."
        raise DomainError.single("TOO_MANY_ATTEMPTS", message, "currentPassword")


async def clear_attempts(
    sessions: async_sessionmaker[AsyncSession], limits: throttle.Limits, keys: throttle.Keys
) -> None:
    """The current password was right (whatever else was wrong with the change)."""
    async with unit_of_work(sessions, write=True) as session:
        await throttle.succeeded(session, limits, keys)


@dataclass(frozen=True)
class PreparedChange:
    verified_hash: str  # the stored hash the current password matched
    new_hash: str


async def prepare_change(
    session: AsyncSession,
    actor: Actor,
    passwords: Passwords,
    policy: PasswordPolicy,
    current: str,
    new: str,
) -> PreparedChange:
    """changePassword's first step, in a read: the current password is right, the new one fits
    the policy and differs, and its hash."""
    user = await _own_row(session, actor)
    if not await passwords.verify(user.secret_hash or None, current):
        raise DomainError.single("WRONG_PASSWORD", "That is not your current password.", "currentPassword")
    if new == current:
        raise DomainError.single("SAME_PASSWORD", "Choose a password other than the current one.", "newPassword")
    new_hash = await prepared_hash(
        passwords,
        policy,
        new,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        field="newPassword",
    )
    return PreparedChange(verified_hash=user.secret_hash, new_hash=new_hash)


async def change_password(
    session: AsyncSession, actor: Actor, prepared: PreparedChange, keep_refresh_token: str | None
) -> int:
    """Set the new password and end every other sign-in (refresh tokens); the one whose refresh
    token is given, if it is the caller's, stays. Returns the sign-ins ended."""
    user = await _own_row(session, actor, lock=True)
    if user.secret_hash != prepared.verified_hash:  # changed (or reset) meanwhile
        raise DomainError.single("WRONG_PASSWORD", "That is not your current password.", "currentPassword")
    user.secret_hash = prepared.new_hash
    kept: set[uuid.UUID] = set()
    if keep_refresh_token:
        row = await session.scalar(
            select(RefreshToken).where(col(RefreshToken.token_hash) == refresh.token_digest(keep_refresh_token))
        )
        if row is not None and row.user_id == user.id:
            kept = {row.family_id}
    ended = await refresh.revoke_all(session, user.id, "password_change", keep_families=kept)
    await audit.record(
        session,
        actor,
        CHANGE_PASSWORD.audit,
        "User",
        user.id,
        details={"signInsEnded": ended, "kept": len(kept)},
    )
    await session.flush()
    return ended


@dataclass(frozen=True)
class ResetLink:
    user: User
    token: str  # shown once, to the admin, to send as a link
    expires_at: datetime


async def issue_password_reset(session: AsyncSession, actor: Actor, user_id: uuid.UUID, lifetime_s: int) -> ResetLink:
    """A one-time link that sets a new password for an active person (an earlier one stops working)."""
    user = await get_user(session, actor, user_id)
    if user is None:
        raise DomainError.single("NOT_FOUND", "No such user.", "userId")
    ISSUE_PASSWORD_RESET.require(actor)
    if user.kind is not IdentityKind.HUMAN:
        raise DomainError.single("WRONG_IDENTITY_KIND", "Service accounts rotate their client secret.", "userId")
    if user.id == actor.id:
        raise DomainError.single("SELF_RESET", "Change your own password with changePassword.", "userId")
    if user.status is not UserStatus.ACTIVE:
        raise DomainError.single(
            "NOT_ACTIVE", "Only an active account gets a reset link (an invited one, a new invitation).", "userId"
        )
    token, row = await links.issue(session, AccountTokenKind.PASSWORD_RESET, user.id, actor.id, lifetime_s)
    await audit.record(
        session,
        actor,
        ISSUE_PASSWORD_RESET.audit,
        "User",
        user.id,
        details={"link": str(row.id), "expiresAt": row.expires_at.isoformat()},
    )
    return ResetLink(user=user, token=token, expires_at=row.expires_at)


async def prepare_reset(
    session: AsyncSession, passwords: Passwords, policy: PasswordPolicy, token: str, password: str
) -> str:
    _row, user = await links.find_live(session, AccountTokenKind.PASSWORD_RESET, token)
    if user.status is not UserStatus.ACTIVE:
        raise links.invalid_token()
    return await prepared_hash(
        passwords, policy, password, username=user.username, email=user.email, display_name=user.display_name
    )


async def reset_password(session: AsyncSession, authorizer: Authorizer, token: str, secret_hash: str) -> User:
    """Redeem the link (callable without signing in): the new password is set, and whoever held
    the account before is cut off: every refresh token revoked, every access token issued before
    refused from the next request on."""
    row, user = await links.find_live(session, AccountTokenKind.PASSWORD_RESET, token, lock=True)
    if user.status is not UserStatus.ACTIVE:
        raise links.invalid_token()
    await links.use(session, row)
    user.secret_hash = secret_hash
    user.tokens_valid_after = utcnow()
    await identities.changed(session, user.id)
    ended = await refresh.revoke_all(session, user.id, "password_reset")
    await audit.record(
        session,
        Actor(id=user.id, username=user.username, kind=user.kind, authorizer=authorizer),
        RESET_PASSWORD.audit,
        "User",
        user.id,
        details={
            "link": str(row.id),
            "issuedBy": str(row.created_by) if row.created_by else None,
            "signInsEnded": ended,
        },
    )
    await session.flush()
    return user
