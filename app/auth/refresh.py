"""Refresh tokens (RFC 6749 section 6): issued at sign-in, rotated on every use, revoked as a family.

A token is 256 random bits handed to the client once; the database keeps only its SHA-256
(a fast hash is enough for a value nobody can guess), so a copy of the table signs nobody in.
Each exchange marks the token used and issues its successor in the same family. A used token
presented again means two parties hold the family (a copy was stolen, or leaked from a log):
the whole family is revoked and the caller gets invalid_grant, like any dead token. Every
issue, rotation and revocation is an audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.auth.models import IdentityKind, RefreshToken, User
from app.clock import utcnow
from app.compliance import audit
from app.db import is_postgres
from app.errors import DomainError
from app.ids import new_id
from app.operations import Operation
from app.policies.enforcer import Authorizer

# Signing out ends one's own sign-ins only: no permission to hold. The token itself never
# reaches the audit digest.
REVOKE_TOKEN = Operation("revokeToken", None, audit="auth.refresh.revoke", secret_fields=("refreshToken",))

TOKEN_BYTES = 32
# Longer than any token we issue (43 characters); anything longer is not one of ours.
MAX_TOKEN_CHARS = 128


# Clients whose families never outlive their first token: "sso" (app/sso/http.py), whose sign-in
# the identity provider must renew (a person disabled there, or moved out of a group, would
# otherwise keep refreshing for good).
SSO_CLIENT = "sso"
BOUNDED_CLIENTS = frozenset({SSO_CLIENT})


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Exchanged:
    """A successful refresh: whom the new access token is for, and the successor refresh token."""

    actor: Actor
    client_id: str
    refresh_token: str


async def _new_token(
    session: AsyncSession, user_id: uuid.UUID, client_id: str, family_id: uuid.UUID, lifetime_s: float, now: datetime
) -> tuple[str, RefreshToken]:
    value = secrets.token_urlsafe(TOKEN_BYTES)
    row = RefreshToken(
        user_id=user_id,
        family_id=family_id,
        token_hash=token_digest(value),
        client_id=client_id,
        issued_at=now,
        expires_at=now + timedelta(seconds=lifetime_s),
    )
    session.add(row)
    await session.flush()
    return value, row


async def issue(session: AsyncSession, actor: Actor, client_id: str, lifetime_s: int) -> str:
    """A new family's first token, for a person who just signed in."""
    now = utcnow()
    value, row = await _new_token(session, actor.id, client_id, new_id(), lifetime_s, now)
    await audit.record(
        session,
        actor,
        "auth.refresh.issue",
        "RefreshTokenFamily",
        row.family_id,
        request={"client_id": client_id},
        details={"token": str(row.id), "expires_at": row.expires_at.isoformat()},
    )
    return value


async def _find(session: AsyncSession, token: str) -> RefreshToken | None:
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_digest(token))
    if is_postgres(session):
        # Two exchanges of one token queue here; the second then sees it used (SQLite writers
        # are serialised already).
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def owner_of(session: AsyncSession, token: str) -> User | None:
    """Whose refresh token this is (any state), for the revocation endpoint; None when it is none of ours."""
    row = await _find(session, token)
    return None if row is None else await session.get(User, row.user_id)


async def revoke_all(
    session: AsyncSession, user_id: uuid.UUID, reason: str, *, keep_families: set[uuid.UUID] | None = None
) -> int:
    """Revoke every live refresh token of the user (an erased or deactivated account, a new
    password), but those of `keep_families`; the number of sign-ins ended."""
    now = utcnow()
    if not keep_families:
        return len(await _revoke_families(session, user_id, None, reason, now))
    live = select(RefreshToken.family_id).where(
        RefreshToken.user_id == user_id,
        col(RefreshToken.revoked_at).is_(None),
        col(RefreshToken.family_id).not_in(keep_families),
    )
    others = set((await session.scalars(live.distinct())).all())
    return len(await _revoke_families(session, user_id, others, reason, now)) if others else 0


async def _revoke_families(
    session: AsyncSession, user_id: uuid.UUID, family_ids: set[uuid.UUID] | None, reason: str, now: datetime
) -> set[uuid.UUID]:
    """Revoke every not yet revoked token of the families (all the user's, for None); returns the
    families that had one."""
    live = select(RefreshToken.family_id).where(RefreshToken.user_id == user_id, col(RefreshToken.revoked_at).is_(None))
    if family_ids is not None:
        live = live.where(col(RefreshToken.family_id).in_(family_ids))
    families = set((await session.scalars(live.distinct())).all())
    if families:
        await session.execute(
            update(RefreshToken)
            .where(
                col(RefreshToken.user_id) == user_id,
                col(RefreshToken.family_id).in_(families),
                col(RefreshToken.revoked_at).is_(None),
            )
            .values(revoked_at=now, revoke_reason=reason)
        )
    return families


async def exchange(session: AsyncSession, authorizer: Authorizer, token: str, lifetime_s: float) -> Exchanged | None:
    """The refresh grant: the successor token and whom it is for, or None for any dead token.

    None covers unknown, expired, revoked and reused tokens and inactive owners alike: the
    client learns nothing about which. The revocations a reuse or an inactive owner causes are
    written in this transaction, so the caller must commit it even when answering invalid_grant.
    """
    now = utcnow()
    row = await _find(session, token)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.rotated_at is not None:
        await _revoke_families(session, row.user_id, {row.family_id}, "reuse", now)
        await audit.record(
            session,
            None,
            "auth.refresh.reuse",
            "RefreshTokenFamily",
            row.family_id,
            request={"grant_type": "refresh_token"},
            details={"user": str(row.user_id), "token": str(row.id), "revoked": "family"},
        )
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active or user.kind is not IdentityKind.HUMAN:
        await _revoke_families(session, row.user_id, {row.family_id}, "inactive", now)
        await audit.record(
            session,
            None,
            "auth.refresh.revoke",
            "RefreshTokenFamily",
            row.family_id,
            request={"grant_type": "refresh_token"},
            details={"user": str(row.user_id), "reason": "inactive"},
        )
        return None
    actor = Actor(id=user.id, username=user.username, kind=user.kind, authorizer=authorizer)
    row.rotated_at = now
    if row.client_id in BOUNDED_CLIENTS:
        # A sign-in through an identity provider ends when its first token would have: the provider
        # is asked again at least that often, and its group claims are mapped again.
        lifetime_s = min(lifetime_s, (row.expires_at - now).total_seconds())
    value, successor = await _new_token(session, user.id, row.client_id, row.family_id, lifetime_s, now)
    await audit.record(
        session,
        actor,
        "auth.refresh.rotate",
        "RefreshTokenFamily",
        row.family_id,
        request={"grant_type": "refresh_token"},
        details={"from": str(row.id), "to": str(successor.id), "expires_at": successor.expires_at.isoformat()},
    )
    return Exchanged(actor=actor, client_id=row.client_id, refresh_token=value)


async def revoke(session: AsyncSession, actor: Actor, *, token: str | None, everything: bool, via: str) -> int:
    """Log out: end the family of one of the caller's own refresh tokens, or (everything) all of
    the caller's; returns how many sign-ins (families) ended.

    A token that is not the caller's is NOT_FOUND, exactly like one that does not exist.
    """
    now = utcnow()
    families: set[uuid.UUID] | None = None
    if token is not None:
        row = await _find(session, token)
        if row is None or row.user_id != actor.id:
            raise DomainError.single("NOT_FOUND", "No such refresh token.", "refreshToken")
        families = {row.family_id}
    elif not everything:
        raise DomainError.single("NOTHING_TO_REVOKE", "Send a refreshToken, or all: true.", "refreshToken")
    ended = await _revoke_families(session, actor.id, None if everything else families, "logout", now)
    await audit.record(
        session,
        actor,
        REVOKE_TOKEN.audit,
        "User",
        actor.id,
        request={"all": everything, "token": token is not None, "via": via},
        details={"reason": "logout", "families": sorted(str(f) for f in ended)},
    )
    return len(ended)
