"""Suggestion use cases: submitSuggestions (a model's pre-labels, all rows or none), the project's
showSuggestions policy, and recording which suggestions an annotator's task returned.

A suggestion's value is checked by the label-schema language exactly as a label's is (the same
`schema_language.validate`, the same codes and field paths, spans and boxes against their item),
with one difference: a model may leave fields out (a per-field classifier, a heuristic rule
predict one field), so no field is `required` of a suggestion. Cross-field rules still hold
between the fields it gives.

Idempotent on (item, model, version): a row pushed again with the same value, confidence,
per-field confidences and explanation (under the same schema version) is left as it is
(`unchanged`); with anything different it is replaced in place (`updated`, `updated_at` set).
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import json_bounds
from app.auth.actor import Actor
from app.automation import auto_accept, registry
from app.automation.models import Model, ModelKind, ModelVersion, ShowSuggestions, Suggestion, SuggestionExposure
from app.clock import utcnow
from app.compliance import audit
from app.db import bulk_read, is_postgres
from app.errors import DomainError, Problem
from app.ids import decode_global_id, new_id
from app.ingestion.models import Item
from app.ingestion.reads import item_visible
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import SchemaInForce, active_schema
from app.taxonomy import schema_language

SUBMIT_SUGGESTIONS = Operation("submitSuggestions", Permission("suggestion", "submit"), audit="suggestion.submit")
UPDATE_SUGGESTION_POLICY = Operation(
    "updateSuggestionPolicy", Permission("suggestion", "configure"), audit="suggestion.policy"
)

MAX_SUGGESTIONS = 10_000
MAX_EXPLANATION = 2_000
# Well under SQLite's bound-parameter limit, and a sane IN () list for PostgreSQL.
LOOKUP_CHUNK = 900
# The model name of the project's heuristic rules (app/automation/heuristics.py): never pushed.
RESERVED_NAMES = frozenset({"heuristics"})
# The built-in models' names (`builtin-<field>`, app/automation/training.py): never pushed either.
RESERVED_PREFIX = "builtin-"


@dataclass(frozen=True)
class NewSuggestion:
    item_id: str | None  # an Item's global id, or
    external_id: str | None  # the item's external id in the project
    value: Any
    confidence: float
    per_field: Any = None  # {field: confidence}
    explanation: str | None = None


@dataclass(frozen=True)
class Pushed:
    model: Model
    version: ModelVersion
    created: int
    updated: int
    unchanged: int
    auto_accepted: int = 0  # items its suggestions decided at once (AUTO_ACCEPTED)
    spot_checks: int = 0  # items they would have decided, left with humans as spot checks


_partial: dict[uuid.UUID, schema_language.LabelSchema] = {}


def suggestion_schema(schema: SchemaInForce) -> schema_language.LabelSchema:
    """The schema in force with no field required: what a suggestion's value is checked against."""
    found = _partial.get(schema.id)
    if found is None:
        fields = tuple(dataclasses.replace(spec, required=False) for spec in schema.schema.fields)
        found = schema_language.LabelSchema(fields, schema.schema.rules)
        if len(_partial) > 1_000:
            _partial.clear()
        _partial[schema.id] = found
    return found


def check_value(
    schema: schema_language.LabelSchema, value: Any, at: str, item: Mapping[str, Any] | None
) -> list[Problem]:
    """What is wrong with a suggested value (at `at`): JSON bounds, then the label-schema language."""
    problems = json_bounds.check(value, at) or schema_language.validate(schema, value, at, item=item)
    if not problems and not any(_answered(v) for v in value.values()):
        problems.append(Problem("REQUIRED", "A suggestion proposes a value for at least one field.", at))
    return problems


def _answered(present: Any) -> bool:
    return not (present is None or present == [] or (isinstance(present, str) and not present.strip()))


def _confidence(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1


def _check_row(row: NewSuggestion, at: str) -> list[Problem]:
    """The row's confidences and explanation (its value needs the item: checked after the lookup)."""
    problems: list[Problem] = []
    if not _confidence(row.confidence):
        problems.append(Problem("OUT_OF_RANGE", "confidence is a number within 0..1.", f"{at}.confidence"))
    if row.per_field is not None:
        if not isinstance(row.per_field, dict):
            problems.append(Problem("WRONG_KIND", "perField is an object of field name: confidence.", f"{at}.perField"))
        else:
            given = row.value if isinstance(row.value, dict) else {}
            for name, confidence in row.per_field.items():
                if not _answered(given.get(name)):
                    problems.append(
                        Problem(
                            "UNKNOWN_FIELD", "perField names a field the value does not give.", f"{at}.perField.{name}"
                        )
                    )
                elif not _confidence(confidence):
                    problems.append(
                        Problem(
                            "OUT_OF_RANGE", "A field's confidence is a number within 0..1.", f"{at}.perField.{name}"
                        )
                    )
    if row.explanation is not None:
        if len(row.explanation) > MAX_EXPLANATION:
            problems.append(
                Problem("TOO_LONG", f"explanation allows {MAX_EXPLANATION:,} characters.", f"{at}.explanation")
            )
        else:
            problems += json_bounds.check_text(row.explanation, f"{at}.explanation")
    return problems


@dataclass
class _Found:
    id: uuid.UUID
    erased: bool
    item: dict[str, Any] | None  # data and metadata, when the schema checks values against the item


async def _items(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    column: Any,
    keys: Sequence[Any],
    with_content: bool,
) -> dict[Any, _Found]:
    """The project's items the actor may read, by id or external id (`column`)."""
    found: dict[Any, _Found] = {}
    unique = list(dict.fromkeys(keys))
    columns = [col(Item.id), col(Item.erased_at), column]
    if with_content:
        columns += [col(Item.data), col(Item.meta)]
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        rows = await session.execute(
            select_columns(*columns).where(col(Item.project_id) == project_id, column.in_(chunk), item_visible(actor))
        )
        for row in rows.all():
            content = {"data": row[3], "metadata": row[4]} if with_content else None
            found[row[2]] = _Found(row[0], row[1] is not None, content)
    return found


async def passes_row_checks(
    session: AsyncSession, actor: Actor, project: Project, rows: Sequence[tuple[uuid.UUID, NewSuggestion]]
) -> list[bool]:
    """Per (item id, row): whether submit_suggestions' own per-row checks (confidences, the value
    against the schema in force and its cross-field rules, the item's content where a rule reads
    it) let the row through. For the built-in model's training, which leaves a refused row out
    rather than have one row refuse the whole write."""
    schema = await active_schema(session, project)
    checker = suggestion_schema(schema)
    with_content = schema.schema.reads_item
    found = (
        await _items(session, actor, project.id, col(Item.id), [item_id for item_id, _ in rows], True)
        if with_content and rows
        else {}
    )
    verdicts = []
    for i, (item_id, row) in enumerate(rows):
        at = f"suggestions.{i}"
        item = found.get(item_id)
        problems = _check_row(row, at)
        if with_content and item is None:
            problems.append(Problem("NOT_FOUND", "No such item in this project.", f"{at}.itemId"))
        else:
            problems += check_value(checker, row.value, f"{at}.value", item.item if item else None)
        verdicts.append(not problems)
    return verdicts


async def submit_suggestions(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    model_name: str,
    model_version: str,
    rows: Sequence[NewSuggestion],
    *,
    kind: ModelKind = ModelKind.EXTERNAL,
) -> Pushed:
    """Write every row or none: the model and version are registered on first use (audited), new
    suggestions inserted, changed ones replaced, identical ones left alone.

    `kind` is EXTERNAL for pushes; the built-in model's training (app/automation/training.py)
    writes its suggestions through here too, as BUILT_IN, under its own names (`builtin-<field>`)."""
    project = await find_project(session, actor, project_id)
    SUBMIT_SUGGESTIONS.require(actor, project.id)
    if not rows:
        raise DomainError.single("EMPTY_BATCH", "Send at least one suggestion.", "suggestions")
    if len(rows) > MAX_SUGGESTIONS:
        raise DomainError.single("BATCH_TOO_LARGE", f"At most {MAX_SUGGESTIONS:,} suggestions per call.", "suggestions")
    problems = registry.check_reference(model_name, model_version)
    model = None if problems else await registry.find_model(session, project.id, model_name)
    reserved = kind is ModelKind.EXTERNAL and (model_name in RESERVED_NAMES or model_name.startswith(RESERVED_PREFIX))
    if not problems and (reserved or (model is not None and model.kind is not kind)):
        problems.append(
            Problem(
                "MODEL_KIND",
                "This name is the project's own suggester (heuristics or a built-in model); push under another.",
                "modelName",
            )
        )
    schema = await active_schema(session, project)
    checker = suggestion_schema(schema)
    with_content = schema.schema.reads_item

    # Which item each row names.
    refs: list[tuple[str, Any] | Problem] = []
    ids: list[uuid.UUID] = []
    externals: list[str] = []
    for i, row in enumerate(rows):
        at = f"suggestions.{i}"
        if (row.item_id is None) == (row.external_id is None):
            refs.append(Problem("INVALID_ITEM_REF", "Name the item by itemId or by externalId.", f"{at}.itemId"))
        elif row.item_id is not None:
            decoded = decode_global_id(row.item_id)
            if decoded is None or decoded[0] != "Item":
                refs.append(Problem("INVALID_ID", "itemId must be the id of an Item.", f"{at}.itemId"))
            else:
                refs.append(("itemId", decoded[1]))
                ids.append(decoded[1])
        else:
            refs.append(("externalId", row.external_id))
            externals.append(str(row.external_id))
    by_id = await _items(session, actor, project.id, col(Item.id), ids, with_content) if ids else {}
    by_ext = (
        await _items(session, actor, project.id, col(Item.external_id), externals, with_content) if externals else {}
    )

    values: list[dict[str, Any]] = []
    first_row: dict[uuid.UUID, int] = {}
    with bulk_read():
        for i, (row, ref) in enumerate(zip(rows, refs, strict=True)):
            at = f"suggestions.{i}"
            found: _Found | None = None
            if isinstance(ref, Problem):
                problems.append(ref)
            else:
                found = (by_id if ref[0] == "itemId" else by_ext).get(ref[1])
                where = f"{at}.{ref[0]}"
                if found is None:
                    problems.append(Problem("NOT_FOUND", "No such item in this project.", where))
                elif found.erased:
                    problems.append(Problem("ITEM_ERASED", "This item's content was erased.", where))
                elif found.id in first_row:
                    problems.append(
                        Problem("DUPLICATE_IN_BATCH", f"Row {first_row[found.id]} names the same item.", where)
                    )
                else:
                    first_row[found.id] = i
            row_problems = _check_row(row, at)
            if found is not None or not with_content:
                row_problems += check_value(checker, row.value, f"{at}.value", found.item if found else None)
            problems += row_problems
            if found is not None and not row_problems:
                values.append(
                    {
                        "item_id": found.id,
                        "value": row.value,
                        "confidence": float(row.confidence),
                        "per_field": {k: float(v) for k, v in (row.per_field or {}).items()},
                        "explanation": row.explanation or None,
                    }
                )
    if problems:
        raise DomainError(problems)

    registered = await registry.register(session, actor, project.id, model_name, model_version, kind)
    version = registered.version
    existing: dict[uuid.UUID, tuple[uuid.UUID, dict[str, Any], float, dict[str, Any], str | None, uuid.UUID]] = {}
    if not registered.new_version:
        items = [v["item_id"] for v in values]
        for start in range(0, len(items), LOOKUP_CHUNK):
            found_rows = await session.execute(
                select_columns(
                    col(Suggestion.item_id),
                    col(Suggestion.id),
                    col(Suggestion.value),
                    col(Suggestion.confidence),
                    col(Suggestion.per_field),
                    col(Suggestion.explanation),
                    col(Suggestion.schema_version_id),
                ).where(
                    col(Suggestion.model_version_id) == version.id,
                    col(Suggestion.item_id).in_(items[start : start + LOOKUP_CHUNK]),
                )
            )
            for item_id, *stored in found_rows.all():
                existing[item_id] = (stored[0], stored[1], stored[2], stored[3], stored[4], stored[5])
    now = utcnow()
    writes: list[dict[str, Any]] = []
    created = unchanged = 0
    for v in values:
        held = existing.get(v["item_id"])
        if held is not None and held[1:] == (v["value"], v["confidence"], v["per_field"], v["explanation"], schema.id):
            unchanged += 1
            continue
        created += held is None
        writes.append(
            v
            | {
                "id": new_id(),  # kept only when the row is new
                "project_id": project.id,
                "model_version_id": version.id,
                "schema_version_id": schema.id,
                "created_by": actor.id,
                "created_at": now,
                "updated_at": None if held is None else now,
            }
        )
    if writes:
        # One multi-row upsert (new rows and replaced ones alike), not the unit of work's per-row
        # bookkeeping nor one UPDATE per row; a concurrent push of the same version meets its rows.
        dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
        statement = dialect_insert(Suggestion)
        replaced = ("value", "confidence", "per_field", "explanation", "schema_version_id", "created_by")
        statement = statement.on_conflict_do_update(
            index_elements=["item_id", "model_version_id"],
            set_={**{name: statement.excluded[name] for name in replaced}, "updated_at": now},
        )
        await session.execute(statement, writes)
    updated = len(writes) - created
    # Auto-accept (app/automation/auto_accept.py): confident suggestions on unlabeled items decide them.
    written = [auto_accept.Written(w["item_id"], w["value"], w["confidence"], w["per_field"]) for w in writes]
    automatic = await auto_accept.after_suggestions(
        session, actor, project, schema.schema, version, model_name, written
    )
    await audit.record(
        session,
        actor,
        SUBMIT_SUGGESTIONS.audit,
        "ModelVersion",
        version.id,
        project_id=project.id,
        details={
            "model": model_name,
            "version": model_version,
            "count": len(values),
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "autoAccepted": automatic.accepted,
            "spotChecks": automatic.spot_checks,
        },
    )
    return Pushed(registered.model, version, created, updated, unchanged, automatic.accepted, automatic.spot_checks)


async def update_suggestion_policy(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, show: ShowSuggestions
) -> Project:
    """When annotators' tasks show suggestions here (managers and admins; audited)."""
    project = await find_project(session, actor, project_id, lock=True)
    UPDATE_SUGGESTION_POLICY.require(actor, project.id)
    before = project.show_suggestions
    project.show_suggestions = show
    await audit.record(
        session,
        actor,
        UPDATE_SUGGESTION_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={"showSuggestions": str(show), "before": str(before), "changed": show is not before},
    )
    await session.flush()
    return project


async def record_shown(session: AsyncSession, rows: Sequence[Mapping[str, uuid.UUID]]) -> int:
    """Record suggestions as shown on tasks (`reads.unrecorded` picks them: the annotator's own reads
    only), once per task and suggestion, racing readers included. Not audited: a record of a read,
    as access history is; a label's `suggestionsShown` is decided from it at submit."""
    if not rows:
        return 0
    now = utcnow()
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    statement = dialect_insert(SuggestionExposure).on_conflict_do_nothing(
        index_elements=["assignment_id", "suggestion_id"]
    )
    await session.execute(statement, [dict(r) | {"shown_at": now} for r in rows])
    return len(rows)
