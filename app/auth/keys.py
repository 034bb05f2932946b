"""The keys access tokens are signed with: ES256 (ECDSA P-256), each with a `kid`, kept in the
database so every server process signs and verifies with the same ones, and published as a JWK Set
at /.well-known/jwks.json so other services verify tokens without any secret.

- One key is current (the newest not retired); processes sign with it.
- `labelgraph keys rotate` adds a new key and retires the current one. A retired key still
  verifies, and stays published, until every token it signed has expired: `retired_at` plus the
  token lifetime plus RELOAD_S (a process may sign with it for up to RELOAD_S after the rotation,
  until it reloads) plus the verifier's leeway. Then it is dropped from the set.
- Private keys are stored encrypted (AES-256-GCM under a key derived from the secret key with
  HKDF); the public half is stored in the clear. Nothing here is ever logged.

Processes reload the ring every RELOAD_S seconds, and at once (at most every RETRY_S) when a token
names a kid they do not know, so a rotation made by the CLI reaches running servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.auth.models import SIGNING_ALGORITHM, SigningKey
from app.clock import aware, utcnow
from app.compliance import audit
from app.db import serialize_on, unit_of_work

ALGORITHM = SIGNING_ALGORITHM
CURVE = "P-256"
RELOAD_S = 60.0
RETRY_S = 5.0
LEEWAY_S = 5
AUDIT_ACTION = "signing_key.rotate"
logger = logging.getLogger("labelgraph.keys")


def _wrap_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labelgraph signing key wrap/1").derive(
        secret_key.encode()
    )


def _seal(secret_key: str, kid: str, private: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_wrap_key(secret_key)).encrypt(nonce, json.dumps(private).encode(), kid.encode())
    return (nonce + sealed).hex()


def _unseal(secret_key: str, kid: str, sealed: str) -> dict[str, Any]:
    raw = bytes.fromhex(sealed)
    try:
        opened: dict[str, Any] = json.loads(AESGCM(_wrap_key(secret_key)).decrypt(raw[:12], raw[12:], kid.encode()))
    except InvalidTag:
        raise RuntimeError(
            f"signing key {kid} was sealed under another LABELGRAPH_SECRET_KEY: restore that one, or run "
            "`labelgraph keys rotate` to sign with a new key (tokens of the old one stop working)"
        ) from None
    return opened


def new_key(secret_key: str, now: datetime) -> SigningKey:
    key = ECKey.generate_key(CURVE, auto_kid=True)
    kid = str(key.kid)
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return SigningKey(
        kid=kid,
        public_jwk=public,
        private_sealed=_seal(secret_key, kid, key.as_dict(private=True)),
        created_at=now,
    )


@dataclass(frozen=True)
class Ring:
    """What one process signs and verifies with, as last read from the database."""

    current: ECKey | None
    verifying: KeySet
    published: list[dict[str, Any]]

    def knows(self, kid: str) -> bool:
        return any(k.kid == kid for k in self.verifying.keys)


async def read_ring(session: AsyncSession, secret_key: str, now: datetime) -> Ring:
    rows = list(await session.scalars(select(SigningKey).order_by(col(SigningKey.created_at))))
    live = [r for r in rows if r.published_until is None or aware(r.published_until) > now]
    current_row = next((r for r in reversed(live) if r.retired_at is None), None)
    current = (
        ECKey.import_key(_unseal(secret_key, current_row.kid, current_row.private_sealed))
        if current_row is not None
        else None
    )
    verifying = KeySet([ECKey.import_key(r.public_jwk) for r in live])
    return Ring(current, verifying, [r.public_jwk for r in live])


@dataclass(frozen=True)
class Rotated:
    kid: str
    retired: list[str]
    published_until: datetime | None


async def rotate(
    session: AsyncSession, secret_key: str, token_lifetime_s: int, *, first_only: bool = False
) -> Rotated | None:
    """A new current key; the previous ones retire, published until their last token expires.
    With first_only, only when there is no key at all (a server's first start). Serialized
    (several processes starting at once make one key)."""
    await serialize_on(session, "labelgraph.signing_key")
    now = utcnow()
    current = list(await session.scalars(select(SigningKey).where(col(SigningKey.retired_at).is_(None))))
    if first_only and current:
        return None
    until = now + timedelta(seconds=token_lifetime_s + RELOAD_S + LEEWAY_S)
    for row in current:
        row.retired_at, row.published_until = now, until
    added = new_key(secret_key, now)
    session.add(added)
    await session.flush()
    rotated = Rotated(added.kid, [r.kid for r in current], until if current else None)
    await audit.record(
        session,
        None,
        AUDIT_ACTION,
        "SigningKey",
        added.kid,
        details={
            "kid": added.kid,
            "retired": rotated.retired,
            "publishedUntil": until.isoformat() if current else None,
        },
    )
    return rotated


class KeyRing:
    """The process's copy of the keys, reloaded in the background (and on an unknown kid)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], secret_key: str, token_lifetime_s: int) -> None:
        self._sessions = sessions
        self._secret_key = secret_key
        self._lifetime_s = token_lifetime_s
        self.ring = Ring(None, KeySet([]), [])
        self._last_retry = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Make the first key when there is none, load the ring, keep it fresh."""
        async with unit_of_work(self._sessions, write=False) as session:
            has_current = await session.scalar(select(SigningKey.kid).where(col(SigningKey.retired_at).is_(None)))
        if has_current is None:
            async with unit_of_work(self._sessions, write=True) as session:
                await rotate(session, self._secret_key, self._lifetime_s, first_only=True)
        await self.reload()
        self._task = asyncio.create_task(self._run(), name="signing-keys")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def reload(self) -> None:
        async with self._sessions() as session:
            self.ring = await read_ring(session, self._secret_key, utcnow())

    async def reload_for(self, kid: str) -> bool:
        """A token named a kid this process does not know: reload (rate limited) and say whether it
        is known now. Random kids cannot make every request a database read."""
        if self.ring.knows(kid):
            return True
        now = time.monotonic()
        if now - self._last_retry < RETRY_S:
            return False
        self._last_retry = now
        await self.reload()
        return self.ring.knows(kid)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_S)
            try:
                await self.reload()
            except Exception:  # logged; the next tick tries again, the old ring keeps working
                logger.exception("reloading the signing keys failed")


async def describe(session: AsyncSession) -> list[str]:
    """One line per key, newest first, for `labelgraph keys list` (ids and times only)."""
    now = utcnow()
    lines = []
    for row in await session.scalars(select(SigningKey).order_by(col(SigningKey.created_at).desc())):
        if row.retired_at is None:
            state = "current"
        elif row.published_until is not None and aware(row.published_until) > now:
            state = f"retired, verifies until {aware(row.published_until):%Y-%m-%d %H:%M:%S} UTC"
        else:
            state = "expired"
        lines.append(f"{row.kid}  {row.alg}  created {aware(row.created_at):%Y-%m-%d %H:%M:%S} UTC  {state}")
    return lines
