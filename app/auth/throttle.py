"""Slowing down password guessing at /auth/token: per username and per client address.

Each attempt is counted before its secret is checked (`begin`, one short write transaction,
the two rows locked on PostgreSQL): a burst of parallel guesses cannot all slip past the count
while argon2 runs. Once a key reaches its limit of failures within the window, every further
attempt locks it for a backoff that doubles (1 s, 2 s, 4 s, ... up to the cap); a locked key is
answered 429 with Retry-After, without checking the secret, and the attempt is not counted. A
success (`succeeded`, in the transaction that issues the token) clears its username's count and
takes its own attempt back from the address's, so an office of annotators behind one address
is only ever charged for its failures. Counts older than the window are forgotten.

Nothing here reads the user table: an unknown username is counted, locked and answered exactly
as a known one. Keys are SHA-256 digests (app/auth/models.py LoginThrottle). The state is in
the database, so every server process sees the same counts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.models import LoginThrottle, ThrottleScope
from app.db import is_postgres
from app.settings import Settings


@dataclass(frozen=True)
class Limits:
    per_username: int = 5
    per_address: int = 50
    window_s: int = 900
    backoff_s: int = 1
    backoff_max_s: int = 900

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            per_username=settings.login_failures_per_username,
            per_address=settings.login_failures_per_address,
            window_s=settings.login_failure_window_s,
            backoff_s=settings.login_backoff_s,
            backoff_max_s=settings.login_backoff_max_s,
        )

    def limit(self, scope: ThrottleScope) -> int:
        return self.per_username if scope is ThrottleScope.USERNAME else self.per_address

    def backoff(self, beyond: int) -> timedelta:
        """The lock after the limit's failure (beyond 0), the next (1), ...: doubling, capped."""
        return timedelta(seconds=min(self.backoff_max_s, self.backoff_s * 2 ** min(beyond, 32)))


@dataclass(frozen=True)
class Keys:
    username: str
    address: str

    def pairs(self) -> list[tuple[str, ThrottleScope]]:
        return sorted([(self.username, ThrottleScope.USERNAME), (self.address, ThrottleScope.ADDRESS)])


def _digest(scope: ThrottleScope, value: str) -> str:
    return hashlib.sha256(f"{scope.value}:{value}".encode()).hexdigest()


def keys(username: str, address: str) -> Keys:
    """Usernames are matched as typed but case-folded (they are stored lower case)."""
    return Keys(_digest(ThrottleScope.USERNAME, username.casefold()), _digest(ThrottleScope.ADDRESS, address))


def client_address(scope: MutableMapping[str, Any], trusted: tuple[str, ...]) -> str:
    """The ASGI peer; behind a trusted proxy (LABELGRAPH_TRUSTED_PROXIES), the nearest address in
    X-Forwarded-For that is not one of the trusted proxies. Without trusted proxies the header
    is ignored: anyone can write it."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not trusted:
        return peer
    networks = [ipaddress.ip_network(network, strict=False) for network in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not is_trusted(peer):
        return peer
    forwarded = [
        value.decode("latin-1") for name, value in scope.get("headers", []) if name.lower() == b"x-forwarded-for"
    ]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a hop the proxy did not write sensibly: fall back to the proxy itself
    return hops[0] if hops else peer


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert(LoginThrottle) if is_postgres(session) else sqlite.insert(LoginThrottle)


async def begin(session: AsyncSession, limits: Limits, k: Keys, now: datetime) -> int | None:
    """Count this attempt against both keys; the seconds to wait instead when either is locked
    (then nothing is counted)."""
    await forget_stale(session, limits, now)
    rows = [{"key": key, "scope": scope, "failures": 0, "last_failure_at": now} for key, scope in k.pairs()]
    await session.execute(_insert(session).values(rows).on_conflict_do_nothing(index_elements=["key"]))
    stmt = (
        select(LoginThrottle)
        .where(col(LoginThrottle.key).in_([k.username, k.address]))
        .order_by(col(LoginThrottle.key))
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update()  # in key order, as every attempt locks them: no deadlock
    found = list(await session.scalars(stmt))
    waits = [row.locked_until - now for row in found if row.locked_until is not None and row.locked_until > now]
    if waits:
        return max(1, math.ceil(max(waits).total_seconds()))
    for row in found:
        if row.last_failure_at < now - timedelta(seconds=limits.window_s):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        limit = limits.limit(row.scope)
        row.locked_until = now + limits.backoff(row.failures - limit) if row.failures >= limit else None
    await session.flush()
    return None


async def succeeded(session: AsyncSession, limits: Limits, k: Keys) -> None:
    """The secret matched: the username starts afresh; the address gets this attempt back."""
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == k.username))
    remaining = col(LoginThrottle.failures) - 1
    await session.execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == k.address, col(LoginThrottle.failures) > 0)
        .values(
            failures=remaining,
            locked_until=case((remaining < limits.per_address, None), else_=col(LoginThrottle.locked_until)),
        )
        .execution_options(synchronize_session=False)
    )


async def forget_stale(session: AsyncSession, limits: Limits, now: datetime) -> None:
    """Drop counts older than the window whose lock (if any) is over: the table holds only what
    can still matter (indexed on last_failure_at)."""
    await session.execute(
        delete(LoginThrottle).where(
            col(LoginThrottle.last_failure_at) < now - timedelta(seconds=limits.window_s),
            or_(col(LoginThrottle.locked_until).is_(None), and_(col(LoginThrottle.locked_until) < now)),
        )
    )
