"""Argon2id hashing, run in a worker thread: ~100 ms of CPU must not stall the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the username is unknown, so both paths cost the same.
        self._decoy = self._hasher.hash("labelgraph-decoy-secret")

    def hash_sync(self, secret: str) -> str:
        return str(self._hasher.hash(secret))

    async def hash(self, secret: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_sync, secret)

    async def verify(self, stored_hash: str | None, secret: str) -> bool:
        return await anyio.to_thread.run_sync(self._verify, stored_hash, secret)

    def _verify(self, stored_hash: str | None, secret: str) -> bool:
        try:
            return bool(self._hasher.verify(stored_hash or self._decoy, secret)) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False
