"""Client secrets of identity providers, sealed under the secret key as signing keys are
(AES-256-GCM under an HKDF-derived key; the provider's id as associated data, so a sealed secret
copied onto another provider's row does not open). Nothing here logs or returns a secret but to
the token request that needs it."""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"labelgraph oidc client secret/1"


def _key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret_key.encode())


def seal(secret_key: str, provider_id: uuid.UUID, client_secret: str) -> str:
    nonce = os.urandom(12)
    return (nonce + AESGCM(_key(secret_key)).encrypt(nonce, client_secret.encode(), provider_id.bytes)).hex()


class SealedSecretError(Exception):
    """The secret was sealed under another LABELGRAPH_SECRET_KEY (or for another provider)."""


def unseal(secret_key: str, provider_id: uuid.UUID, sealed: str) -> str:
    raw = bytes.fromhex(sealed)
    try:
        return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], provider_id.bytes).decode()
    except InvalidTag:
        raise SealedSecretError("the client secret does not open under this secret key: configure it again") from None
