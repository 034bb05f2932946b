"""Service accounts through the API: createServiceAccount, rotateClientSecret, revokeServiceAccount.

A client secret is 256 random bits made here and shown once (in the mutation's payload); the
row keeps its argon2id hash, and nothing logs or audits the value. A rotation keeps the
previous secret's hash valid for a grace period the admin chooses, so a pipeline can switch
to the new secret without a moment where neither works; /auth/token tries the current secret,
then the previous one while its grace lasts (app/auth/service.authenticate).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.fields import check_display_name, check_reason, check_username
from app.auth.models import AccountChange, AccountChangeAction, IdentityKind, User
from app.auth.passwords import Passwords
from app.auth.people import NewUser, end_access, taken
from app.auth.reads import get_user
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.operations import Operation, Permission

CREATE_SERVICE_ACCOUNT = Operation(
    "createServiceAccount", Permission("service_account", "manage"), audit="service_account.create"
)
ROTATE_CLIENT_SECRET = Operation(
    "rotateClientSecret", Permission("service_account", "manage"), audit="service_account.rotate_secret"
)
REVOKE_SERVICE_ACCOUNT = Operation(
    "revokeServiceAccount", Permission("service_account", "manage"), audit="service_account.revoke"
)

SECRET_BYTES = 32
MAX_GRACE_S = 7 * 24 * 3600


async def new_client_secret(actor: Actor, passwords: Passwords, operation: Operation) -> tuple[str, str]:
    """A fresh secret and its hash, made before the write transaction (the hash takes ~100 ms)."""
    operation.require(actor)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, await passwords.hash(secret)


async def prepare_rotation(
    session: AsyncSession, actor: Actor, passwords: Passwords, account_id: uuid.UUID
) -> tuple[str, str]:
    """rotateClientSecret's first step, in a read: the account is one the actor may rotate (an
    unreadable one is NOT_FOUND before any permission is asked), then the new secret and hash."""
    await _service_account(session, actor, account_id, ROTATE_CLIENT_SECRET)
    return await new_client_secret(actor, passwords, ROTATE_CLIENT_SECRET)


async def create_service_account(
    session: AsyncSession, actor: Actor, username: str, display_name: str, secret_hash: str
) -> User:
    CREATE_SERVICE_ACCOUNT.require(actor)
    new = NewUser(username=username, display_name=display_name)
    problems = check_username(username) + check_display_name(display_name)
    if problems or (problems := await taken(session, new)):
        raise DomainError(problems)
    account = User(username=username, display_name=display_name, kind=IdentityKind.SERVICE, secret_hash=secret_hash)
    session.add(account)
    await session.flush()
    await audit.record(
        session,
        actor,
        CREATE_SERVICE_ACCOUNT.audit,
        "User",
        account.id,
        details={"username": username, "kind": "SERVICE"},
    )
    return account


async def _service_account(session: AsyncSession, actor: Actor, account_id: uuid.UUID, operation: Operation) -> User:
    account = await get_user(session, actor, account_id)
    if account is None:
        raise DomainError.single("NOT_FOUND", "No such service account.", "serviceAccountId")
    operation.require(actor)
    if account.kind is not IdentityKind.SERVICE:
        raise DomainError.single("WRONG_IDENTITY_KIND", "That is a person, not a service account.", "serviceAccountId")
    if account.deactivated_at is not None:
        raise DomainError.single("ALREADY_REVOKED", "This service account is revoked.", "serviceAccountId")
    return account


async def rotate_client_secret(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, grace_s: int, secret_hash: str
) -> User:
    """The new secret takes over now; the one it replaces works `grace_s` seconds more (0: not at
    all). A secret still in an earlier rotation's grace stops at once: two at most are valid."""
    account = await _service_account(session, actor, account_id, ROTATE_CLIENT_SECRET)
    if not 0 <= grace_s <= MAX_GRACE_S:
        raise DomainError.single("OUT_OF_RANGE", f"graceSeconds is 0 to {MAX_GRACE_S:,} (seven days).", "graceSeconds")
    now = utcnow()
    if grace_s:
        account.previous_secret_hash = account.secret_hash
        account.previous_secret_expires_at = now + timedelta(seconds=grace_s)
    else:
        account.previous_secret_hash = account.previous_secret_expires_at = None
    account.secret_hash = secret_hash
    await audit.record(
        session,
        actor,
        ROTATE_CLIENT_SECRET.audit,
        "User",
        account.id,
        details={
            "graceSeconds": grace_s,
            "previousValidUntil": account.previous_secret_expires_at.isoformat()
            if account.previous_secret_expires_at
            else None,
        },
    )
    await session.flush()
    return account


async def revoke_service_account(session: AsyncSession, actor: Actor, account_id: uuid.UUID, reason: str) -> User:
    """For good: no secret works, every access token it holds is refused on its next request."""
    account = await get_user(session, actor, account_id)
    problems: list[Problem] = check_reason(reason)
    if account is None:
        raise DomainError.single("NOT_FOUND", "No such service account.", "serviceAccountId")
    REVOKE_SERVICE_ACCOUNT.require(actor)
    if account.kind is not IdentityKind.SERVICE:
        problems.append(Problem("WRONG_IDENTITY_KIND", "People are deactivated (deactivateUser).", "serviceAccountId"))
    elif account.deactivated_at is not None:
        problems.append(Problem("ALREADY_REVOKED", "This service account is revoked already.", "serviceAccountId"))
    if problems:
        raise DomainError(problems)
    await end_access(session, account, "revoked")
    change = AccountChange(user_id=account.id, action=AccountChangeAction.REVOKE, reason=reason, changed_by=actor.id)
    session.add(change)
    await session.flush()
    await audit.record(
        session,
        actor,
        REVOKE_SERVICE_ACCOUNT.audit,
        "User",
        account.id,
        details={"change": str(change.id), "reasonDigest": audit.digest(reason)},
    )
    return account
