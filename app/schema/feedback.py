"""Feedback to annotators on their own labels: `viewer.feedback` (app/expertise/feedback.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from app.expertise import feedback
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.identity import FeedbackKind
from app.schema.node import decode_id, global_id
from app.schema.workflow import Label, Verdict

if TYPE_CHECKING:
    from app.schema.items import Item

FeedbackClassSide = strawberry.enum(
    feedback.ClassSide,
    name="FeedbackClassSide",
    description="DECIDED: the decided value gives the class and your label does not; YOURS: your label gives "
    "it and the decided value does not.",
)


@strawberry.type(description="A class your label and the decided value disagree on, with what the guideline says.")
class FeedbackClass:
    field: str = strawberry.field(description="The label-schema field (in the schema in force).")
    class_name: str = strawberry.field(description="The class, as the schema in force names it.")
    side: FeedbackClassSide  # type: ignore[valid-type]
    definition: str | None = strawberry.field(
        description="The class's definition in the guideline in force; null when it defines none."
    )


@strawberry.type(description="One field's score of a gold answer.")
class FeedbackFieldScore:
    field: str
    score: float = strawberry.field(description="0..1: exact match, set F1 or span/box F1, by field kind.")


@strawberry.type(
    description="One judgment that your label was wrong, with your value, the decided value, the comment and "
    "the guideline's definitions of the classes in question. Values are read under the label schema in force."
)
class FeedbackEntry:
    kind: FeedbackKind  # type: ignore[valid-type]
    at: datetime = strawberry.field(
        description="When: the review, the overturn, the gold answer, the expert's resolution."
    )
    item_id: strawberry.ID = strawberry.field(description="The item's id, as item.id gives it.")
    label: Label = strawberry.field(description="Your label, as you made it.")
    value: JSON = strawberry.field(description="Your label's value, read under the schema in force.")
    decided_value: JSON | None = strawberry.field(
        description="The decided or correct value: the reviewer's correction, else the item's decision in force "
        "(null while a rejected item is labeled again); the overturn's new value; the gold answer; the expert's "
        "value."
    )
    comment: str | None = strawberry.field(
        description="The reviewer's comment, the auditor's comment, or the expert's rationale; null for gold."
    )
    verdict: Verdict | None = strawberry.field(  # type: ignore[valid-type]
        description="REJECTION only: REJECT (sent back for another label) or CORRECT (the reviewer wrote the value)."
    )
    score: float | None = strawberry.field(description="GOLD_MISS only: your answer's score, 0..1.")
    field_scores: list[FeedbackFieldScore] = strawberry.field(
        description="GOLD_MISS only: the score per field of the gold answer; empty otherwise."
    )
    schema_version: int = strawberry.field(description="The label-schema version in force the values are read under.")
    guideline_version: int | None = strawberry.field(
        description="The guideline version in force the definitions come from; null without a guideline."
    )
    classes: list[FeedbackClass] = strawberry.field(
        description="The classes of choice, taxonomy, span and box fields where your value and the decided one "
        "disagree, in schema order, with their definitions."
    )
    _entry: strawberry.Private[feedback.FeedbackEntry]

    @strawberry.field(description="The item you labeled.")
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")]:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._entry.item_id)
        assert row is not None, "one's own task's item is readable"
        return Item.of(row)

    @classmethod
    def of(cls, entry: feedback.FeedbackEntry) -> FeedbackEntry:
        return cls(
            kind=entry.kind,
            at=entry.at,
            item_id=global_id("Item", entry.item_id),
            label=Label.of(entry.label),
            value=JSON(entry.value),
            decided_value=JSON(entry.decided_value) if entry.decided_value is not None else None,
            comment=entry.comment,
            verdict=entry.verdict,
            score=entry.score,
            field_scores=[FeedbackFieldScore(field=name, score=s) for name, s in entry.field_scores.items()],
            schema_version=entry.schema_version,
            guideline_version=entry.guideline_version,
            classes=[
                FeedbackClass(field=c.field, class_name=c.class_name, side=c.side, definition=c.definition)
                for c in entry.classes
            ],
            _entry=entry,
        )


async def viewer_feedback(
    info: Info,
    project_id: strawberry.ID | None,
    kinds: list[feedback.FeedbackKind] | None,
    first: int,
    after: str | None,
) -> Connection[FeedbackEntry]:
    """Resolver of Viewer.feedback (app/schema/identity.py)."""
    limit, cursor = page_size(first), uuid_cursor(after)
    where = feedback.FeedbackFilter(
        project_id=decode_id(project_id, "Project", "projectId") if project_id is not None else None,
        kinds=frozenset(kinds) if kinds is not None else None,
    )
    async with info.context.db() as session:
        entries = await feedback.list_feedback(session, info.context.actor, where, before=cursor, limit=limit + 1)
    return connection(entries, limit, key=lambda e: e.key, node=FeedbackEntry.of, after=after)
