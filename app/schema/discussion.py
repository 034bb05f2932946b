"""Discussion of hard cases: comment threads on items, mentions, and promotion into the guideline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.discussion import error_codes as area_codes
from app.discussion import models, reads, service
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.guidelines import EdgeCase, GuidelineVersion
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id

if TYPE_CHECKING:
    from app.schema.items import Item

DiscussionErrorCode = strawberry.enum(
    area_codes.DiscussionErrorCode, description=area_codes.DiscussionErrorCode.__doc__
)


@strawberry.type(description="A failure of a discussion mutation.")
class DiscussionError(UserError):
    codes = area_codes.DiscussionErrorCode
    code: DiscussionErrorCode  # type: ignore[valid-type]


@strawberry.type(description="What a comment is about: a section of the guideline, a field and class of the schema.")
class GuidelineRef:
    section: str | None = strawberry.field(
        description="definitions, examples, edgeCases, decisionTree, or a heading of the guideline's body."
    )
    field: str | None
    class_name: str | None


@strawberry.type(
    description="A comment on an item. Threads are one level deep: a root comment and its replies, oldest "
    "first. A deleted comment stays as a tombstone (body null, deletedAt set) so its replies still hang together."
)
class Comment(Node):
    body: str | None = strawberry.field(description="Null once deleted.")
    created_at: datetime
    edited_at: datetime | None = strawberry.field(description="When its author last edited it.")
    deleted_at: datetime | None
    guideline_ref: GuidelineRef | None
    parent_id: strawberry.ID | None = strawberry.field(description="The thread's root, for a reply.")
    _row: strawberry.Private[models.Comment]

    @classmethod
    def of(cls, row: models.Comment) -> Comment:
        ref = row.guideline_ref
        return cls(
            id=global_id("Comment", row.id),
            body=None if row.deleted_at else row.body,
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted_at=row.deleted_at,
            guideline_ref=GuidelineRef(section=ref.get("section"), field=ref.get("field"), class_name=ref.get("class"))
            if ref
            else None,
            parent_id=global_id("Comment", row.parent_id) if row.parent_id else None,
            _row=row,
        )

    @strawberry.field
    async def author(self, info: Info) -> User:
        return await known_user(info, self._row.author_id)

    @strawberry.field(description="The people it mentions; empty once deleted.")
    async def mentions(self, info: Info) -> list[User]:
        if self._row.deleted_at is not None:
            return []
        ids = await info.context.loaders.mentions_of_comment.load(self._row.id)
        return [await known_user(info, user_id) for user_id in ids]

    @strawberry.field(description="Replies to a root comment, oldest first (empty for a reply).")
    async def replies(self, info: Info) -> list[Comment]:
        if self._row.parent_id is not None:
            return []
        rows = await info.context.loaders.comments_of_item.load(self._row.item_id)
        return [Comment.of(row) for row in rows if row.parent_id == self._row.id]

    @strawberry.field
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")] | None:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._row.item_id)
        return Item.of(row) if row else None


async def threads_of_item(info: Info, project_id: uuid.UUID, item_id: uuid.UUID) -> list[Comment]:
    """Resolver of Item.comments (app/schema/items.py): the thread roots, oldest first."""
    reads.require_comment_list(info.context.actor, project_id)
    rows = await info.context.loaders.comments_of_item.load(item_id)
    return [Comment.of(row) for row in rows if row.parent_id is None]


async def viewer_mentions(info: Info, first: int, after: str | None) -> Connection[Comment]:
    """Resolver of Viewer.mentions (app/schema/identity.py)."""
    limit, cursor = page_size(first), uuid_cursor(after)
    async with info.context.db() as session:
        rows = await reads.list_mentions(session, info.context.actor, after=cursor, limit=limit + 1)
    return connection(rows, limit, key=lambda r: r.id, node=Comment.of, after=after)


@strawberry.input(description="At least one of section, field, class.")
class GuidelineRefInput:
    section: str | None = None
    field: str | None = strawberry.field(default=None, description="A field of the label schema in force.")
    class_name: str | None = strawberry.field(
        default=None, name="class", description="A class of that field (or of the one field that has it)."
    )


@strawberry.input
class AddCommentInput:
    item_id: strawberry.ID
    body: str = strawberry.field(description="Up to 10,000 characters.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Reply to this comment of the same item: the reply joins its thread."
    )
    mentions: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="People to mention (at most 50): each must be able to read the thread."
    )
    guideline_ref: GuidelineRefInput | None = None


@strawberry.type
class CommentPayload:
    comment: Comment | None
    errors: list[DiscussionError]


@strawberry.input
class EditCommentInput:
    comment_id: strawberry.ID
    body: str


@strawberry.input
class DeleteCommentInput:
    comment_id: strawberry.ID


@strawberry.input
class PromoteToGuidelineInput:
    item_id: strawberry.ID
    comment_id: strawberry.ID | None = strawberry.field(
        default=None, description="A comment of the item: its whole thread is promoted."
    )
    decision_id: strawberry.ID | None = strawberry.field(
        default=None, description="An EXPERT_RESOLVED decision of the item: its rationale is promoted."
    )
    title: str = strawberry.field(description="The edge case's title, unique in the draft.")
    note: str = strawberry.field(default="", description="What the case teaches; up to 5,000 characters.")


@strawberry.type
class PromoteToGuidelinePayload:
    guideline: GuidelineVersion | None = strawberry.field(description="The draft, with the new edge case last.")
    edge_case: EdgeCase | None
    errors: list[DiscussionError]


def _payload(result: models.Comment | list[DiscussionError]) -> CommentPayload:
    if isinstance(result, list):
        return CommentPayload(comment=None, errors=result)
    return CommentPayload(comment=Comment.of(result), errors=[])


@strawberry.type
class DiscussionMutation:
    @strawberry.mutation(
        description="Comment on an item, or reply to one of its comments, mentioning people who may read the "
        "thread. NOT_FOUND for an item whose thread you may not read (an annotator before its own label)."
    )
    async def add_comment(self, info: Info, input: AddCommentInput) -> CommentPayload | None:
        async def act(session: AsyncSession) -> models.Comment:
            ref = input.guideline_ref
            new = service.NewComment(
                item_id=input_id(input.item_id, "Item", "itemId"),
                body=input.body,
                parent_id=input_id(input.parent_id, "Comment", "parentId") if input.parent_id else None,
                mentions=[input_id(m, "User", f"mentions.{i}") for i, m in enumerate(input.mentions)],
                guideline_ref=service.GuidelineRef(ref.section, ref.field, ref.class_name) if ref else None,
            )
            return await service.add_comment(session, info.context.actor, new)

        return _payload(await run_mutation(info, service.ADD_COMMENT, input, act, DiscussionError))

    @strawberry.mutation(description="Change your own comment's body; editedAt records when.")
    async def edit_comment(self, info: Info, input: EditCommentInput) -> CommentPayload | None:
        async def act(session: AsyncSession) -> models.Comment:
            comment_id = input_id(input.comment_id, "Comment", "commentId")
            return await service.edit_comment(session, info.context.actor, comment_id, input.body)

        return _payload(await run_mutation(info, service.EDIT_COMMENT, input, act, DiscussionError))

    @strawberry.mutation(
        description="Delete your comment (project managers and admins: any): a tombstone stays for its replies."
    )
    async def delete_comment(self, info: Info, input: DeleteCommentInput) -> CommentPayload | None:
        async def act(session: AsyncSession) -> models.Comment:
            comment_id = input_id(input.comment_id, "Comment", "commentId")
            return await service.delete_comment(session, info.context.actor, comment_id)

        return _payload(await run_mutation(info, service.DELETE_COMMENT, input, act, DiscussionError))

    @strawberry.mutation(
        description="Project managers and admins: turn a thread or an expert's rationale into an edge case of "
        "the guideline draft (started from the version in force when there is none), linked to its source."
    )
    async def promote_to_guideline(
        self, info: Info, input: PromoteToGuidelineInput
    ) -> PromoteToGuidelinePayload | None:
        async def act(session: AsyncSession) -> service.Promoted:
            new = service.Promotion(
                item_id=input_id(input.item_id, "Item", "itemId"),
                title=input.title,
                note=input.note,
                comment_id=input_id(input.comment_id, "Comment", "commentId") if input.comment_id else None,
                decision_id=input_id(input.decision_id, "Decision", "decisionId") if input.decision_id else None,
            )
            return await service.promote(session, info.context.actor, new)

        result = await run_mutation(info, service.PROMOTE_TO_GUIDELINE, input, act, DiscussionError)
        if isinstance(result, list):
            return PromoteToGuidelinePayload(guideline=None, edge_case=None, errors=result)
        return PromoteToGuidelinePayload(
            guideline=GuidelineVersion.of(result.draft), edge_case=EdgeCase.of(result.edge_case), errors=[]
        )
