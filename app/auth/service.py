"""Identities from the command line and seeds (create_identity), and checking credentials at
the token endpoint (authenticate)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.auth.fields import check_display_name, check_username
from app.auth.models import IdentityKind, User
from app.auth.password_policy import PasswordPolicy, check_password
from app.auth.passwords import Passwords
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem


async def create_identity(
    session: AsyncSession,
    passwords: Passwords,
    *,
    username: str,
    secret: str,
    kind: IdentityKind = IdentityKind.HUMAN,
    display_name: str = "",
    policy: PasswordPolicy | None = None,
) -> User:
    """An active identity with the secret given (`labelgraph user create`, the demo seed): the
    password policy applies to it as to any password set through the API."""
    problems = check_username(username) + check_display_name(display_name)
    problems += check_password(secret, policy or PasswordPolicy(), username=username, display_name=display_name)
    if await session.scalar(select(User.id).where(User.username == username)):
        problems.append(Problem("USERNAME_TAKEN", "That username exists.", "username"))
    if problems:
        raise DomainError(problems)
    user = User(username=username, kind=kind, display_name=display_name, secret_hash=await passwords.hash(secret))
    session.add(user)
    await session.flush()
    await audit.record(
        session, None, "user.create", "User", user.id, request={"username": username, "kind": kind.value}
    )
    return user


async def authenticate(
    session: AsyncSession, passwords: Passwords, username: str, secret: str, kind: IdentityKind
) -> User | None:
    """The identity when the secret matches; None otherwise, at the same cost whether or not it
    exists. A service account's previous client secret also matches while its rotation's grace
    lasts; a failed client_credentials sign-in always costs two verifications (current and
    previous, or the decoy), so the answer's timing does not tell whether a grace is running."""
    user = await session.scalar(select(User).where(User.username == username))
    usable = user is not None and user.is_active and user.kind is kind
    current = user.secret_hash if usable and user else None
    if await passwords.verify(current or None, secret):
        return user
    if kind is not IdentityKind.SERVICE:
        return None
    previous = None
    if usable and user and user.previous_secret_hash and user.previous_secret_expires_at:
        previous = user.previous_secret_hash if user.previous_secret_expires_at > utcnow() else None
    return user if await passwords.verify(previous, secret) else None
