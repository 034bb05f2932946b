"""importLabelStudio: a Label Studio JSON export brought into a project, all of it or nothing.

Tasks become items through importItems' own path (the same checks, anonymization, heuristics,
audit and event); annotations become labels authored by the people they map to; predictions
become suggestions through submitSuggestions' path under a model version. Every row is checked
before anything is written, and the problems of all rows come back together, each naming its
row (``tasks.N.annotations.M.result.K``); any of them and the transaction is rolled back.

Imported annotations are labels like any other in the lifecycle: each takes a claim and a submit
of its item (app/workflow/lifecycle.py keeps the counters), on a SUBMITTED assignment of its
author, and carries ``imported_from = "label-studio"`` and the annotation's id. An item with more
annotations than the project's overlap asks for that many labels; once they are in, the
project's decision rule settles it as it settles any item (decided, sent to review, one more
label, or escalated). An item with fewer waits in the queue for the rest.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.auth.models import User
from app.automation import registry
from app.automation import service as suggestions
from app.automation.service import NewSuggestion
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Forbidden, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.ingestion import service as ingestion
from app.ingestion.anonymize.policy import Policy
from app.ingestion.models import Item
from app.interop.label_studio import convert
from app.interop.label_studio.config import ConfigMapping, ConfigProblem, map_config
from app.operations import Operation, Permission, bound_input, rebind_input
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import SchemaInForce, active_schema, current_guideline
from app.taxonomy import schema_language
from app.workflow import decisions, estimates, lifecycle
from app.workflow.lifecycle import Move
from app.workflow.models import Assignment, AssignmentStatus, Label

IMPORT_LABEL_STUDIO = Operation("importLabelStudio", Permission("item", "import"), audit="label_studio.import")
# Besides importing items: writing labels in others' names needs this, suggestions submitSuggestions' right.
IMPORT_LABELS = Permission("label", "import")

SOURCE = "label-studio"
DEFAULT_MODEL = "label-studio"
DEFAULT_VERSION = "imported"
MAX_ANNOTATIONS = 10_000  # per call, as many as tasks at most importItems' bound
MAX_PER_TASK = 50


@dataclass(frozen=True)
class AnnotatorRef:
    """Who a Label Studio annotator is here: matched by its Label Studio id or its email."""

    username: str
    label_studio_id: int | None = None
    email: str | None = None


@dataclass(frozen=True)
class LabelStudioExport:
    tasks: Any  # the export's JSON: a list of tasks
    label_config: str
    annotators: Sequence[AnnotatorRef] = ()
    model_name: str | None = None


@dataclass(frozen=True)
class Imported:
    project_id: uuid.UUID
    items: int
    labels: int
    suggestions: int
    skipped_annotations: int  # cancelled (skipped) in Label Studio: nothing to import
    dropped_results: dict[str, int]  # control name -> regions of a dropped control, not imported
    config_problems: tuple[ConfigProblem, ...]
    outcomes: dict[str, int]  # what settling did with items whose labels were all in
    item_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Annotation:
    row: int  # its index in the task's annotations
    author: uuid.UUID
    value: dict[str, Any]
    external_id: str | None
    time_spent_ms: int | None


@dataclass
class _Task:
    row: int  # its index in the export
    item: ingestion.NewItem
    annotations: list[_Annotation]
    predictions: list[tuple[int, str, NewSuggestion]]  # (row, model version, suggestion)


async def import_label_studio(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    export: LabelStudioExport,
    *,
    max_tasks: int,
    hash_key: bytes,
) -> Imported:
    """Import the export into the project: every task, annotation and prediction, or nothing."""
    project = await find_project(session, actor, project_id)
    IMPORT_LABEL_STUDIO.require(actor, project.id)
    mapping = map_config(export.label_config)
    if not mapping.readable or mapping.schema is None:
        raise DomainError([Problem(str(p.code), p.message, "labelConfig") for p in mapping.problems])
    tasks = export.tasks
    if not isinstance(tasks, list) or not tasks:
        raise DomainError.single("EMPTY_BATCH", "tasks is a non-empty list (a Label Studio JSON export).", "tasks")
    if len(tasks) > max_tasks:
        raise DomainError.single("BATCH_TOO_LARGE", f"At most {max_tasks} tasks per call.", "tasks")
    # The raw export must not outgrow what any stored JSON may be before it is walked.
    problems = json_bounds.check(tasks, "tasks", max_depth=json_bounds.MAX_DEPTH + 8)
    if problems:
        raise DomainError(problems)
    given = sum(
        len(t["annotations"]) for t in tasks if isinstance(t, Mapping) and isinstance(t.get("annotations"), list)
    )
    if given > MAX_ANNOTATIONS:
        raise DomainError.single("BATCH_TOO_LARGE", f"At most {MAX_ANNOTATIONS} annotations per call.", "tasks")
    if given and not actor.can(*IMPORT_LABELS, project.id):
        raise Forbidden("You may not import labels here.")

    schema = await active_schema(session, project)
    problems += _schema_mismatch(mapping, schema.schema)
    if problems:
        raise DomainError(problems)
    policy = Policy.of(project.anonymize, project.anonymization, project.duplicate_content)
    authors, problems = await _authors(session, actor, project, tasks, export.annotators)
    converted, skipped, dropped, row_problems = _convert_tasks(
        tasks, mapping, schema, authors, export.model_name or DEFAULT_MODEL, policy.enabled
    )
    problems += row_problems
    if not converted:  # no task could become an item: importItems has nothing to say about them
        raise DomainError(problems)
    if policy.enabled:
        _digest_without_tasks(session, tasks)

    # Items through importItems' own path; its row problems are named as the export's rows.
    try:
        result = await ingestion.import_items(
            session,
            actor,
            project.id,
            [t.item for t in converted],
            max_items=max_tasks,
            hash_key=hash_key,
        )
    except DomainError as refused:
        rows = [t.row for t in converted]
        raise DomainError(problems + [_as_task_row(p, rows) for p in refused.problems]) from None
    if problems:
        raise DomainError(problems)

    outcomes = await _labels(session, project, converted, result.item_ids, schema)
    pushed = await _suggestions(session, actor, project, converted, export.model_name or DEFAULT_MODEL)
    labels = sum(len(t.annotations) for t in converted)
    await audit.record(
        session,
        actor,
        IMPORT_LABEL_STUDIO.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={
            "tasks": result.created,
            "labels": labels,
            "suggestions": pushed,
            "skippedAnnotations": skipped,
            "droppedResults": dict(sorted(dropped.items())),
            "droppedControls": dict(sorted(mapping.dropped.items())),
            "outcomes": dict(sorted(outcomes.items())),
            "first": str(result.item_ids[0]),
            "last": str(result.item_ids[-1]),
        },
    )
    await session.flush()
    return Imported(
        project.id,
        result.created,
        labels,
        pushed,
        skipped,
        dict(sorted(dropped.items())),
        mapping.problems,
        dict(sorted(outcomes.items())),
        result.item_ids,
    )


def _schema_mismatch(mapping: ConfigMapping, schema: schema_language.LabelSchema) -> list[Problem]:
    """The config's fields must be the project's: same name, same kind (the dry run proposes them)."""
    problems = []
    for control in mapping.controls.values():
        spec = schema.field(control.field)
        if spec is None or spec.kind != control.kind:
            problems.append(
                Problem(
                    "SCHEMA_MISMATCH",
                    f"The config's <{control.tag} name='{control.name}'> maps to a {control.kind} field "
                    f"'{control.field}', which the project's label schema does not have.",
                    "labelConfig",
                )
            )
    return problems


def _digest_without_tasks(session: AsyncSession, tasks: list[Any]) -> None:
    """Under anonymization the raw export reaches no audit digest: it covers the task count instead."""
    bound = bound_input(session)
    if bound is not None:
        rebind_input(session, {**bound, "input": {**bound["input"], "tasks": f"<{len(tasks)} tasks>"}})


def _as_task_row(problem: Problem, rows: list[int]) -> Problem:
    """importItems' `items.K.field` as the export's `tasks.N.field` (`rows`: K -> N)."""
    at = problem.field or ""
    if at == "items":
        return Problem(problem.code, problem.message, "tasks")
    if at.startswith("items."):
        parts = at.split(".")
        parts[0] = "tasks"
        if parts[1].isdigit() and int(parts[1]) < len(rows):
            parts[1] = str(rows[int(parts[1])])
        if len(parts) > 2:
            parts[2] = {"externalId": "id", "metadata": "meta"}.get(parts[2], parts[2])
        return Problem(problem.code, problem.message, ".".join(parts))
    return problem


def _completed_by(annotation: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """Label Studio's `completed_by`: a user id, or (in some exports) an object with id and email."""
    raw = annotation.get("completed_by")
    if isinstance(raw, Mapping):
        ls_id, email = raw.get("id"), raw.get("email")
    else:
        ls_id, email = raw, None
    return (
        ls_id if isinstance(ls_id, int) and not isinstance(ls_id, bool) else None,
        email.strip().lower() if isinstance(email, str) and email.strip() else None,
    )


async def _authors(
    session: AsyncSession, actor: Actor, project: Project, tasks: list[Any], refs: Sequence[AnnotatorRef]
) -> tuple[dict[tuple[int | None, str | None], uuid.UUID | Problem], list[Problem]]:
    """Per completed_by seen in the export, the user it maps to, or why it maps to none.

    A person is matched through `annotators` (by Label Studio id, then email), else by an active
    user's email. The user must be active and allowed to label in the project."""
    problems: list[Problem] = []
    seen: set[tuple[int | None, str | None]] = set()
    for task in tasks:
        rows = task.get("annotations") if isinstance(task, Mapping) else None
        for row in rows if isinstance(rows, list) else ():
            if isinstance(row, Mapping):
                seen.add(_completed_by(row))
    usernames = {ref.username for ref in refs}
    emails = {email for _, email in seen if email} | {r.email.strip().lower() for r in refs if r.email}
    users: list[User] = []
    if usernames or emails:
        found = await session.scalars(
            select(User).where(
                col(User.username).in_(usernames) | func.lower(col(User.email)).in_(emails),
                col(User.deactivated_at).is_(None),
                col(User.erased_at).is_(None),
            )
        )
        users = list(found)
    by_username = {u.username: u for u in users}
    by_email = {u.email.lower(): u for u in users if u.email}
    by_ls_id: dict[int, str] = {}
    by_ref_email: dict[str, str] = {}
    for i, ref in enumerate(refs):
        if ref.username not in by_username:
            problems.append(Problem("UNKNOWN_USER", "No active user has this username.", f"annotators.{i}.username"))
        if ref.label_studio_id is None and not ref.email:
            problems.append(
                Problem("REQUIRED", "Name the Label Studio annotator by labelStudioId or email.", f"annotators.{i}")
            )
        if ref.label_studio_id is not None:
            by_ls_id[ref.label_studio_id] = ref.username
        if ref.email:
            by_ref_email[ref.email.strip().lower()] = ref.username
    resolved: dict[tuple[int | None, str | None], uuid.UUID | Problem] = {}
    for key in seen:
        ls_id, email = key
        name = by_ls_id.get(ls_id) if ls_id is not None else None
        if name is None and email is not None:
            name = by_ref_email.get(email)
        user = by_username.get(name) if name is not None else (by_email.get(email) if email else None)
        if name is not None and user is None:
            resolved[key] = Problem("UNKNOWN_USER", f"completed_by maps to '{name}', no active user.", "completed_by")
        elif user is None:
            resolved[key] = Problem(
                "UNMAPPED_ANNOTATOR",
                "completed_by matches no Labelgraph user: map it in annotators (by labelStudioId or email).",
                "completed_by",
            )
        elif not actor.authorizer.allowed(user.id, "label", "create", project.id):
            resolved[key] = Problem(
                "ANNOTATOR_CANNOT_LABEL", f"'{user.username}' may not label in this project.", "completed_by"
            )
        else:
            resolved[key] = user.id
    return resolved, problems


def _convert_tasks(
    tasks: list[Any],
    mapping: ConfigMapping,
    in_force: SchemaInForce,
    authors: Mapping[tuple[int | None, str | None], uuid.UUID | Problem],
    model_name: str,
    anonymized: bool,
) -> tuple[list[_Task], int, Counter[str], list[Problem]]:
    """Every task as an item row, its annotations as label values (checked as submitLabel checks
    them) and its predictions as suggestions (checked as submitSuggestions does); every problem."""
    schema = in_force.schema
    partial = suggestions.suggestion_schema(in_force)
    spans = {c.field for c in mapping.controls.values() if c.kind == "spans"}
    converted: list[_Task] = []
    problems: list[Problem] = []
    skipped = 0
    dropped: Counter[str] = Counter()
    for n, task in enumerate(tasks):
        at = f"tasks.{n}"
        if not isinstance(task, Mapping) or "id" not in task or not isinstance(task.get("data"), Mapping):
            problems.append(Problem("INVALID_TASK", "A task is an object with an id and a data object.", at))
            continue
        data = task["data"]
        meta = task.get("meta")
        meta = dict(meta) if isinstance(meta, Mapping) else ({} if meta is None else meta)
        size, size_problems = convert.image_size(task, at)
        problems += size_problems
        if size is not None and isinstance(meta, dict):
            for key, got in zip(("width", "height"), size, strict=True):
                if key in meta and meta[key] != got:
                    problems.append(
                        Problem("IMAGE_SIZE_CONFLICT", f"meta.{key} differs from the regions' original size.", at)
                    )
                meta[key] = got
        item = {"data": data, "metadata": meta}
        external_id = task["id"]
        new_item = ingestion.NewItem(
            str(external_id) if isinstance(external_id, int | str) and not isinstance(external_id, bool) else None,
            data,
            meta,
        )
        annotations: list[_Annotation] = []
        rows = task.get("annotations") or []
        if not isinstance(rows, list) or len(rows) > MAX_PER_TASK:
            problems.append(Problem("INVALID_TASK", f"annotations is a list of at most {MAX_PER_TASK}.", at))
            rows = []
        by_author: dict[uuid.UUID, int] = {}
        for m, row in enumerate(rows):
            here = f"{at}.annotations.{m}"
            if not isinstance(row, Mapping):
                problems.append(Problem("INVALID_ANNOTATION", "An annotation is an object.", here))
                continue
            if row.get("was_cancelled") is True:
                skipped += 1
                continue
            author = authors.get(_completed_by(row))
            if isinstance(author, Problem):
                problems.append(Problem(author.code, author.message, f"{here}.completed_by"))
            elif author is not None and author in by_author:
                problems.append(
                    Problem(
                        "DUPLICATE_ANNOTATOR",
                        f"Annotation {by_author[author]} of this task is by the same person: one label each.",
                        f"{here}.completed_by",
                    )
                )
            elif author is not None:
                by_author[author] = m
            value = convert.value_of(row.get("result"), mapping, data, size, here)
            dropped.update(value.dropped)
            problems += value.problems
            if value.problems:
                continue
            found = schema_language.validate(schema, value.value, f"{here}.result", item=item)
            if anonymized and any(value.value.get(f) for f in spans):
                found.append(
                    Problem(
                        "ANONYMIZED_SPANS",
                        "This project anonymizes its items' text: spans made on the raw text would point elsewhere.",
                        f"{here}.result",
                    )
                )
            problems += found
            if not found and isinstance(author, uuid.UUID):
                ann_id = row.get("id")
                lead = row.get("lead_time")
                spent = (
                    int(lead * 1000)
                    if isinstance(lead, int | float) and not isinstance(lead, bool) and 0 <= lead <= 86_400
                    else None
                )
                annotations.append(
                    _Annotation(m, author, value.value, str(ann_id) if ann_id is not None else None, spent)
                )
        predictions: list[tuple[int, str, NewSuggestion]] = []
        preds = task.get("predictions") or []
        if not isinstance(preds, list) or len(preds) > MAX_PER_TASK:
            problems.append(Problem("INVALID_TASK", f"predictions is a list of at most {MAX_PER_TASK}.", at))
            preds = []
        versions: dict[str, int] = {}
        for m, row in enumerate(preds):
            here = f"{at}.predictions.{m}"
            if not isinstance(row, Mapping):
                problems.append(Problem("INVALID_ANNOTATION", "A prediction is an object.", here))
                continue
            version = row.get("model_version") or DEFAULT_VERSION
            version = str(version)
            if version in versions:
                problems.append(
                    Problem(
                        "DUPLICATE_IN_BATCH",
                        f"Prediction {versions[version]} of this task is from the same model version.",
                        f"{here}.model_version",
                    )
                )
                continue
            versions[version] = m
            value = convert.value_of(row.get("result"), mapping, data, size, here)
            dropped.update(value.dropped)
            problems += value.problems
            if value.problems:
                continue
            score = row.get("score")
            confidence = (
                float(score)
                if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 1
                else 0.0
            )
            suggestion = NewSuggestion(None, new_item.external_id, value.value, confidence)
            found = suggestions.check_value(partial, value.value, f"{here}.result", item)
            if anonymized and any(value.value.get(f) for f in spans):
                found.append(
                    Problem(
                        "ANONYMIZED_SPANS",
                        "This project anonymizes its items' text: spans made on the raw text would point elsewhere.",
                        f"{here}.result",
                    )
                )
            problems += found
            problems += [
                Problem(p.code, p.message, f"{here}.model_version" if p.field == "modelVersion" else "modelName")
                for p in registry.check_reference(model_name, version)
            ]
            if not found:
                predictions.append((m, version, suggestion))
        converted.append(_Task(n, new_item, annotations, predictions))
    return converted, skipped, dropped, problems


async def _labels(
    session: AsyncSession,
    project: Project,
    tasks: list[_Task],
    item_ids: list[uuid.UUID],
    schema: SchemaInForce,
) -> Counter[str]:
    """Each annotation as a claim and a submit of its author on the new item; settle the full ones."""
    outcomes: Counter[str] = Counter()
    # An item with more annotations than the overlap asks for all of them.
    wanted: dict[int, list[uuid.UUID]] = {}
    for task, item_id in zip(tasks, item_ids, strict=True):
        if len(task.annotations) > project.overlap:
            wanted.setdefault(len(task.annotations), []).append(item_id)
    for n, ids in wanted.items():
        for start in range(0, len(ids), lifecycle.CHUNK):
            await session.execute(
                update(Item)
                .where(col(Item.id).in_(ids[start : start + lifecycle.CHUNK]))
                .values(labels_required=n)
                .execution_options(synchronize_session=False)
            )
    guideline = await current_guideline(session, project)
    now = utcnow()
    for task, item_id in zip(tasks, item_ids, strict=True):
        if not task.annotations:
            continue
        state = None
        for annotation in task.annotations:
            assignment = Assignment(
                project_id=project.id,
                item_id=item_id,
                annotator_id=annotation.author,
                status=AssignmentStatus.SUBMITTED,
                claimed_at=now,
                lease_expires_at=now,
                submitted_at=now,
            )
            label = Label(
                project_id=project.id,
                item_id=item_id,
                assignment_id=assignment.id,
                author_id=annotation.author,
                value=annotation.value,
                time_spent_ms=annotation.time_spent_ms,
                schema_version_id=schema.id,
                guideline_version_id=guideline.id if guideline else None,
                created_at=now,
                imported_from=SOURCE,
                external_id=annotation.external_id,
            )
            session.add(assignment)
            session.add(label)
            await lifecycle.move(session, item_id, Move.CLAIM)
            state = await lifecycle.move(session, item_id, Move.LABEL)
            estimates.count_label(session, project)
            events.emit(
                session,
                project.id,
                EventKind.LABEL_SUBMITTED,
                {
                    "labelId": label.id,
                    "itemId": item_id,
                    "assignmentId": assignment.id,
                    "schemaVersion": schema.version,
                    "guidelineVersion": guideline.version if guideline else None,
                },
            )
        if state is not None and state.labels_required == 0:
            await session.flush()
            outcomes[(await decisions.settle(session, project, item_id)).outcome.value] += 1
    return outcomes


async def _suggestions(
    session: AsyncSession, actor: Actor, project: Project, tasks: list[_Task], model_name: str
) -> int:
    """Predictions through submitSuggestions' path, one push per model version (all or nothing)."""
    by_version: dict[str, list[tuple[int, int, NewSuggestion]]] = {}
    for n, task in enumerate(tasks):
        for m, version, suggestion in task.predictions:
            by_version.setdefault(version, []).append((n, m, suggestion))
    pushed = 0
    for version, rows in sorted(by_version.items()):
        try:
            result = await suggestions.submit_suggestions(
                session, actor, project.id, model_name, version, [row for _, _, row in rows]
            )
        except DomainError as refused:
            raise DomainError([_as_prediction_row(p, rows) for p in refused.problems]) from None
        pushed += result.created + result.updated + result.unchanged
    return pushed


def _as_prediction_row(problem: Problem, rows: list[tuple[int, int, NewSuggestion]]) -> Problem:
    """submitSuggestions' `suggestions.K.field` as the export's `tasks.N.predictions.M.field`."""
    parts = (problem.field or "").split(".")
    if parts[0] == "suggestions" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
        n, m, _ = rows[int(parts[1])]
        rest = ".".join(parts[2:])
        return Problem(problem.code, problem.message, f"tasks.{n}.predictions.{m}" + (f".{rest}" if rest else ""))
    return problem
