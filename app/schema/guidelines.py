"""Guideline versions: drafts, publication, diffs and acknowledgements."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.errors import DomainError
from app.guidelines import content as guideline_content
from app.guidelines import error_codes as area_codes
from app.guidelines import models, service
from app.guidelines.diff import GuidelineDiff as Diff
from app.schema.connections import Connection, connection, int_cursor, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import PublicError, UserError, errors_of
from app.schema.identity import User, known_user, load_user
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id
from app.schema.taxonomy import DiffChange
from app.taxonomy.schema_language import LabelSchema

GuidelineErrorCode = strawberry.enum(area_codes.GuidelineErrorCode, description=area_codes.GuidelineErrorCode.__doc__)


@strawberry.type(description="A failure of a guideline mutation, or a problem of guideline content.")
class GuidelineError(UserError):
    codes = area_codes.GuidelineErrorCode
    code: GuidelineErrorCode  # type: ignore[valid-type]


GuidelineStatus = strawberry.enum(models.GuidelineStatus)


@strawberry.enum
class ExamplePolarity(enum.StrEnum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"


@strawberry.type(description="A class of a field of the label schema.")
class ClassRef:
    field: str
    class_name: str

    @classmethod
    def of(cls, ref: guideline_content.ClassRef) -> ClassRef:
        return cls(field=ref.field, class_name=ref.class_)


@strawberry.type(description="What a class means: the text a labeling UI shows as its tooltip.")
class ClassDefinition:
    field: str
    class_name: str
    definition: str


@strawberry.type(description="A positive or negative example of a class: inline text or an item of the project.")
class GuidelineExample:
    field: str
    class_name: str
    polarity: ExamplePolarity
    text: str | None
    item_id: strawberry.ID | None
    note: str


@strawberry.type(description="Where an edge case came from (promoteToGuideline): an item and its thread or decision.")
class EdgeCaseSource:
    item_id: strawberry.ID
    comment_id: strawberry.ID | None = strawberry.field(description="The root comment of the thread it came from.")
    decision_id: strawberry.ID | None = strawberry.field(description="The expert's decision it came from.")


@strawberry.type(description="A hard case and how to resolve it.")
class EdgeCase:
    title: str
    description: str
    field: str | None
    class_name: str | None
    source: EdgeCaseSource | None

    @classmethod
    def of(cls, case: guideline_content.EdgeCase) -> EdgeCase:
        source = case.source
        return cls(
            title=case.title,
            description=case.description,
            field=case.ref.field if case.ref else None,
            class_name=case.ref.class_ if case.ref else None,
            source=EdgeCaseSource(
                item_id=strawberry.ID(source.item_id),
                comment_id=strawberry.ID(source.comment_id) if source.comment_id else None,
                decision_id=strawberry.ID(source.decision_id) if source.decision_id else None,
            )
            if source
            else None,
        )


@strawberry.type(description="An answer leads to the next question or to a class (a leaf).")
class DecisionAnswer:
    answer: str
    next: str | None
    field: str | None
    class_name: str | None


@strawberry.type
class DecisionNode:
    id: str
    question: str
    answers: list[DecisionAnswer]


@strawberry.type(description="Questions that lead an annotator to a class, starting at `root`.")
class DecisionTree:
    root: str
    nodes: list[DecisionNode]


@strawberry.type(description="An annotator's record of having read a guideline version.")
class GuidelineAcknowledgement:
    version: int
    acknowledged_at: datetime
    _row: strawberry.Private[models.GuidelineAcknowledgement]

    @strawberry.field
    async def user(self, info: Info) -> User:
        return await known_user(info, self._row.user_id)


@strawberry.type(description="A version of a project's annotation guideline.")
class GuidelineVersion(Node):
    version: int
    status: GuidelineStatus  # type: ignore[valid-type]
    body: str = strawberry.field(description="Markdown.")
    changelog: str = strawberry.field(description="What changed, written when published.")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    definitions: list[ClassDefinition]
    examples: list[GuidelineExample]
    edge_cases: list[EdgeCase]
    decision_tree: DecisionTree | None
    _row: strawberry.Private[models.GuidelineVersion]
    _content: strawberry.Private[guideline_content.GuidelineContent]

    @classmethod
    def of(cls, row: models.GuidelineVersion) -> GuidelineVersion:
        content = guideline_content.parse(row.content)
        tree = content.tree
        return cls(
            id=global_id("GuidelineVersion", row.id),
            version=row.version,
            status=row.status,
            body=row.body,
            changelog=row.changelog,
            created_at=row.created_at,
            updated_at=row.updated_at,
            published_at=row.published_at,
            definitions=[
                ClassDefinition(field=d.ref.field, class_name=d.ref.class_, definition=d.text)
                for d in content.definitions
            ],
            examples=[
                GuidelineExample(
                    field=e.ref.field,
                    class_name=e.ref.class_,
                    polarity=ExamplePolarity(e.polarity),
                    text=e.text,
                    item_id=strawberry.ID(e.item_id) if e.item_id else None,
                    note=e.note,
                )
                for e in content.examples
            ],
            edge_cases=[EdgeCase.of(c) for c in content.edge_cases],
            decision_tree=DecisionTree(
                root=tree.root,
                nodes=[
                    DecisionNode(
                        id=n.id,
                        question=n.question,
                        answers=[
                            DecisionAnswer(
                                answer=a.answer,
                                next=a.next,
                                field=a.target.field if a.target else None,
                                class_name=a.target.class_ if a.target else None,
                            )
                            for a in n.answers
                        ],
                    )
                    for n in tree.nodes
                ],
            )
            if tree
            else None,
            _row=row,
            _content=content,
        )

    @strawberry.field(
        description="Definitions, examples, edge cases and decision tree as stored (JSON), in saveGuidelineDraft's "
        "input form: edit a section and send that section back."
    )
    def content(self) -> JSON:
        return JSON(self._row.content)

    @strawberry.field(description="Where to download it as a Markdown document (with a bearer token).")
    def markdown_url(self) -> str:
        return f"/guidelines/{global_id('Project', self._row.project_id)}/{self._row.version}.md"

    @strawberry.field(description="Classes of the fields the decision tree decides that no path reaches.")
    async def unreachable_classes(self, info: Info) -> list[ClassRef]:
        tree = self._content.tree
        if tree is None:
            return []
        schema = await self._schema_in_force(info)
        return [ClassRef.of(ref) for ref in guideline_content.unreachable_classes(tree, schema)]

    @strawberry.field(
        description="What no longer fits the label schema in force (a class renamed since): time for a new version."
    )
    async def schema_problems(self, info: Info) -> list[GuidelineError]:
        checked = guideline_content.check(self._row.content, await self._schema_in_force(info))
        return errors_of(GuidelineError, checked.problems)

    async def _schema_in_force(self, info: Info) -> LabelSchema:
        async with info.context.db() as session:
            return await service.schema_in_force(session, self._row.project_id)

    @strawberry.field
    async def published_by(self, info: Info) -> User | None:
        return await load_user(info, self._row.published_by)

    @strawberry.field(description="Whether you have acknowledged this version.")
    async def acknowledged_by_viewer(self, info: Info) -> bool:
        async with info.context.db() as session:
            return await service.has_acknowledged(session, info.context.actor.id, self._row.id)

    @strawberry.field(description="Who acknowledged this version, first come first.")
    async def acknowledgements(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[GuidelineAcknowledgement] | None:
        limit, cursor = page_size(first), uuid_cursor(after)
        async with info.context.db() as session:
            rows = await service.list_acknowledgements(
                session, info.context.actor, self._row, after=cursor, limit=limit + 1
            )
        version = self._row.version
        return connection(
            rows,
            limit,
            key=lambda r: r.id,
            node=lambda r: GuidelineAcknowledgement(version=version, acknowledged_at=r.acknowledged_at, _row=r),
            after=after,
        )


@strawberry.type(description="A change to definitions, examples, edge cases or the decision tree.")
class GuidelineChange:
    section: str = strawberry.field(description="definition, example, edgeCase or decisionTree.")
    kind: DiffChange
    key: str
    before: str | None
    after: str | None


@strawberry.type(description="What changed between two guideline versions.")
class GuidelineDiff:
    body: str = strawberry.field(description="Unified diff of the Markdown bodies; empty when equal.")
    body_added: int
    body_removed: int
    changes: list[GuidelineChange]

    @classmethod
    def of(cls, value: Diff) -> GuidelineDiff:
        return cls(
            body=value.body,
            body_added=value.body_added,
            body_removed=value.body_removed,
            changes=[
                GuidelineChange(section=c.section, kind=DiffChange(c.kind), key=c.key, before=c.before, after=c.after)
                for c in value.changes
            ],
        )


# Fields of Project, kept here with the types they return.


async def guideline(root: Any, info: Info) -> GuidelineVersion | None:
    async with info.context.db() as session:
        row = await service.get_in_force(session, info.context.actor, root.row)
    return GuidelineVersion.of(row) if row else None


async def guideline_versions(
    root: Any, info: Info, first: int = 20, after: str | None = None
) -> Connection[GuidelineVersion]:
    limit, cursor = page_size(first), int_cursor(after)
    async with info.context.db() as session:
        rows = await service.list_versions(session, info.context.actor, root.row.id, before=cursor, limit=limit + 1)
    return connection(rows, limit, key=lambda r: r.version, node=GuidelineVersion.of, after=after)


async def guideline_version(root: Any, info: Info, version: int) -> GuidelineVersion | None:
    async with info.context.db() as session:
        row = await service.get_version(session, info.context.actor, root.row.id, version)
    return GuidelineVersion.of(row) if row else None


async def guideline_draft(root: Any, info: Info) -> GuidelineVersion | None:
    async with info.context.db() as session:
        row = await service.get_draft(session, info.context.actor, root.row.id)
    return GuidelineVersion.of(row) if row else None


async def guideline_diff(
    root: Any, info: Info, from_: Annotated[int, strawberry.argument(name="from")], to: int
) -> GuidelineDiff | None:
    async with info.context.db() as session:
        try:
            found = await service.version_diff(session, info.context.actor, root.row.id, from_, to)
        except DomainError as exc:
            raise PublicError(str(exc), "NOT_FOUND") from None
    return GuidelineDiff.of(found)


GuidelineDraftStart = strawberry.enum(
    service.DraftStart,
    name="GuidelineDraftStart",
    description="What saveGuidelineDraft rebuilds the draft from before applying the parts given.",
)


@strawberry.input(
    description="Edit the draft one part at a time: what you leave out keeps the base's value. The base is the "
    "draft being written; with no draft, the version in force (a new version starts as a copy of it). `startFrom` "
    "rebuilds the draft from IN_FORCE or EMPTY instead, discarding unpublished edits."
)
class SaveGuidelineDraftInput:
    project_id: strawberry.ID
    body: str | None = strawberry.field(
        default=None, description="Markdown; replaces the base's body. Null or left out keeps it."
    )
    content: JSON | None = strawberry.field(
        default=None,
        description="Applied section by section: each section given replaces the base's, a section given as null "
        "is cleared, sections left out keep the base's; null or left out keeps all of them. Sections: "
        "{definitions: [{field?, class, definition}], examples: [{field?, class, polarity, text | itemId, "
        "note?}], edgeCases: [{title, description, field?, class?, source?: {itemId, commentId? | decisionId?}}], "
        "decisionTree: {root, nodes: [{id, question, "
        "answers: [{answer, next | class, field?}]}]}}. The whole result is checked against the schema in force.",
    )
    start_from: GuidelineDraftStart | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Left out: the draft being written, else the version in force. IN_FORCE: a copy of the version "
        "in force (NOT_IN_FORCE when there is none). EMPTY: an empty body and no content.",
    )


@strawberry.input
class PublishGuidelineInput:
    project_id: strawberry.ID
    changelog: str = strawberry.field(description="What changed and why; required.")


@strawberry.input
class AcknowledgeGuidelineInput:
    project_id: strawberry.ID
    version: int = strawberry.field(description="The version in force, as read.")


@strawberry.type
class GuidelinePayload:
    guideline: GuidelineVersion | None
    errors: list[GuidelineError]


@strawberry.type
class AcknowledgeGuidelinePayload:
    acknowledgement: GuidelineAcknowledgement | None
    errors: list[GuidelineError]


def _payload(result: models.GuidelineVersion | list[GuidelineError]) -> GuidelinePayload:
    if isinstance(result, list):
        return GuidelinePayload(guideline=None, errors=result)
    return GuidelinePayload(guideline=GuidelineVersion.of(result), errors=[])


def _project_id(value: str) -> uuid.UUID:
    return input_id(value, "Project", "projectId")


@strawberry.type
class GuidelinesMutation:
    @strawberry.mutation(
        description="Create the project's guideline draft (starting from the version in force) or edit it; parts "
        "left out of the input keep their value. Project managers."
    )
    async def save_guideline_draft(self, info: Info, input: SaveGuidelineDraftInput) -> GuidelinePayload | None:
        async def act(session: AsyncSession) -> models.GuidelineVersion:
            actor, project_id = info.context.actor, _project_id(input.project_id)
            return await service.save_draft(
                session, actor, project_id, body=input.body, content=input.content, start_from=input.start_from
            )

        return _payload(await run_mutation(info, service.SAVE_GUIDELINE_DRAFT, input, act, GuidelineError))

    @strawberry.mutation(
        description="Put the draft in force with a changelog entry; annotators acknowledge it before claiming again."
    )
    async def publish_guideline(self, info: Info, input: PublishGuidelineInput) -> GuidelinePayload | None:
        async def act(session: AsyncSession) -> models.GuidelineVersion:
            return await service.publish(session, info.context.actor, _project_id(input.project_id), input.changelog)

        return _payload(await run_mutation(info, service.PUBLISH_GUIDELINE, input, act, GuidelineError))

    @strawberry.mutation(description="Record that you read the guideline in force; claims wait for it.")
    async def acknowledge_guideline(
        self, info: Info, input: AcknowledgeGuidelineInput
    ) -> AcknowledgeGuidelinePayload | None:
        async def act(session: AsyncSession) -> models.GuidelineAcknowledgement:
            return await service.acknowledge(session, info.context.actor, _project_id(input.project_id), input.version)

        result = await run_mutation(info, service.ACKNOWLEDGE_GUIDELINE, input, act, GuidelineError)
        if isinstance(result, list):
            return AcknowledgeGuidelinePayload(acknowledgement=None, errors=result)
        return AcknowledgeGuidelinePayload(
            acknowledgement=GuidelineAcknowledgement(
                version=input.version, acknowledged_at=result.acknowledged_at, _row=result
            ),
            errors=[],
        )
