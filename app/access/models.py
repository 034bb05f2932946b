"""Access history tables: one row per request, one per resource it read or changed."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class Channel(enum.StrEnum):
    GRAPHQL = "GRAPHQL"
    DOWNLOAD = "DOWNLOAD"
    SIGN_IN = "SIGN_IN"  # a refused or throttled attempt at /auth/token


class Outcome(enum.StrEnum):
    OK = "OK"
    DENIED = "DENIED"  # an authorization denial answered the request (or part of it)
    UNAUTHENTICATED = "UNAUTHENTICATED"  # no valid credentials: the 401
    FAILED = "FAILED"  # refused for another reason (bad input, not found, a server error)


class ResourceAction(enum.StrEnum):
    READ = "READ"  # its content was returned
    CHANGED = "CHANGED"  # a committed change recorded an audit event on it


class AccessEvent(SQLModel, table=True):
    __tablename__ = "access_event"
    __table_args__ = (
        Index("ix_access_event_actor", "actor_id", "occurred_at"),
        Index("ix_access_event_time", "occurred_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow)
    # No foreign key: the history outlives what it names, and a 401 has no actor.
    actor_id: uuid.UUID | None = None
    actor_kind: str = Field(max_length=16)
    channel: Channel = enum_field(Channel)
    # The GraphQL operation's name (or its root fields when unnamed), or the download's route.
    operation: str = Field(max_length=255)
    operation_type: str = Field(max_length=16)  # query, mutation, subscription, download
    outcome: Outcome = enum_field(Outcome)
    status: int  # the HTTP status answered
    # What was denied (field paths and the public messages); never input values or content.
    details: dict[str, Any] = json_field(default={})


class AccessResource(SQLModel, table=True):
    __tablename__ = "access_resource"
    __table_args__ = (Index("ix_access_resource_lookup", "resource_type", "resource_id", "event_id"),)

    event_id: uuid.UUID = Field(foreign_key="access_event.id", primary_key=True)
    resource_type: str = Field(max_length=64, primary_key=True)
    resource_id: str = Field(max_length=64, primary_key=True)
    action: ResourceAction = Field(
        default=ResourceAction.READ, sa_column=Column(String(16), primary_key=True, nullable=False)
    )
