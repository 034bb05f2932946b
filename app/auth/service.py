"""Identities: creating them (CLI, seeds) and checking their credentials (token endpoint)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.auth.models import IdentityKind, User
from app.auth.passwords import Passwords
from app.compliance import audit
from app.errors import DomainError, Problem

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_SECRET = 12


async def create_identity(
    session: AsyncSession,
    passwords: Passwords,
    *,
    username: str,
    secret: str,
    kind: IdentityKind = IdentityKind.HUMAN,
    display_name: str = "",
) -> User:
    problems = []
    if not USERNAME.match(username):
        problems.append(Problem("INVALID_USERNAME", "Usernames are 2-64 of a-z 0-9 . _ -", "username"))
    if len(secret) < MIN_SECRET:
        problems.append(Problem("WEAK_SECRET", f"Use at least {MIN_SECRET} characters.", "password"))
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
    """The identity when the secret matches; None otherwise, at the same cost whether or not it exists."""
    user = await session.scalar(select(User).where(User.username == username))
    usable = user is not None and user.is_active and user.kind is kind
    ok = await passwords.verify(user.secret_hash if usable and user else None, secret)
    return user if ok and usable else None
