"""Webhook signing secrets and the signature header.

**Secrets are derived, never stored.** A webhook row keeps a random salt; its secret is
HKDF-SHA256 (key: `Settings.webhook_key_bytes()`, LABELGRAPH_WEBHOOK_KEY or one derived from the
token key; salt: the row's; info: `labelgraph webhook signing secret v1:` + the webhook's id),
written `whsec_` + unpadded url-safe base64 of the 32 bytes. The server recomputes it to sign
each request; a copy of the database alone does not give it away, and there is no ciphertext to
manage. The price: changing the webhook key changes every webhook's secret (set
LABELGRAPH_WEBHOOK_KEY and keep it).

**Header:** `Labelgraph-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC keyed with the
secret's text (UTF-8, the whole `whsec_...` string) over `<t>.<raw request body>`. A receiver
recomputes it over the bytes it received, compares in constant time, and refuses a `t` more
than a few minutes from its clock (replays). More `v1=` entries may follow one day (a secret
being rotated): any matching one is good. `verify` below does all that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HEADER = "Labelgraph-Signature"
PREFIX = "whsec_"
TOLERANCE_S = 300


def new_salt() -> str:
    return secrets.token_hex(16)


def signing_secret(key: bytes, webhook_id: uuid.UUID, salt: str) -> str:
    kdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=bytes.fromhex(salt),
        info=b"labelgraph webhook signing secret v1:" + webhook_id.bytes,
    )
    return PREFIX + base64.urlsafe_b64encode(kdf.derive(key)).decode().rstrip("=")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = TOLERANCE_S) -> bool:
    """A receiver's check of a request: a fresh timestamp and a v1 signature over it and the body."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
