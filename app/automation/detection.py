"""Label-issue detection: detectLabelIssues, the loop from the decided labels to the QA audit queue.

One run looks at one single-choice field (`field`, else the first single-choice field of the schema
in force) over the project's decided items: FINAL, not erased, with a decision in force whose value
for the field (carried to the schema in force through the approved mappings) is one of its classes.
Those values are the given labels. The probabilities that judge them are out of fold, so no item is
judged by a model that learnt its own label:

- **BUILT_IN** (no model named): the built-in classifier (app/automation/classifier.py) trained with
  its stratified k-fold cross-validation on the items' text (`itemField`, a dotted key of the item's
  data; by default every string of the data, in document order, as training reads it), with a
  fixed seed and the items in id order, so a run over the same decisions is the same run. Its `oof_proba` are used.
- **MODEL_VERSION** (`modelName` and `modelVersion`): that version's pushed suggestions for the field,
  where they cover the decided items; a suggestion of class c with confidence q (the field's own
  confidence when it gave one) reads as q for c (at least 1/K) and the rest shared by the other
  classes. The model is trusted to have been trained elsewhere, not on these labels.

A class with fewer than 2 decided items (one label cannot be both trained on and held out) and items
without text (or, for a model, without a suggestion) are left out and counted (`leftOut`).
Confident learning (app/automation/label_issues.py, defaults: both pruning rules, normalized margin)
ranks the issues; the run and every ranked issue are stored (`label_issue_run`, `label_issue`), and
the first `top` ranks (the input's, else the project's `labelIssuesTop`) are flagged into the QA
audit queue (app/audits/service.flag_for_audit, reason FLAGGED, the detail naming the run and the
rank), except items already pending audit, which are skipped (ALREADY_PENDING): their audit is
under way for another reason, and adding a flag would change what it was claimed for.

Typed errors, nothing written: UNKNOWN_FIELD, NOT_SINGLE_CHOICE, UNKNOWN_MODEL, TOO_FEW_DECIDED
(fewer than MIN_DECIDED items to rank), ONE_CLASS (fewer than 2 classes to compare), OUT_OF_RANGE
(`top`).

A run has three steps, as a training has (app/automation/training.py), so the cross-validated fit
never holds a write transaction (on SQLite, every other write would wait for it) nor the event
loop: `prepare` in a read transaction (the checks, the decided items, a named model's
suggestions), `fit` in a thread (the folds and confident learning), `store` in the write unit (the
run, its issues, the flags, the audit event). An item decided when read and no longer when stored
is ranked but not flagged (NOT_FLAGGED).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audits import service as audits
from app.audits.models import QaAudit
from app.auth.actor import Actor
from app.automation import label_issues, registry
from app.automation.heuristics import ITEM_FIELD
from app.automation.models import IssueOutcome, IssueSource, LabelIssue, LabelIssueRun, ModelVersion, Suggestion
from app.automation.training import item_text
from app.compliance import audit
from app.errors import DomainError, Problem
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema
from app.taxonomy.mapping import remap_through
from app.taxonomy.versions import version_chain
from app.workflow import decisions
from app.workflow.models import Decision
from app.workflow.policy import MAX_LABEL_ISSUES_TOP

DETECT_LABEL_ISSUES = Operation(
    "detectLabelIssues", Permission("label_issue", "detect"), audit="automation.label_issues"
)

MIN_DECIDED = 10  # decided items a run ranks at the least
SEED = 0  # the built-in model's fold split: the same decisions give the same run
MIN_PER_CLASS = 2  # a class needs this many to be trained on and held out
CHUNK = 900
MAX_TEXT = 20_000  # characters of an item's text the classifier reads


@dataclass(frozen=True)
class Detect:
    project_id: uuid.UUID
    field: str | None = None
    top: int | None = None
    model_name: str | None = None
    model_version: str | None = None
    item_field: str | None = None


@dataclass(frozen=True)
class Detected:
    run: LabelIssueRun


@dataclass(frozen=True)
class _Decided:
    item_id: uuid.UUID
    given: str
    text: str
    decision_id: uuid.UUID  # the decision in force when read: only it may be flagged at store


def _single_choice(field: str | None, schema: Any) -> tuple[str, tuple[str, ...]]:
    if field is None:
        found = next((spec for spec in schema.fields if spec.kind == "single_choice"), None)
        if found is None:
            raise DomainError.single(
                "NOT_SINGLE_CHOICE", "The label schema in force has no single-choice field.", "field"
            )
        return found.name, tuple(found.classes)
    spec = schema.field(field)
    if spec is None:
        raise DomainError.single("UNKNOWN_FIELD", "No such field in the label schema in force.", "field")
    if spec.kind != "single_choice":
        raise DomainError.single("NOT_SINGLE_CHOICE", "Label issues are found on single-choice fields.", "field")
    return spec.name, tuple(spec.classes)


def text_of(data: Any, item_field: str | None) -> str:
    """The text the built-in model reads: the dotted key's string, else every string of the data."""
    if item_field is None:
        text = item_text(data)
    else:
        found: Any = data
        for key in item_field.split("."):
            found = found.get(key) if isinstance(found, Mapping) else None
        text = found if isinstance(found, str) else ""
    return text[:MAX_TEXT].strip()


async def _decided(
    session: AsyncSession, project: Project, field: str, classes: tuple[str, ...], item_field: str | None
) -> tuple[list[_Decided], int]:
    """The project's decided items with a class of `field` in force (item id order), and how many
    decided items were left out for having no text."""
    chain = await version_chain(session, project)
    rows = await session.execute(
        select_columns(
            col(Item.id), col(Item.data), col(Decision.value), col(Decision.schema_version_id), col(Decision.id)
        )
        .join(Decision, col(Decision.item_id) == col(Item.id))
        .where(
            col(Item.project_id) == project.id,
            col(Item.status) == ItemStatus.FINAL,
            col(Item.erased_at).is_(None),
            col(Item.gold).is_(False),
            col(Decision.superseded_at).is_(None),
        )
        .order_by(col(Item.id))
    )
    allowed = set(classes)
    found: list[_Decided] = []
    textless = 0
    for item_id, data, value, schema_version_id, decision_id in rows.all():
        given = remap_through(value, chain.steps_from(schema_version_id)).get(field)
        if not isinstance(given, str) or given not in allowed:
            continue
        text = text_of(data, item_field)
        if not text:
            textless += 1
            continue
        found.append(_Decided(item_id, given, text, decision_id))
    return found, textless


async def _model_proba(
    session: AsyncSession, project: Project, name: str | None, version: str | None, field: str
) -> tuple[ModelVersion, dict[uuid.UUID, tuple[str, float]]]:
    """The named version's suggestion for `field` per item: (class, confidence)."""
    if not name or not version:
        at = "modelVersion" if name else "modelName"
        raise DomainError.single("UNKNOWN_MODEL", "Name both the model and its version.", at)
    model = await registry.find_model(session, project.id, name)
    if model is None:
        raise DomainError.single("UNKNOWN_MODEL", "No such model in this project.", "modelName")
    found = await registry.find_version(session, model.id, version)
    if found is None:
        raise DomainError.single("UNKNOWN_MODEL", "No such version of this model.", "modelVersion")
    rows = await session.execute(
        select_columns(
            col(Suggestion.item_id), col(Suggestion.value), col(Suggestion.confidence), col(Suggestion.per_field)
        ).where(col(Suggestion.model_version_id) == found.id)
    )
    suggested: dict[uuid.UUID, tuple[str, float]] = {}
    for item_id, value, confidence, per_field in rows.all():
        cls = value.get(field) if isinstance(value, Mapping) else None
        if isinstance(cls, str):
            own = (per_field or {}).get(field, confidence)
            suggested[item_id] = (cls, float(own))
    return found, suggested


def suggestion_proba(suggested: str, confidence: float, classes: tuple[str, ...]) -> list[float]:
    """A pushed (class, confidence) as a probability row over `classes`: the suggested class gets the
    confidence (at least 1/K, so it stays the likeliest), the others share the rest evenly."""
    k = len(classes)
    own = min(1.0, max(confidence, 1.0 / k))
    rest = (1.0 - own) / (k - 1)
    return [own if c == suggested else rest for c in classes]


def _check_input(change: Detect) -> list[Problem]:
    problems: list[Problem] = []
    if change.top is not None and not 0 <= change.top <= MAX_LABEL_ISSUES_TOP:
        problems.append(Problem("OUT_OF_RANGE", f"top must lie within 0..{MAX_LABEL_ISSUES_TOP}.", "top"))
    if change.item_field is not None and not ITEM_FIELD.fullmatch(change.item_field):
        problems.append(
            Problem("UNKNOWN_FIELD", "itemField is a dotted key of the item's data (letters, digits, _).", "itemField")
        )
    if change.item_field is not None and change.model_name is not None:
        problems.append(
            Problem("OUT_OF_RANGE", "itemField is for the built-in model; a model names its own.", "itemField")
        )
    return problems


@dataclass(frozen=True)
class Plan:
    """What `prepare` read: the items to rank, their given classes, and a named model's probabilities."""

    project_id: uuid.UUID
    field: str
    classes: tuple[str, ...]
    kept: tuple[str, ...]  # the classes with MIN_PER_CLASS decided items or more
    counts: Mapping[str, int]
    ranked: list[_Decided]
    left_out: int
    top: int
    version: ModelVersion | None
    model_proba: Any = None  # the named version's probabilities, one row per ranked item


@dataclass(frozen=True)
class Fitted:
    issues: tuple[label_issues.LabelIssue, ...]
    cv_accuracy: float | None


async def prepare(session: AsyncSession, actor: Actor, change: Detect) -> Plan:
    """The checks and the reads; every typed error of a run is raised here, or in `fit`."""
    project = await find_project(session, actor, change.project_id)
    DETECT_LABEL_ISSUES.require(actor, project.id)
    problems = _check_input(change)
    if problems:
        raise DomainError(problems)
    schema = (await active_schema(session, project)).schema
    field, classes = _single_choice(change.field, schema)
    named = change.model_name is not None or change.model_version is not None
    version: ModelVersion | None = None
    suggested: dict[uuid.UUID, tuple[str, float]] = {}
    if named:
        version, suggested = await _model_proba(session, project, change.model_name, change.model_version, field)
    decided, left_out = await _decided(session, project, field, classes, change.item_field)
    if named:
        covered = [d for d in decided if d.item_id in suggested and suggested[d.item_id][0] in classes]
        left_out += len(decided) - len(covered)
        decided = covered
    counts = {c: sum(1 for d in decided if d.given == c) for c in classes}
    kept = tuple(c for c in classes if counts[c] >= MIN_PER_CLASS)
    ranked = [d for d in decided if d.given in kept]
    left_out += len(decided) - len(ranked)
    if len(ranked) < MIN_DECIDED:
        what = "covered by the model's suggestions" if named else "with text"
        raise DomainError.single(
            "TOO_FEW_DECIDED",
            f"{len(ranked)} decided item(s) {what} in classes of {MIN_PER_CLASS} or more; a run needs {MIN_DECIDED}.",
            "projectId",
        )
    if len(kept) < 2:
        raise DomainError.single(
            "ONE_CLASS",
            f"Only {len(kept)} class(es) of '{field}' have {MIN_PER_CLASS} or more decided items; "
            "confident learning compares at least 2.",
            "field",
        )
    model_proba = None
    if version is not None:
        model_proba = np.array([suggestion_proba(*suggested[d.item_id], kept) for d in ranked], dtype=np.float64)
    return Plan(
        project_id=project.id,
        field=field,
        classes=classes,
        kept=kept,
        counts=counts,
        ranked=ranked,
        left_out=left_out,
        top=project.label_issues_top if change.top is None else change.top,
        version=version,
        model_proba=model_proba,
    )


def fit(plan: Plan) -> Fitted:
    """Out-of-fold probabilities (the built-in model's, unless a version was named) and the ranking."""
    index = {c: i for i, c in enumerate(plan.kept)}
    given = np.fromiter((index[d.given] for d in plan.ranked), dtype=np.intp, count=len(plan.ranked))
    if plan.model_proba is not None:
        return Fitted(label_issues.find_label_issues(given, plan.model_proba).issues, None)
    # Imported here: scikit-learn costs the server ~110 MiB, and only a fit needs it.
    from app.automation import classifier

    texts = [d.text for d in plan.ranked]
    labels = [d.given for d in plan.ranked]
    try:
        trained = classifier.train(texts, labels, classes=plan.kept, seed=SEED)
    except classifier.TrainingError as exc:  # EMPTY_VOCABULARY: texts with nothing to count
        raise DomainError.single("TOO_FEW_DECIDED", exc.message, "projectId") from None
    return Fitted(label_issues.find_label_issues(given, trained.oof_proba).issues, trained.cv_accuracy)


async def fit_in_thread(plan: Plan) -> Fitted:
    return await asyncio.to_thread(fit, plan)


async def store(session: AsyncSession, actor: Actor, plan: Plan, fitted: Fitted) -> Detected:
    """The run, its ranked issues and the flags of its top ranks, with one audit event."""
    project = await find_project(session, actor, plan.project_id)  # still readable, still allowed
    DETECT_LABEL_ISSUES.require(actor, project.id)
    field, kept, ranked, top, version = plan.field, plan.kept, plan.ranked, plan.top, plan.version
    found = fitted.issues
    run = LabelIssueRun(
        project_id=project.id,
        field=field,
        source=IssueSource.BUILT_IN if version is None else IssueSource.MODEL_VERSION,
        model_version_id=version.id if version else None,
        item_count=len(ranked),
        left_out=plan.left_out,
        issue_count=len(found),
        top=top,
        flagged=0,
        cv_accuracy=fitted.cv_accuracy,
        class_counts={c: plan.counts[c] for c in plan.classes},
        created_by=actor.id,
    )
    session.add(run)
    await session.flush()

    rows: list[dict[str, Any]] = []
    flagged = 0
    for rank, issue in enumerate(found, start=1):
        judged = ranked[issue.index]
        item_id = judged.item_id
        outcome = IssueOutcome.NOT_FLAGGED
        audit_id = None
        if rank <= top and await _still_judged(session, judged):
            if await audits.pending_audit(session, item_id) is not None:  # locked: queued meanwhile counts
                outcome = IssueOutcome.ALREADY_PENDING
            else:
                detail = (
                    f"Label issue: rank {rank} of {len(found)} in run {run.id} on '{field}' "
                    f"(score {issue.score:.3f}; decided {kept[issue.given]!r}, model suggests "
                    f"{kept[issue.suggested]!r})."
                )
                queued = await _flag(session, item_id, detail)
                if queued is not None:
                    outcome, audit_id = IssueOutcome.FLAGGED, queued.id
                    flagged += 1
        rows.append(
            {
                "run_id": run.id,
                "rank": rank,
                "item_id": item_id,
                "given": kept[issue.given],
                "suggested": kept[issue.suggested],
                "score": issue.score,
                "self_confidence": issue.self_confidence,
                "outcome": outcome,
                "audit_id": audit_id,
            }
        )
    if rows:
        await session.execute(insert(LabelIssue), rows)
    run.flagged = flagged
    await audit.record(
        session,
        actor,
        DETECT_LABEL_ISSUES.audit,
        "LabelIssueRun",
        run.id,
        project_id=project.id,
        details={
            "field": field,
            "source": run.source.value,
            "modelVersion": str(version.id) if version else None,
            "items": run.item_count,
            "leftOut": plan.left_out,
            "issues": run.issue_count,
            "top": top,
            "flagged": flagged,
            "alreadyPending": sum(1 for r in rows if r["outcome"] is IssueOutcome.ALREADY_PENDING),
        },
    )
    await session.flush()
    return Detected(run)


async def _flag(session: AsyncSession, item_id: uuid.UUID, detail: str) -> QaAudit | None:
    """The audit queued, or None when the item has no decision in force any more (since `prepare`)."""
    try:
        return await audits.flag_for_audit(session, item_id, detail)
    except DomainError as exc:
        if [p.code for p in exc.problems] == ["NOT_DECIDED"]:
            return None
        raise


async def _still_judged(session: AsyncSession, judged: _Decided) -> bool:
    """The decision the run judged is still in force (locked until the flag is written) and its item
    still FINAL and not erased: a decision overturned, re-decided or erased since `prepare` is not
    the one the run ranked, so it is not flagged (NOT_FLAGGED)."""
    decision = await decisions.in_force(session, judged.item_id, lock=True)
    if decision is None or decision.id != judged.decision_id:
        return False
    state = (
        await session.execute(
            select_columns(col(Item.status), col(Item.erased_at)).where(col(Item.id) == judged.item_id)
        )
    ).one_or_none()
    return state is not None and state[0] == ItemStatus.FINAL and state[1] is None
