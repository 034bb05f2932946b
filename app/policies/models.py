"""Role grants, stored in casbin's own rule layout so any casbin adapter could read them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class CasbinRule(SQLModel, table=True):
    __tablename__ = "casbin_rule"
    __table_args__ = (
        UniqueConstraint("ptype", "v0", "v1", "v2", name="uq_casbin_rule_grant"),
        Index("ix_casbin_rule_subject", "ptype", "v0"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Only "g" rows (user, role, domain) live here; role permissions are in policy.csv.
    ptype: str = Field(max_length=8)
    v0: str = Field(max_length=255)
    v1: str = Field(max_length=255)
    v2: str = Field(max_length=255)
    v3: str | None = Field(default=None, max_length=255)
    v4: str | None = Field(default=None, max_length=255)
    v5: str | None = Field(default=None, max_length=255)
    granted_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    granted_at: datetime = Field(default_factory=utcnow)
