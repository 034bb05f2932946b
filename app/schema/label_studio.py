"""Label Studio: what a labeling config maps to (a dry run), and importing a Label Studio JSON export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.interop.label_studio import error_codes as area_codes
from app.interop.label_studio.config import ConfigProblem, map_config
from app.interop.label_studio.service import (
    IMPORT_LABEL_STUDIO,
    AnnotatorRef,
    Imported,
    LabelStudioExport,
    import_label_studio,
)
from app.projects import reads as project_reads
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.mutation import input_id, run_mutation

if TYPE_CHECKING:
    from app.schema.projects import Project

LabelStudioImportErrorCode = strawberry.enum(
    area_codes.LabelStudioImportErrorCode, description=area_codes.LabelStudioImportErrorCode.__doc__
)
LabelStudioConfigCode = strawberry.enum(area_codes.ConfigCode, name="LabelStudioConfigCode")


@strawberry.type(
    description="A failure of importing a Label Studio export; `field` names the row "
    "(tasks.N.annotations.M.result.K...) or labelConfig."
)
class LabelStudioImportError(UserError):
    codes = area_codes.LabelStudioImportErrorCode
    code: LabelStudioImportErrorCode  # type: ignore[valid-type]


@strawberry.type(description="Something of a Label Studio labeling config the mapping drops or cannot read.")
class LabelStudioConfigProblem:
    code: LabelStudioConfigCode  # type: ignore[valid-type]
    tag: str = strawberry.field(description="The tag as the config writes it (PolygonLabels, View, ...).")
    name: str | None = strawberry.field(description="Its name attribute, when it has one.")
    attribute: str | None = strawberry.field(description="The attribute at fault (perRegion, visibleWhen, toName...).")
    message: str

    @classmethod
    def of(cls, problem: ConfigProblem) -> LabelStudioConfigProblem:
        return cls(
            code=problem.code,
            tag=problem.tag,
            name=problem.name,
            attribute=problem.attribute,
            message=problem.message,
        )


@strawberry.type(description="How one Label Studio control becomes one field of the label schema.")
class LabelStudioFieldMapping:
    control: str = strawberry.field(description="The control's name (its results' from_name).")
    tag: str
    field: str = strawberry.field(description="The label-schema field it becomes.")
    kind: str
    source: str | None = strawberry.field(description="Spans and boxes: the task data key of the text or image.")


@strawberry.type(description="A Label Studio labeling config mapped to a label schema, with what it drops.")
class LabelStudioConfigMapping:
    label_schema: JSON | None = strawberry.field(
        description="A label-schema definition (it lints clean): create the project with it, then import. "
        "Null when nothing of the config maps, or it cannot be read."
    )
    fields: list[LabelStudioFieldMapping]
    problems: list[LabelStudioConfigProblem] = strawberry.field(
        description="Everything dropped or unreadable, naming the tag and attribute. Empty: nothing is lost."
    )


@strawberry.type
class LabelStudioQuery:
    @strawberry.field(
        description="Dry run: the label schema a Label Studio labeling config (XML) maps to and what it cannot "
        "map, without importing anything. DTDs and entities are refused (UNSAFE_XML)."
    )
    def label_studio_config_mapping(self, label_config: str) -> LabelStudioConfigMapping:
        mapping = map_config(label_config)
        return LabelStudioConfigMapping(
            label_schema=JSON(mapping.schema) if mapping.schema is not None else None,
            fields=[
                LabelStudioFieldMapping(control=c.name, tag=c.tag, field=c.field, kind=c.kind, source=c.source)
                for c in mapping.controls.values()
            ],
            problems=[LabelStudioConfigProblem.of(p) for p in mapping.problems],
        )


@strawberry.input(description="Who a Label Studio annotator is here: by its Label Studio user id or its email.")
class LabelStudioAnnotatorInput:
    username: str = strawberry.field(description="The Labelgraph user whose labels its annotations become.")
    label_studio_id: int | None = strawberry.field(default=None, description="completed_by in the export.")
    email: str | None = strawberry.field(default=None, description="completed_by's email, where the export has it.")


@strawberry.input
class ImportLabelStudioInput:
    project_id: strawberry.ID
    tasks: JSON = strawberry.field(
        description="A Label Studio JSON export: a list of tasks with data, meta, annotations and predictions "
        "(at most as many tasks as importItems takes items). One bad row rejects the whole call."
    )
    label_config: str = strawberry.field(description="The project's labeling config (XML) the export was made under.")
    annotators: list[LabelStudioAnnotatorInput] = strawberry.field(
        default_factory=list,
        description="Annotators by Label Studio id or email; one not listed is matched by its email to an "
        "active user, and one matched by neither is an UNMAPPED_ANNOTATOR error on its rows.",
    )
    model_name: str | None = strawberry.field(
        default=None,
        description="The model predictions become suggestions of (default label-studio), each under its "
        "model_version (default imported).",
    )


@strawberry.type
class ImportLabelStudioPayload:
    imported_count: int = strawberry.field(description="Tasks imported as items.")
    label_count: int = strawberry.field(description="Annotations imported as labels (importedFrom label-studio).")
    suggestion_count: int = strawberry.field(description="Predictions imported as suggestions.")
    skipped_annotations: int = strawberry.field(description="Annotations cancelled (skipped) in Label Studio.")
    dropped_results: JSON = strawberry.field(
        description="Per control the config mapping drops (see `dropped`), how many regions were left out."
    )
    dropped: list[LabelStudioConfigProblem] = strawberry.field(
        description="What of the config was not mapped (as labelStudioConfigMapping says)."
    )
    decided_count: int = strawberry.field(
        description="Items the project's decision rule decided on the imported labels."
    )
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[LabelStudioImportError]


@strawberry.type
class LabelStudioMutation:
    @strawberry.mutation(
        description="Import a Label Studio JSON export: tasks as items, annotations as labels of their annotators "
        "(settled by the project's decision rule), predictions as suggestions. All rows or none."
    )
    async def import_label_studio(self, info: Info, input: ImportLabelStudioInput) -> ImportLabelStudioPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> Imported:
            project_id = input_id(input.project_id, "Project", "projectId")
            export = LabelStudioExport(
                tasks=input.tasks,
                label_config=input.label_config,
                annotators=[AnnotatorRef(a.username, a.label_studio_id, a.email) for a in input.annotators],
                model_name=input.model_name,
            )
            settings = info.context.runtime.settings
            return await import_label_studio(
                session,
                info.context.actor,
                project_id,
                export,
                max_tasks=settings.max_import_items,
                hash_key=settings.hash_key(),
            )

        result = await run_mutation(info, IMPORT_LABEL_STUDIO, input, act, LabelStudioImportError)
        if isinstance(result, list):
            return ImportLabelStudioPayload(
                imported_count=0,
                label_count=0,
                suggestion_count=0,
                skipped_annotations=0,
                dropped_results=JSON({}),
                dropped=[],
                decided_count=0,
                project=None,
                errors=result,
            )
        async with info.context.db() as session:
            project = await project_reads.get_project(session, info.context.actor, result.project_id)
        return ImportLabelStudioPayload(
            imported_count=result.items,
            label_count=result.labels,
            suggestion_count=result.suggestions,
            skipped_annotations=result.skipped_annotations,
            dropped_results=JSON(result.dropped_results),
            dropped=[LabelStudioConfigProblem.of(p) for p in result.config_problems],
            decided_count=result.outcomes.get("DECIDED", 0),
            project=Project.of(project) if project else None,
            errors=[],
        )
