"""Identities: people and service accounts share one table and one id space."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class IdentityKind(enum.StrEnum):
    HUMAN = "HUMAN"
    SERVICE = "SERVICE"


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=200)
    kind: IdentityKind = enum_field(IdentityKind, default=IdentityKind.HUMAN)
    # argon2id hash of the password (people) or client secret (service accounts).
    secret_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # Set by eraseUser: username and display_name hold a pseudonym since, the account is inactive.
    erased_at: datetime | None = None


class RefreshToken(SQLModel, table=True):
    """One refresh token (RFC 6749 section 6), stored only as the SHA-256 of its value.

    A family is one sign-in: every rotation adds a row to it, and marks the row exchanged.
    Presenting an exchanged token again means someone kept a copy: the family is revoked.
    """

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True)
    client_id: str = Field(default="", max_length=64)
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    rotated_at: datetime | None = None  # exchanged for its successor
    revoked_at: datetime | None = None
    revoke_reason: str | None = Field(default=None, max_length=32)


SIGNING_ALGORITHM = "ES256"


class SigningKey(SQLModel, table=True):
    """An access-token signing key (app/auth/keys.py): the public JWK in the clear, the private one sealed."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(default=SIGNING_ALGORITHM, max_length=16)
    # The public JWK (kty, crv, x, y, kid, alg, use): what /.well-known/jwks.json serves.
    public_jwk: dict[str, Any] = json_field()
    # nonce || AES-256-GCM(private JWK as JSON), hex; the key is derived from the secret key.
    private_sealed: str
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None  # superseded by a newer key; still verifies until published_until
    published_until: datetime | None = None
