"""Identities: people and service accounts share one table and one id space."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class IdentityKind(enum.StrEnum):
    HUMAN = "HUMAN"
    SERVICE = "SERVICE"


class UserStatus(enum.StrEnum):
    """Where an identity stands, read from its columns (see User.status)."""

    INVITED = "INVITED"  # invited, its password not set yet: cannot sign in
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"  # a person taken off (deactivateUser); reactivateUser brings it back
    REVOKED = "REVOKED"  # a service account revoked for good (revokeServiceAccount)
    ERASED = "ERASED"  # eraseUser: a pseudonym, for good


class User(SQLModel, table=True):
    # Unique where set (several NULLs are allowed on both databases).
    __table_args__ = (Index("uq_user_email", "email", unique=True),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=200)
    kind: IdentityKind = enum_field(IdentityKind, default=IdentityKind.HUMAN)
    # argon2id hash of the password (people) or client secret (service accounts); "" while invited.
    secret_hash: str = Field(max_length=255)
    # The one flag sign-in and every request check; the columns below say why it is off.
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # Set by eraseUser: username and display_name hold a pseudonym since, the account is inactive.
    erased_at: datetime | None = None
    # Lower-cased; people only. Erased with the person.
    email: str | None = Field(default=None, max_length=254)
    # When the account was deactivated (people) or revoked (service accounts); null otherwise.
    deactivated_at: datetime | None = None
    # Access tokens issued (iat) before this second are refused: set by deactivation, a password
    # reset, a revocation and erasure, so a token issued before does not come back on reactivation.
    tokens_valid_after: datetime | None = None
    # A service account's previous client secret during a rotation's grace, and until when it works.
    previous_secret_hash: str | None = Field(default=None, max_length=255)
    previous_secret_expires_at: datetime | None = None

    @property
    def status(self) -> UserStatus:
        if self.erased_at is not None:
            return UserStatus.ERASED
        if self.deactivated_at is not None:
            return UserStatus.REVOKED if self.kind is IdentityKind.SERVICE else UserStatus.DEACTIVATED
        return UserStatus.ACTIVE if self.is_active else UserStatus.INVITED


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


class AccountTokenKind(enum.StrEnum):
    INVITE = "INVITE"  # acceptInvite: sets the first password, activates, applies the grants
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105  (resetPassword: sets a new password)


class AccountToken(SQLModel, table=True):
    """A one-time link token (an invitation, a password reset), stored only as its SHA-256.

    256 random bits handed out once (to the admin or manager who sends the link); the row keeps
    the digest, so a copy of the table opens no account. Used once (`used_at`), dead after
    `expires_at`, or `revoked_at` when a newer one of its kind replaces it or the account is
    deactivated.
    """

    __tablename__ = "account_token"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: AccountTokenKind = enum_field(AccountTokenKind)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    # An invitation's role grants, applied at acceptance: [{"role": "annotator", "project": "<uuid>"}]
    # (project null: org-wide).
    grants: list[dict[str, Any]] = json_field(default=[])


class AccountChangeAction(enum.StrEnum):
    UPDATE = "UPDATE"
    DEACTIVATE = "DEACTIVATE"
    REACTIVATE = "REACTIVATE"
    REVOKE = "REVOKE"


class AccountChange(SQLModel, table=True):
    """Why an account was changed, in the admin's words. Kept here rather than in the audit
    event (which holds a digest of the reason): audit rows are never rewritten, and eraseUser
    must be able to erase what was said about the person."""

    __tablename__ = "account_change"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    action: AccountChangeAction = enum_field(AccountChangeAction)
    reason: str
    changed_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    changed_at: datetime = Field(default_factory=utcnow)


class ThrottleScope(enum.StrEnum):
    USERNAME = "USERNAME"  # the name a sign-in gave, existing or not
    ADDRESS = "ADDRESS"  # the client's address


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per username and per client address (app/auth/throttle.py), in the
    database so every server process counts the same guesses. The key is the SHA-256 of scope
    and value: no username typed (a password, sometimes) nor address is stored in the clear."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last_failure", "last_failure_at"),)

    key: str = Field(max_length=64, primary_key=True)
    scope: ThrottleScope = enum_field(ThrottleScope)
    failures: int = 0
    last_failure_at: datetime = Field(default_factory=utcnow)
    # No sign-in under this key until then (429 with Retry-After).
    locked_until: datetime | None = None


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
