"""Discussing hard cases: comments and replies on an item, mentions, references to the guideline,
and promoting a thread or an expert's rationale into the guideline draft as an edge case.

Threads are one level deep: a root comment and its replies, oldest first. A reply may name any
comment of the same item as its parent; it joins that comment's thread (its parent is stored as
the thread's root). Who may read a thread is app/discussion/reads.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.auth.models import User
from app.clock import utcnow
from app.compliance import audit
from app.discussion import reads
from app.discussion.models import Comment, CommentMention
from app.errors import DomainError, Problem
from app.guidelines import content as guideline_content
from app.guidelines import service as guidelines
from app.ids import encode_global_id
from app.ingestion.models import Item
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema, guideline_row
from app.taxonomy.schema_language import CLASSED
from app.workflow import reads as workflow_reads
from app.workflow.models import Decision, DecisionMethod

ADD_COMMENT = Operation("addComment", Permission("comment", "create"), audit="comment.add")
EDIT_COMMENT = Operation("editComment", Permission("comment", "create"), audit="comment.edit")
# The author deletes its own comment; those who moderate (project managers, admins) any.
DELETE_COMMENT = Operation("deleteComment", Permission("comment", "create"), audit="comment.delete")
PROMOTE_TO_GUIDELINE = Operation("promoteToGuideline", Permission("guideline", "write"), audit="guideline.promote")

MAX_BODY = 10_000
MAX_MENTIONS = 50
MAX_TITLE = guideline_content.MAX_TEXT
MAX_NOTE = 5_000
CONTENT_SECTIONS = {"definitions", "examples", "edgeCases", "decisionTree"}


@dataclass(frozen=True)
class GuidelineRef:
    section: str | None = None
    field: str | None = None
    class_: str | None = None


@dataclass(frozen=True)
class NewComment:
    item_id: uuid.UUID
    body: str
    parent_id: uuid.UUID | None = None
    mentions: Sequence[uuid.UUID] = ()
    guideline_ref: GuidelineRef | None = None


def _body_problems(body: str, at: str = "body") -> list[Problem]:
    if not body.strip():
        return [Problem("REQUIRED", "A comment needs a body.", at)]
    if len(body) > MAX_BODY:
        return [Problem("TOO_LONG", f"{at} allows {MAX_BODY:,} characters.", at)]
    return json_bounds.check_text(body, at)


async def add_comment(session: AsyncSession, actor: Actor, new: NewComment) -> Comment:
    item = await reads.find_item(session, actor, new.item_id, ADD_COMMENT)
    problems = _body_problems(new.body)
    root: Comment | None = None
    if new.parent_id is not None:
        parent = await reads.get_comment(session, actor, new.parent_id)
        if parent is None:
            problems.append(Problem("NOT_FOUND", "No such comment.", "parentId"))
        elif parent.item_id != item.id:
            problems.append(Problem("INVALID_PARENT", "A reply answers a comment of the same item.", "parentId"))
        else:
            root = parent if parent.parent_id is None else await session.get(Comment, parent.parent_id)
            if parent.deleted_at is not None:
                problems.append(Problem("COMMENT_DELETED", "That comment was deleted.", "parentId"))
    mentioned, mention_problems = await _mentions(session, actor, item, new.mentions)
    problems += mention_problems
    ref, ref_problems = await _guideline_ref(session, item, new.guideline_ref)
    problems += ref_problems
    if problems:
        raise DomainError(problems)

    comment = Comment(
        project_id=item.project_id,
        item_id=item.id,
        parent_id=root.id if root else None,
        author_id=actor.id,
        body=new.body,
        guideline_ref=ref,
    )
    session.add(comment)
    await session.flush()
    for user_id in mentioned:
        session.add(CommentMention(comment_id=comment.id, user_id=user_id))
    await session.flush()
    await audit.record(
        session,
        actor,
        ADD_COMMENT.audit,
        "Comment",
        comment.id,
        project_id=item.project_id,
        details={
            "item": str(item.id),
            "thread": str(root.id if root else comment.id),
            "reply": root is not None,
            "parent": str(new.parent_id) if new.parent_id else None,
            "mentions": [str(u) for u in mentioned],
        },
    )
    return comment


async def _mentions(
    session: AsyncSession, actor: Actor, item: Item, wanted: Sequence[uuid.UUID]
) -> tuple[list[uuid.UUID], list[Problem]]:
    """The people to mention, once each, in the order given; every one must be able to read the
    thread. A missing user and one who may not read it get the same answer (no existence leak)."""
    if len(wanted) > MAX_MENTIONS:
        return [], [Problem("TOO_MANY", f"At most {MAX_MENTIONS} mentions.", "mentions")]
    unique = list(dict.fromkeys(wanted))
    users = {}
    if unique:
        users = {u.id: u for u in (await session.scalars(select(User).where(col(User.id).in_(unique)))).all()}
    problems = []
    for i, user_id in enumerate(wanted):
        user = users.get(user_id)
        if user is None or not await reads.may_read_thread(session, user, actor, item):
            problems.append(
                Problem("INVALID_MENTION", "Only people who may read this thread can be mentioned.", f"mentions.{i}")
            )
    return unique, problems


async def _guideline_ref(
    session: AsyncSession, item: Item, ref: GuidelineRef | None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The reference as stored (the field spelled out), checked against what is in force: a section of
    the guideline (a content section or a heading of its body), a field and class of the label schema."""
    if ref is None:
        return None, []
    if ref.section is None and ref.field is None and ref.class_ is None:
        return None, [Problem("REQUIRED", "A guideline reference names a section, a field or a class.", "guidelineRef")]
    problems: list[Problem] = []
    project = await session.get(Project, item.project_id)
    assert project is not None
    stored: dict[str, Any] = {}
    if ref.section is not None:
        row = await guideline_row(session, project)
        if row is None or ref.section not in _sections(row.body):
            problems.append(
                Problem("UNKNOWN_SECTION", "The guideline in force has no such section.", "guidelineRef.section")
            )
        else:
            stored["section"] = ref.section
    if ref.field is not None or ref.class_ is not None:
        schema = (await active_schema(session, project)).schema
        field = ref.field
        if field is None:
            owners = [s.name for s in schema.fields if s.kind in CLASSED and ref.class_ in s.classes]
            if len(owners) > 1:
                problems.append(
                    Problem(
                        "AMBIGUOUS_CLASS", "Several fields have this class: name the field too.", "guidelineRef.class"
                    )
                )
            elif not owners:
                problems.append(
                    Problem("UNKNOWN_CLASS", "No field of the label schema has this class.", "guidelineRef.class")
                )
            field = owners[0] if len(owners) == 1 else None
        elif (spec := schema.field(field)) is None:
            problems.append(
                Problem("UNKNOWN_FIELD", "The label schema in force has no such field.", "guidelineRef.field")
            )
            field = None
        elif ref.class_ is not None and (spec.kind not in CLASSED or ref.class_ not in spec.classes):
            problems.append(Problem("UNKNOWN_CLASS", "That field has no such class.", "guidelineRef.class"))
            field = None
        if field is not None:
            stored["field"] = field
            if ref.class_ is not None:
                stored["class"] = ref.class_
    return (None, problems) if problems else (stored, [])


def _sections(body: str) -> set[str]:
    """What a reference may name as a section: the structured sections and the body's headings."""
    headings = {
        line.lstrip("#").strip()
        for line in body.splitlines()
        if line.startswith("#") and line.lstrip("#").startswith(" ")
    }
    return CONTENT_SECTIONS | headings


async def edit_comment(session: AsyncSession, actor: Actor, comment_id: uuid.UUID, body: str) -> Comment:
    comment = await reads.find_comment(session, actor, comment_id, EDIT_COMMENT)
    if comment.author_id != actor.id:
        raise DomainError.single("NOT_AUTHOR", "Only its author edits a comment.", "commentId")
    if comment.deleted_at is not None:
        raise DomainError.single("COMMENT_DELETED", "That comment was deleted.", "commentId")
    problems = _body_problems(body)
    if problems:
        raise DomainError(problems)
    comment.body, comment.edited_at = body, utcnow()
    await session.flush()
    await audit.record(
        session,
        actor,
        EDIT_COMMENT.audit,
        "Comment",
        comment.id,
        project_id=comment.project_id,
        details={"item": str(comment.item_id)},
    )
    return comment


async def delete_comment(session: AsyncSession, actor: Actor, comment_id: uuid.UUID) -> Comment:
    """Leave a tombstone: the body and reference erased, the row (and its replies) kept."""
    comment = await reads.find_comment(session, actor, comment_id, DELETE_COMMENT)
    if comment.author_id != actor.id and not actor.can("comment", "moderate", comment.project_id):
        raise DomainError.single("NOT_AUTHOR", "Only its author or a project manager deletes a comment.", "commentId")
    if comment.deleted_at is not None:
        raise DomainError.single("COMMENT_DELETED", "That comment was deleted already.", "commentId")
    comment.body, comment.guideline_ref = "", None
    comment.deleted_at, comment.deleted_by = utcnow(), actor.id
    await session.flush()
    await audit.record(
        session,
        actor,
        DELETE_COMMENT.audit,
        "Comment",
        comment.id,
        project_id=comment.project_id,
        details={"item": str(comment.item_id), "author": str(comment.author_id)},
    )
    return comment


@dataclass(frozen=True)
class Promotion:
    item_id: uuid.UUID
    title: str
    note: str
    comment_id: uuid.UUID | None = None
    decision_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Promoted:
    draft: Any  # app.guidelines.models.GuidelineVersion
    edge_case: guideline_content.EdgeCase


async def promote(session: AsyncSession, actor: Actor, new: Promotion) -> Promoted:
    """A thread (the one the comment is in) or an expert's decision becomes an edge case of the
    guideline draft, linked to its item and to the comment or decision it came from."""
    item = await reads.find_item(session, actor, new.item_id, PROMOTE_TO_GUIDELINE)
    problems = []
    if (new.comment_id is None) == (new.decision_id is None):
        problems.append(Problem("INVALID_SOURCE", "Name a commentId or a decisionId: one of them.", None))
    title = new.title.strip()
    if not title:
        problems.append(Problem("REQUIRED", "An edge case needs a title.", "title"))
    elif len(title) > MAX_TITLE:
        problems.append(Problem("TOO_LONG", f"title allows {MAX_TITLE:,} characters.", "title"))
    if len(new.note) > MAX_NOTE:
        problems.append(Problem("TOO_LONG", f"note allows {MAX_NOTE:,} characters.", "note"))
    problems += json_bounds.check_text(new.title, "title") + json_bounds.check_text(new.note, "note")
    if problems:
        raise DomainError(problems)

    source: dict[str, str] = {"itemId": encode_global_id("Item", item.id)}
    ref: dict[str, Any] = {}
    if new.comment_id is not None:
        root, quoted = await _thread(session, actor, item, new.comment_id)
        source["commentId"] = encode_global_id("Comment", root.id)
        if root.guideline_ref and root.guideline_ref.get("class"):
            ref = {"field": root.guideline_ref["field"], "class": root.guideline_ref["class"]}
    else:
        assert new.decision_id is not None
        decision = await _expert_decision(session, actor, item, new.decision_id)
        source["decisionId"] = encode_global_id("Decision", decision.id)
        quoted = f"Expert rationale: {decision.rationale}"
    description = _description(new.note.strip(), quoted)

    project = await find_project(session, actor, item.project_id, lock=True)
    case = {"title": title, "description": description, **ref, "source": source}
    try:
        added = await guidelines.add_edge_case(session, actor, project, case)
    except DomainError as exc:
        raise DomainError(_own_paths(exc.problems)) from None
    stored = guideline_content.parse(added.draft.content).edge_cases[added.index]
    await audit.record(
        session,
        actor,
        PROMOTE_TO_GUIDELINE.audit,
        "GuidelineVersion",
        added.draft.id,
        project_id=project.id,
        details={"version": added.draft.version, "title": title, "source": source},
    )
    return Promoted(added.draft, stored)


async def _thread(session: AsyncSession, actor: Actor, item: Item, comment_id: uuid.UUID) -> tuple[Comment, str]:
    """The thread's root and its live comments quoted, oldest first."""
    comment = await reads.get_comment(session, actor, comment_id)
    if comment is None:
        raise DomainError.single("NOT_FOUND", "No such comment.", "commentId")
    if comment.item_id != item.id:
        raise DomainError.single("NOT_ON_ITEM", "That comment is on another item.", "commentId")
    root_id = comment.parent_id or comment.id
    rows = (
        await session.scalars(
            select(Comment)
            .where((col(Comment.id) == root_id) | (col(Comment.parent_id) == root_id))
            .order_by(col(Comment.id))
        )
    ).all()
    root = next(r for r in rows if r.id == root_id)
    if root.deleted_at is not None:
        raise DomainError.single("COMMENT_DELETED", "The thread's first comment was deleted.", "commentId")
    authors = {
        u.id: u.username
        for u in (await session.scalars(select(User).where(col(User.id).in_({r.author_id for r in rows})))).all()
    }
    lines = [f"- {authors[r.author_id]}: {' '.join(r.body.split())}" for r in rows if r.deleted_at is None]
    return root, "Discussion:\n" + "\n".join(lines)


async def _expert_decision(session: AsyncSession, actor: Actor, item: Item, decision_id: uuid.UUID) -> Decision:
    decision = await session.scalar(workflow_reads.readable_decisions(actor).where(col(Decision.id) == decision_id))
    if decision is None:
        raise DomainError.single("NOT_FOUND", "No such decision.", "decisionId")
    if decision.item_id != item.id:
        raise DomainError.single("NOT_ON_ITEM", "That decision is on another item.", "decisionId")
    if decision.method is not DecisionMethod.EXPERT_RESOLVED:
        raise DomainError.single(
            "NOT_EXPERT_DECISION", "Only an expert's resolution has a rationale to promote.", "decisionId"
        )
    return decision


def _description(note: str, quoted: str) -> str:
    """The note, then the source's words; a long thread is cut at a line, the rest left at its source."""
    limit = guideline_content.MAX_TEXT
    head = f"{note}\n\n" if note else ""
    text = head + quoted
    if len(text) <= limit:
        return text
    marker = "\n(continued at the source)"
    kept = text[: limit - len(marker)]
    cut = kept.rfind("\n")
    return (kept[:cut] if cut > len(head) else kept) + marker


def _own_paths(problems: Sequence[Problem]) -> list[Problem]:
    """Problems of the new edge case named by this operation's input (its title) rather than the draft's path."""
    out = []
    for problem in problems:
        if problem.code == "DUPLICATE_EDGE_CASE":
            out.append(Problem(problem.code, "The draft already has an edge case with this title.", "title"))
        else:
            out.append(problem)
    return out
