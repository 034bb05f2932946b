"""Comments on items (threads of a root and its replies) and the people they mention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import json_field
from app.ids import new_id


class Comment(SQLModel, table=True):
    """One comment. A thread is a root (parent_id null) and its replies, one level deep: a reply
    to a reply joins the thread of the comment it answers. A deleted comment stays as a tombstone
    (its body erased, deleted_at set) so its replies still hang together."""

    __table_args__ = (Index("ix_comment_item", "item_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id")
    # The thread's root; null for a root.
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="comment.id")
    author_id: uuid.UUID = Field(foreign_key="user.id")
    body: str = Field(default="")
    # {"section"?, "field"?, "class"?}: the part of the guideline and label schema it is about.
    guideline_ref: dict[str, Any] | None = json_field(nullable=True)
    created_at: datetime = Field(default_factory=utcnow)
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")


class CommentMention(SQLModel, table=True):
    """A person a comment mentions; the viewer's mentions are read by user, newest comment first."""

    __tablename__ = "comment_mention"
    __table_args__ = (Index("ix_comment_mention_user", "user_id", "comment_id"),)

    comment_id: uuid.UUID = Field(foreign_key="comment.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", primary_key=True)
