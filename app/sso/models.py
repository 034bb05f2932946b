"""Single sign-on through OpenID Connect: the identity providers admins configure, the short-lived
state of a sign-in in progress, and which provider subject is which of our people."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import json_field
from app.ids import new_id


class IdentityProvider(SQLModel, table=True):
    """An OpenID Connect provider (configureIdentityProvider). `name` is the path segment of
    /auth/oidc/{name}/login. The client secret is sealed (app/sso/sealing.py): never readable back."""

    __tablename__ = "identity_provider"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=200)
    issuer: str = Field(max_length=2048)
    client_id: str = Field(max_length=255)
    # nonce || AES-256-GCM(secret), hex, with the provider's id as associated data.
    client_secret_sealed: str
    scopes: list[str] = json_field(default=[])
    # E-mail domains (lower case) whose people may sign in; empty: any verified address.
    allowed_email_domains: list[str] = json_field(default=[])
    # [{"claim": "groups", "value": "labelers", "role": "annotator", "project": "<uuid>"}]
    role_mappings: list[dict[str, Any]] = json_field(default=[])
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")


class OidcLogin(SQLModel, table=True):
    """A sign-in between /login and /callback: single use, dead after `expires_at`. The state is
    kept as its SHA-256 (it travels through the browser), and so is the value of the cookie that binds
    the sign-in to the browser that started it; nonce and PKCE verifier never leave here but in the
    provider's requests."""

    __tablename__ = "oidc_login"
    __table_args__ = (Index("ix_oidc_login_expires_at", "expires_at"),)

    state_hash: str = Field(max_length=64, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="identity_provider.id", index=True)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    redirect_uri: str = Field(max_length=2048)
    # SHA-256 of the random value /login set in the browser's cookie: /callback must bring it back.
    browser_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class ExternalIdentity(SQLModel, table=True):
    """A provider's subject (`sub`) linked to one of our people, and the role grants its claims
    gave at the last sign-in (so a mapping change takes those away, and nothing granted by hand)."""

    __tablename__ = "external_identity"
    __table_args__ = (Index("uq_external_identity_subject", "provider_id", "subject", unique=True),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="identity_provider.id")
    subject: str = Field(max_length=255)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = None
    # [{"role": "annotator", "project": "<uuid>"}]
    mapped_grants: list[dict[str, Any]] = json_field(default=[])
