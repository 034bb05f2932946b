"""Automation: models and their versions, submitSuggestions, what a task shows (Assignment.suggestions),
the showSuggestions policy, heuristic rules, and agreement with a model (app/automation/)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.automation import agreement, heuristics, models, reads, service
from app.automation import error_codes as area_codes
from app.projects import models as project_models
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, global_id

if TYPE_CHECKING:
    from app.schema.projects import Project

AutomationErrorCode = strawberry.enum(
    area_codes.AutomationErrorCode, description=area_codes.AutomationErrorCode.__doc__
)
ModelKind = strawberry.enum(models.ModelKind, description=models.ModelKind.__doc__)
ShowSuggestions = strawberry.enum(
    models.ShowSuggestions,
    description="When an annotator's task shows model suggestions: NEVER (the default), ALWAYS, or "
    "AFTER_FIRST_ANSWER: once the annotator has answered the item on its own (a rework of the item, or its "
    "task read again after submitting).",
)


@strawberry.type(
    description="A failure of an automation mutation; `field` names the row (suggestions.N.value.<field>, "
    "rules.N.pattern)."
)
class AutomationError(UserError):
    codes = area_codes.AutomationErrorCode
    code: AutomationErrorCode  # type: ignore[valid-type]


async def _registrant(info: Info, project_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    if not reads.shows_registrant(info.context.actor, project_id, user_id):
        return None
    return await known_user(info, user_id)


@strawberry.type(description="One version of a model, registered on its first use.")
class ModelVersion(Node):
    model_name: str
    model_kind: ModelKind  # type: ignore[valid-type]
    version: str
    registered_at: datetime
    metrics: JSON | None = strawberry.field(description="What the version was measured at (built-in models).")
    parameters: JSON | None = strawberry.field(description="What it runs (a heuristics version: its rules).")
    _row: strawberry.Private[models.ModelVersion]

    @classmethod
    def of(cls, row: models.ModelVersion, model: models.Model) -> ModelVersion:
        return cls(
            id=global_id("ModelVersion", row.id),
            model_name=model.name,
            model_kind=model.kind,
            version=row.version,
            registered_at=row.registered_at,
            metrics=JSON(row.metrics) if row.metrics is not None else None,
            parameters=JSON(row.parameters) if row.parameters is not None else None,
            _row=row,
        )

    @strawberry.field(
        description="Who registered it (its first push, or the rules' change); null for those who may not read "
        "people here (ML services see models, not people), unless it was themselves."
    )
    async def registered_by(self, info: Info) -> User | None:
        return await _registrant(info, self._row.project_id, self._row.registered_by)

    @strawberry.field(description="How many items hold a suggestion of this version.")
    async def suggestion_count(self, info: Info) -> int:
        return await info.context.loaders.suggestion_count.load(self._row.id)


@strawberry.type(description="A project's model: pushed from outside (EXTERNAL), built in, or its heuristic rules.")
class Model(Node):
    name: str
    kind: ModelKind  # type: ignore[valid-type]
    registered_at: datetime
    _row: strawberry.Private[models.Model]

    @classmethod
    def of(cls, row: models.Model) -> Model:
        return cls(
            id=global_id("Model", row.id),
            name=row.name,
            kind=row.kind,
            registered_at=row.registered_at,
            _row=row,
        )

    @strawberry.field(description="Who registered it; null as for ModelVersion.registeredBy.")
    async def registered_by(self, info: Info) -> User | None:
        return await _registrant(info, self._row.project_id, self._row.registered_by)

    @strawberry.field(description="Newest first.")
    async def versions(self, info: Info) -> list[ModelVersion]:
        rows = await info.context.loaders.versions_of_model.load(self._row.id)
        return [ModelVersion.of(row, self._row) for row in rows]


@strawberry.type(description="A model's suggestion as an annotator's task shows it, beside the human options.")
class TaskSuggestion:
    model_name: str
    model_version: str
    model_kind: ModelKind  # type: ignore[valid-type]
    value: JSON = strawberry.field(description="A label value of the fields the model predicts.")
    confidence: float
    per_field: JSON = strawberry.field(description="Field name -> confidence, where the model gave them.")
    explanation: str | None
    created_at: datetime
    updated_at: datetime | None = strawberry.field(description="When a push of the same version replaced it.")

    @classmethod
    def of(cls, shown: reads.Shown) -> TaskSuggestion:
        s = shown.suggestion
        return cls(
            model_name=shown.model.name,
            model_version=shown.version.version,
            model_kind=shown.model.kind,
            value=JSON(s.value),
            confidence=s.confidence,
            per_field=JSON(s.per_field or {}),
            explanation=s.explanation,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


@strawberry.type(description="A model version whose suggestions a label's task had shown its annotator.")
class ShownModelVersion:
    model_name: str
    model_version: str
    model_kind: ModelKind  # type: ignore[valid-type]


async def task_suggestions(info: Info, assignment_id: uuid.UUID) -> list[TaskSuggestion]:
    return [TaskSuggestion.of(s) for s in await info.context.loaders.suggestions_of_task.load(assignment_id)]


async def shown_model_versions(info: Info, ids: list[str]) -> list[ShownModelVersion]:
    found = await info.context.loaders.model_version.load_many([uuid.UUID(i) for i in ids])
    return [
        ShownModelVersion(model_name=model.name, model_version=version.version, model_kind=model.kind)
        for version, model in (f for f in found if f is not None)
    ]


@strawberry.type(description="A heuristic rule: a pattern or keywords on an item's text suggest a class.")
class HeuristicRule:
    name: str
    item_field: str = strawberry.field(description="A key of the item's data, dotted for nested objects.")
    pattern: str | None = strawberry.field(description="RE2, searched anywhere in the text.")
    keywords: list[str] | None = strawberry.field(description="Whole words or phrases, in any letter case.")
    field: str = strawberry.field(description="A single-choice field of the label schema.")
    class_: str = strawberry.field(name="class", description="The class suggested when the rule matches.")
    confidence: float


@strawberry.type(description="The project's heuristic rules, run at import as the model `heuristics`.")
class HeuristicRules:
    version: int = strawberry.field(
        description="The rules' version (the heuristics model's version); 0 when never set."
    )
    rules: list[HeuristicRule]

    @classmethod
    def of(cls, row: project_models.Project, rules: list[heuristics.HeuristicRule]) -> HeuristicRules:
        return cls(
            version=row.heuristics_version,
            rules=[
                HeuristicRule(
                    name=r.name,
                    item_field=r.item_field,
                    pattern=r.pattern,
                    keywords=list(r.keywords) if r.keywords is not None else None,
                    field=r.field,
                    class_=r.class_,
                    confidence=r.confidence,
                )
                for r in rules
            ],
        )


@strawberry.type(description="Labels compared with a model's suggestion on one single-choice field.")
class FieldAgreement:
    field: str
    labels: int
    agreeing: int
    rate: float | None = strawberry.field(description="agreeing / labels; null with no label compared.")


@strawberry.type(description="Labels compared with the model's suggestion on their item.")
class AgreementFigure:
    labels: int = strawberry.field(description="Labels sharing at least one single-choice field with the suggestion.")
    agreeing: int = strawberry.field(description="Those agreeing on every single-choice field both give.")
    rate: float | None = strawberry.field(description="agreeing / labels; null with no label compared.")
    fields: list[FieldAgreement]

    @classmethod
    def of(cls, figure: agreement.Figure) -> AgreementFigure:
        return cls(
            labels=figure.labels,
            agreeing=figure.agreeing,
            rate=figure.rate,
            fields=[
                FieldAgreement(field=f.field, labels=f.labels, agreeing=f.agreeing, rate=f.rate)
                for f in sorted(figure.fields.values(), key=lambda f: f.field)
            ],
        )


@strawberry.type(
    description="Agreement of human labels with a model, apart for tasks that showed the model's suggestion and "
    "tasks that showed no suggestion at all: the gap is the anchoring the suggestions cause."
)
class ModelAgreement:
    model_name: str
    model_version: str | None = strawberry.field(description="The version asked for; null: all of them.")
    shown: AgreementFigure = strawberry.field(
        description="Labels whose task showed this model: compared with the version shown."
    )
    not_shown: AgreementFigure = strawberry.field(
        description="Labels whose task showed no suggestion: compared with the model's latest version on the item."
    )
    other_shown: int = strawberry.field(
        description="Labels whose task showed suggestions, but none of this model (version): not compared."
    )

    @classmethod
    def of(cls, found: agreement.ModelAgreement) -> ModelAgreement:
        return cls(
            model_name=found.model,
            model_version=found.version,
            shown=AgreementFigure.of(found.shown),
            not_shown=AgreementFigure.of(found.not_shown),
            other_shown=found.other_models_shown,
        )


async def project_models_list(info: Info, row: project_models.Project) -> list[Model]:
    async with info.context.db() as session:
        found = await reads.list_models(session, info.context.actor, row)
    return [Model.of(m) for m in found]


def heuristic_rules(info: Info, row: project_models.Project) -> HeuristicRules:
    return HeuristicRules.of(row, heuristics.read_rules(info.context.actor, row))


async def model_agreement(
    info: Info, row: project_models.Project, model_name: str, model_version: str | None
) -> ModelAgreement | None:
    async with info.context.db() as session:
        found = await reads.model_agreement(session, info.context.actor, row, model_name, model_version)
    return ModelAgreement.of(found) if found else None


@strawberry.input(description="One suggestion: name the item by itemId or by externalId.")
class SuggestionInput:
    value: JSON = strawberry.field(description="A label value of the fields the model predicts (none is required).")
    confidence: float = strawberry.field(description="Within 0..1.")
    item_id: strawberry.ID | None = None
    external_id: str | None = None
    per_field: JSON | None = strawberry.field(
        default=None, description="Field name -> confidence within 0..1, for fields the value gives."
    )
    explanation: str | None = strawberry.field(
        default=None, description="Free text, up to 2,000 characters (erased with the item's content)."
    )


@strawberry.input
class SubmitSuggestionsInput:
    project_id: strawberry.ID
    model_name: str = strawberry.field(description="1 to 100 of A-Z a-z 0-9 . _ -; registered on first use.")
    model_version: str = strawberry.field(description="1 to 100 of A-Z a-z 0-9 . _ + -; registered on first use.")
    suggestions: list[SuggestionInput] = strawberry.field(
        description="Up to 10,000. One bad row writes nothing, with an error per row."
    )


@strawberry.type
class SubmitSuggestionsPayload:
    model_version: ModelVersion | None
    created: int = strawberry.field(description="Suggestions new for this version.")
    updated: int = strawberry.field(description="This version's suggestions on those items, replaced.")
    unchanged: int = strawberry.field(description="Pushed again exactly as held: left as they were.")
    auto_accepted: int = strawberry.field(
        description="Items these suggestions decided at once (AUTO_ACCEPTED, under the project's autoAcceptConfidence)."
    )
    spot_checks: int = strawberry.field(
        description="Items they would have decided, left with annotators as spot checks of auto-accept."
    )
    errors: list[AutomationError]


@strawberry.input
class UpdateSuggestionPolicyInput:
    project_id: strawberry.ID
    show_suggestions: ShowSuggestions  # type: ignore[valid-type]


@strawberry.type
class UpdateSuggestionPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[AutomationError]


@strawberry.input(description="Either a pattern or keywords.")
class HeuristicRuleInput:
    name: str = strawberry.field(description="1 to 64 of A-Z a-z 0-9 _ -, from a letter; unique in the project.")
    item_field: str = strawberry.field(description="A key of the item's data, dotted for nested objects.")
    field: str = strawberry.field(description="A single-choice field of the label schema in force.")
    class_: str = strawberry.field(name="class", description="One of that field's classes.")
    confidence: float = strawberry.field(description="Within 0..1.")
    pattern: str | None = strawberry.field(default=None, description="RE2, at most 1,000 characters.")
    keywords: list[str] | None = strawberry.field(
        default=None, description="Up to 100 characters each, 1,000 over all rules."
    )


@strawberry.input
class SetHeuristicRulesInput:
    project_id: strawberry.ID
    rules: list[HeuristicRuleInput] = strawberry.field(
        description="Replaces the project's rules (at most 50; an empty list turns them off)."
    )


@strawberry.type
class SetHeuristicRulesPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[AutomationError]


@strawberry.type
class AutomationMutation:
    @strawberry.mutation(
        description="Push a model's suggestions for items of a project (ML services, project managers, admins; "
        "audited). Each value is checked against the label schema in force; one bad row writes nothing. "
        "Idempotent on (item, model, version): a row pushed again replaces that suggestion, or leaves it as it "
        "is when identical. The model and version are registered on first use (audited). Suggestions never "
        "touch labels."
    )
    async def submit_suggestions(self, info: Info, input: SubmitSuggestionsInput) -> SubmitSuggestionsPayload | None:
        rows = [
            service.NewSuggestion(
                item_id=r.item_id,
                external_id=r.external_id,
                value=r.value,
                confidence=r.confidence,
                per_field=r.per_field,
                explanation=r.explanation,
            )
            for r in input.suggestions
        ]

        async def act(session: AsyncSession) -> service.Pushed:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await service.submit_suggestions(
                session, info.context.actor, project_id, input.model_name, input.model_version, rows
            )

        result = await run_mutation(info, service.SUBMIT_SUGGESTIONS, input, act, AutomationError)
        if isinstance(result, list):
            return SubmitSuggestionsPayload(
                model_version=None, created=0, updated=0, unchanged=0, auto_accepted=0, spot_checks=0, errors=result
            )
        return SubmitSuggestionsPayload(
            model_version=ModelVersion.of(result.version, result.model),
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            auto_accepted=result.auto_accepted,
            spot_checks=result.spot_checks,
            errors=[],
        )

    @strawberry.mutation(
        description="Set when annotators' tasks show model suggestions (project managers and admins; audited)."
    )
    async def update_suggestion_policy(
        self, info: Info, input: UpdateSuggestionPolicyInput
    ) -> UpdateSuggestionPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            project_id = input_id(input.project_id, "Project", "projectId")
            show = models.ShowSuggestions(input.show_suggestions)
            return await service.update_suggestion_policy(session, info.context.actor, project_id, show)

        result = await run_mutation(info, service.UPDATE_SUGGESTION_POLICY, input, act, AutomationError)
        if isinstance(result, list):
            return UpdateSuggestionPolicyPayload(project=None, errors=result)
        return UpdateSuggestionPolicyPayload(project=Project.of(result), errors=[])

    @strawberry.mutation(
        description="Replace the project's heuristic rules (project managers and admins; audited): a new version "
        "of the model `heuristics`, whose suggestions every later import writes. Items imported before keep "
        "theirs."
    )
    async def set_heuristic_rules(self, info: Info, input: SetHeuristicRulesInput) -> SetHeuristicRulesPayload | None:
        from app.schema.projects import Project

        rules = [
            heuristics.HeuristicRule(
                name=r.name,
                item_field=r.item_field,
                field=r.field,
                class_=r.class_,
                confidence=r.confidence,
                pattern=r.pattern,
                keywords=tuple(r.keywords) if r.keywords is not None else None,
            )
            for r in input.rules
        ]

        async def act(session: AsyncSession) -> project_models.Project:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await heuristics.set_heuristic_rules(session, info.context.actor, project_id, rules)

        result = await run_mutation(info, heuristics.SET_HEURISTIC_RULES, input, act, AutomationError)
        if isinstance(result, list):
            return SetHeuristicRulesPayload(project=None, errors=result)
        return SetHeuristicRulesPayload(project=Project.of(result), errors=[])
