"""Reading suggestions: what an annotator's task shows (under the project's showSuggestions
policy), what a submitted label's task had shown, and agreement with a model.

- **What a task shows** (`task_suggestions`): nothing under NEVER; under ALWAYS, for each model,
  its suggestion on the task's item from the most recently registered version that has one made
  under the schema in force (an older schema's classes are not the options the annotator has);
  under AFTER_FIRST_ANSWER the same, but only once the task's annotator has answered the item on
  its own: a label of its own on that item exists (a rework after a rejection, or the task read
  again after submitting). Everyone who reads the task sees what its annotator would; only the
  annotator's own reads are recorded as shown (service.record_shown).
- **Shown or not** (`shown_on_task`): the model versions a task had returned to its annotator
  before the label was submitted. Whether a suggestion is shown is what the task actually
  returned, not what the policy would have allowed: a client that never asks for
  `Assignment.suggestions` showed none.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.audits.models import AuditStatus, QaAudit
from app.auth.actor import Actor
from app.automation import agreement
from app.automation.models import (
    LabelIssue,
    LabelIssueRun,
    Model,
    ModelVersion,
    ShowSuggestions,
    Suggestion,
    SuggestionExposure,
)
from app.ingestion.models import Item
from app.projects.models import Project
from app.projects.service import active_schema
from app.scopes import in_projects
from app.workflow.models import Assignment, Label
from app.workflow.reads import readable_assignments

CHUNK = 500


def model_visible(actor: Actor, column: ColumnElement[uuid.UUID] | Any) -> ColumnElement[bool]:
    """The registry (names, versions, who and when, metrics) is read with (model, read)."""
    return in_projects(actor, column, "model", "read")


async def get_model(session: AsyncSession, actor: Actor, model_id: uuid.UUID) -> Model | None:
    return await session.scalar(
        select(Model).where(col(Model.id) == model_id, model_visible(actor, col(Model.project_id)))
    )


async def get_model_version(
    session: AsyncSession, actor: Actor, version_id: uuid.UUID
) -> tuple[ModelVersion, Model] | None:
    row = (
        await session.execute(
            select(ModelVersion, Model)
            .join(Model, col(Model.id) == col(ModelVersion.model_id))
            .where(col(ModelVersion.id) == version_id, model_visible(actor, col(ModelVersion.project_id)))
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def versions_of_models(session: AsyncSession, model_ids: Sequence[uuid.UUID]) -> list[ModelVersion]:
    """The versions of models the caller holds, newest first."""
    return list(
        (
            await session.scalars(
                select(ModelVersion)
                .where(col(ModelVersion.model_id).in_(list(model_ids)))
                .order_by(col(ModelVersion.id).desc())
            )
        ).all()
    )


async def suggestion_counts(session: AsyncSession, version_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select_columns(col(Suggestion.model_version_id), func.count())
        .where(col(Suggestion.model_version_id).in_(list(version_ids)))
        .group_by(col(Suggestion.model_version_id))
    )
    return {version: int(n) for version, n in rows.all()}


async def list_models(session: AsyncSession, actor: Actor, project: Project) -> list[Model]:
    """The project's models by name; the list needs (model, read) there (FORBIDDEN on the field otherwise)."""
    actor.require("model", "read", project.id)
    return list(
        (
            await session.scalars(select(Model).where(col(Model.project_id) == project.id).order_by(col(Model.name)))
        ).all()
    )


def shows_registrant(actor: Actor, project_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Who registered a model is a person (or a service account): shown to those who read people
    here (labels' authors, users) and to whoever registered it; ML services see models, not people."""
    return user_id == actor.id or actor.can("label", "read", project_id) or actor.can("user", "read", project_id)


@dataclass(frozen=True)
class Shown:
    suggestion: Suggestion
    version: ModelVersion
    model: Model


def shows_suggestions(policy: ShowSuggestions, answered_before: bool) -> bool:
    """Whether a task shows suggestions: the policy, and whether its annotator has its own answer."""
    return policy is ShowSuggestions.ALWAYS or (policy is ShowSuggestions.AFTER_FIRST_ANSWER and answered_before)


async def task_suggestions(
    session: AsyncSession, actor: Actor, assignment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, list[Shown]]]:
    """For each readable task: its annotator and what it shows, latest per model, by model name.
    Tasks the actor may not read are left out."""
    tasks = (
        await session.scalars(readable_assignments(actor).where(col(Assignment.id).in_(list(assignment_ids))))
    ).all()
    result: dict[uuid.UUID, tuple[uuid.UUID, list[Shown]]] = {t.id: (t.annotator_id, []) for t in tasks}
    projects = {
        p.id: p
        for p in await session.scalars(select(Project).where(col(Project.id).in_({t.project_id for t in tasks})))
    }
    candidates = [t for t in tasks if projects[t.project_id].show_suggestions is not ShowSuggestions.NEVER]
    if not candidates:
        return result
    later = [t for t in candidates if projects[t.project_id].show_suggestions is ShowSuggestions.AFTER_FIRST_ANSWER]
    answered: set[tuple[uuid.UUID, uuid.UUID]] = set()
    if later:
        rows = await session.execute(
            select_columns(col(Label.item_id), col(Label.author_id)).where(
                col(Label.item_id).in_({t.item_id for t in later}),
                col(Label.author_id).in_({t.annotator_id for t in later}),
            )
        )
        answered = {(item, author) for item, author in rows.all()}
    showing = [
        t
        for t in candidates
        if shows_suggestions(projects[t.project_id].show_suggestions, (t.item_id, t.annotator_id) in answered)
    ]
    if not showing:
        return result
    in_force = {pid: (await active_schema(session, projects[pid])).id for pid in {t.project_id for t in showing}}
    latest = await _latest_per_model(session, {t.item_id for t in showing}, set(in_force.values()))
    for t in showing:
        result[t.id][1].extend(latest.get((t.item_id, in_force[t.project_id]), []))
    return result


async def _latest_per_model(
    session: AsyncSession, item_ids: set[uuid.UUID], schema_ids: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], list[Shown]]:
    """(item, schema version) -> the suggestion of each model's most recent version there, by model name."""
    found: dict[tuple[uuid.UUID, uuid.UUID], dict[uuid.UUID, Shown]] = defaultdict(dict)
    ordered = sorted(item_ids, key=str)
    for start in range(0, len(ordered), CHUNK):
        rows = await session.execute(
            select(Suggestion, ModelVersion, Model)
            .join(ModelVersion, col(ModelVersion.id) == col(Suggestion.model_version_id))
            .join(Model, col(Model.id) == col(ModelVersion.model_id))
            .where(
                col(Suggestion.item_id).in_(ordered[start : start + CHUNK]),
                col(Suggestion.schema_version_id).in_(schema_ids),
            )
        )
        for suggestion, version, model in rows.all():
            per_model = found[(suggestion.item_id, suggestion.schema_version_id)]
            held = per_model.get(model.id)
            # Versions are registered in id order (UUIDv7): the larger id is the later version.
            if held is None or held.version.id < version.id:
                per_model[model.id] = Shown(suggestion, version, model)
    return {key: sorted(per_model.values(), key=lambda s: s.model.name) for key, per_model in found.items()}


async def unrecorded(
    session: AsyncSession, actor: Actor, shown: dict[uuid.UUID, tuple[uuid.UUID, list[Shown]]]
) -> list[dict[str, uuid.UUID]]:
    """What the actor's own tasks just returned to it and is not yet recorded as shown (what others
    read of a task is not what its annotator saw)."""
    wanted = {
        (task, s.suggestion.id): s.version.id
        for task, (annotator, suggestions) in shown.items()
        if annotator == actor.id
        for s in suggestions
    }
    if not wanted:
        return []
    held = await session.execute(
        select_columns(col(SuggestionExposure.assignment_id), col(SuggestionExposure.suggestion_id)).where(
            col(SuggestionExposure.assignment_id).in_({task for task, _ in wanted})
        )
    )
    for key in held.all():
        wanted.pop(key, None)
    return [
        {"assignment_id": task, "suggestion_id": suggestion, "model_version_id": version}
        for (task, suggestion), version in wanted.items()
    ]


async def shown_on_task(session: AsyncSession, assignment_id: uuid.UUID) -> list[str]:
    """The model versions (ids as text, sorted) whose suggestions the task returned to its annotator."""
    versions = await session.scalars(
        select(SuggestionExposure.model_version_id)
        .where(col(SuggestionExposure.assignment_id) == assignment_id)
        .distinct()
    )
    return sorted(str(v) for v in versions)


async def versions_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[tuple[ModelVersion, Model]]:
    """Model versions a readable label names, with their models (their names and versions only are shown)."""
    rows = await session.execute(
        select(ModelVersion, Model)
        .join(Model, col(Model.id) == col(ModelVersion.model_id))
        .where(col(ModelVersion.id).in_(list(ids)))
    )
    return list(rows.all())


async def model_agreement(
    session: AsyncSession, actor: Actor, project: Project, model_name: str, version: str | None
) -> agreement.ModelAgreement | None:
    """Agreement of the project's labels with a model's suggestions, apart for the labels whose task
    showed that model and those whose task showed no suggestion at all (anchoring bias); None for a
    model (or version) the project does not have. Needs (quality, read): FORBIDDEN otherwise.

    A shown label is compared with the suggestion of the version its task showed (the latest, if
    several); a label shown nothing with the suggestion of the model's latest version on its item
    (there was nothing to anchor on, whenever the model made it). Labels whose task showed other
    models only are counted apart (`other_models_shown`). Gold questions are left out, as in
    projectQuality. Values are compared as stored, field by field (the single-choice fields of the
    schema in force that both give)."""
    actor.require("quality", "read", project.id)
    model = await session.scalar(
        select(Model).where(col(Model.project_id) == project.id, col(Model.name) == model_name)
    )
    if model is None:
        return None
    stmt = select(ModelVersion).where(col(ModelVersion.model_id) == model.id)
    if version is not None:
        stmt = stmt.where(col(ModelVersion.version) == version)
    versions = (await session.scalars(stmt)).all()
    if not versions:
        return None
    version_ids = [v.id for v in versions]
    suggested: dict[uuid.UUID, dict[uuid.UUID, dict[str, object]]] = defaultdict(dict)
    for item_id, version_id, value in await session.execute(
        select_columns(col(Suggestion.item_id), col(Suggestion.model_version_id), col(Suggestion.value)).where(
            col(Suggestion.model_version_id).in_(version_ids)
        )
    ):
        suggested[item_id][version_id] = value
    of_model = select_columns(col(Suggestion.item_id)).where(col(Suggestion.model_version_id).in_(version_ids))
    labels = (
        await session.execute(
            select_columns(
                col(Label.item_id), col(Label.value), col(Label.suggestions_shown), col(Label.shown_model_versions)
            )
            .join(Item, col(Item.id) == col(Label.item_id))
            .where(
                col(Label.project_id) == project.id,
                col(Item.gold).is_(False),
                col(Label.item_id).in_(of_model),
            )
        )
    ).all()
    schema = (await active_schema(session, project)).schema
    fields = [spec.name for spec in schema.fields if spec.kind == "single_choice"]
    rows = [
        agreement.LabelRow(item_id, value, shown, [uuid.UUID(v) for v in versions_shown or []])
        for item_id, value, shown, versions_shown in labels
    ]
    return agreement.compare(model.name, version, fields, rows, suggested, set(version_ids))


# -- label-issue runs (app/automation/detection.py) -----------------------------------------------


def issue_runs_visible(actor: Actor, column: ColumnElement[uuid.UUID] | Any) -> ColumnElement[bool]:
    """Runs and their ranked issues are read with (label_issue, read): managers, reviewers, QA, admins."""
    return in_projects(actor, column, "label_issue", "read")


async def get_issue_run(session: AsyncSession, actor: Actor, run_id: uuid.UUID) -> LabelIssueRun | None:
    return await session.scalar(
        select(LabelIssueRun).where(
            col(LabelIssueRun.id) == run_id, issue_runs_visible(actor, col(LabelIssueRun.project_id))
        )
    )


async def issue_run_of(
    session: AsyncSession, actor: Actor, project: Project, run_id: uuid.UUID | None
) -> LabelIssueRun | None:
    """The project's run named (None when it names no run of this project), else its latest run.
    Needs (label_issue, read) here: FORBIDDEN otherwise."""
    actor.require("label_issue", "read", project.id)
    stmt = select(LabelIssueRun).where(col(LabelIssueRun.project_id) == project.id)
    if run_id is not None:
        return await session.scalar(stmt.where(col(LabelIssueRun.id) == run_id))
    return await session.scalar(stmt.order_by(col(LabelIssueRun.id).desc()).limit(1))


async def issue_page(
    session: AsyncSession, run_id: uuid.UUID, after_rank: int | None, limit: int
) -> list[tuple[LabelIssue, AuditStatus | None]]:
    """A page of a (readable) run's issues by rank, each with the status of the audit it fed."""
    stmt = (
        select(LabelIssue, QaAudit.status)
        .join(QaAudit, col(QaAudit.id) == col(LabelIssue.audit_id), isouter=True)
        .where(col(LabelIssue.run_id) == run_id)
    )
    if after_rank is not None:
        stmt = stmt.where(col(LabelIssue.rank) > after_rank)
    rows = await session.execute(stmt.order_by(col(LabelIssue.rank)).limit(limit))
    return [(issue, None if status is None else AuditStatus(status)) for issue, status in rows.all()]
