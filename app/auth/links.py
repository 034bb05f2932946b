"""One-time link tokens: invitations and password resets (app/auth/models.py AccountToken).

A token is 256 random bits, handed once to whoever issued it (to send as a link); the database
keeps its SHA-256, as for refresh tokens. Every dead token (unknown, used, expired, revoked, of
the other kind, or whose account is no longer in the state it was issued for) is the one
INVALID_TOKEN: the caller learns nothing about which.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.models import AccountToken, AccountTokenKind, User
from app.auth.refresh import MAX_TOKEN_CHARS, TOKEN_BYTES, token_digest
from app.clock import utcnow
from app.db import is_postgres
from app.errors import DomainError


def invalid_token() -> DomainError:
    return DomainError.single("INVALID_TOKEN", "This link is invalid, used or expired: ask for a new one.", "token")


async def issue(
    session: AsyncSession,
    kind: AccountTokenKind,
    user_id: uuid.UUID,
    created_by: uuid.UUID | None,
    lifetime_s: int,
    *,
    grants: list[dict[str, Any]] | None = None,
) -> tuple[str, AccountToken]:
    """A new token of its kind for the user; its earlier live ones of that kind stop working."""
    now = utcnow()
    await revoke_live(session, user_id, now, kind=kind)
    value = secrets.token_urlsafe(TOKEN_BYTES)
    row = AccountToken(
        kind=kind,
        user_id=user_id,
        token_hash=token_digest(value),
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime_s),
        grants=grants or [],
    )
    session.add(row)
    await session.flush()
    return value, row


async def revoke_live(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, *, kind: AccountTokenKind | None = None
) -> int:
    """End the user's unused tokens (of one kind, or all: a deactivated account); how many ended."""
    stmt = (
        update(AccountToken)
        .where(
            col(AccountToken.user_id) == user_id,
            col(AccountToken.used_at).is_(None),
            col(AccountToken.revoked_at).is_(None),
            col(AccountToken.expires_at) > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if kind is not None:
        stmt = stmt.where(col(AccountToken.kind) == kind)
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def find_live(
    session: AsyncSession, kind: AccountTokenKind, value: str, *, lock: bool = False
) -> tuple[AccountToken, User]:
    """The live token and its account, or INVALID_TOKEN. With lock (the write that uses it), the
    row is locked on PostgreSQL so two uses of one token queue and the second finds it used."""
    if not value or len(value) > MAX_TOKEN_CHARS:
        raise invalid_token()
    stmt = select(AccountToken).where(col(AccountToken.token_hash) == token_digest(value))
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt.execution_options(populate_existing=True))
    now = utcnow()
    if row is None or row.kind is not kind or row.used_at is not None or row.revoked_at is not None:
        raise invalid_token()
    if row.expires_at <= now:
        raise invalid_token()
    user = await session.get(User, row.user_id)
    if user is None or user.erased_at is not None or user.deactivated_at is not None:
        raise invalid_token()
    return row, user


async def use(session: AsyncSession, row: AccountToken) -> None:
    row.used_at = utcnow()
    await session.flush()
