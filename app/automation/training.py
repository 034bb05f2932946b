"""Training the built-in model per project and single-choice field, and active learning with it.

A run has three steps, so the fit never holds a write transaction (SQLite's one write lock, a
PostgreSQL row) and never runs on the event loop:

1. `prepare` (a read transaction): the decided items (status FINAL, not erased, decision in force)
   with the decision's class for the field as the label, the item's text as the features (every
   string leaf of its data, in document order, one per line), and the undecided items (QUEUED,
   IN_REVIEW, ESCALATED, not erased) to predict. Only items whose consent covers model_training
   train (as an export for that purpose: the record in force and listing it; an item without a
   record unless the project requires consent). Decisions the model itself made (AUTO_ACCEPTED,
   once auto-accept exists) are no labels: the model would learn from itself.
2. `fit` (a thread): `classifier.train` (stratified k-fold, calibrated), then the fitted model's
   probabilities for the undecided items, their least-confidence, margin and entropy scores and
   the diversity-aware order (`sampling.diverse_order`). Too few labels, one class only and the
   other TrainingCodes are caught here, per field.
3. `store` (a write transaction, serialised per project): per field, a SUCCEEDED `training_run`
   with the fitted model's .npz bytes (stored in the database, beside the version it is: every
   server process reads the same row, nothing to copy between machines), model `builtin-<field>`
   version N+1 (kind BUILT_IN) registered with its metrics, its suggestions written through
   `service.submit_suggestions` (the push's own validation, idempotency and hooks), its
   `item_uncertainty` rows and, for the queue's field, the items' `queue_score`; or a FAILED run
   with its code and nothing else. One `automation.train` audit event per store.

The queue follows the first single-choice field of the schema in force (its latest SUCCEEDED
version): `item.queue_score` holds that version's score for the project's sampling strategy
(higher first after priority; -1 not scored), rewritten when a version of that field is stored or
the strategy changes, so a claim stays one statement on an index (app/workflow/queue.py).

Pushed external suggestions do not feed the uncertainty table: they carry one confidence, not a
distribution over the classes (spreading the rest uniformly would invent the margin and entropy).

Retraining: with `retrain_every` set, the `Retrainer` (a Runtime background task, like the consent
Sweeper) looks every LABELGRAPH_RETRAIN_POLL_S seconds for projects with at least that many
decisions since their last run started and trains every single-choice field, on behalf of the
person who set `retrain_every` (their right to train is checked again: without it the run is
FAILED with TRAINING_FORBIDDEN). `labelgraph automation train` does one such pass. Nothing runs on
the decision path.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, literal, update
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.auth.actor import Actor
from app.auth.models import User
from app.automation import registry
from app.automation import service as suggestions
from app.automation.error_codes import AutomationErrorCode
from app.automation.models import ModelKind, ModelVersion
from app.automation.training_models import (
    ItemUncertainty,
    SamplingStrategy,
    TrainingRun,
    TrainingStatus,
    TrainingTrigger,
    UncertaintyMeasure,
)
from app.clock import utcnow
from app.compliance import audit
from app.consent import reads as consent_reads
from app.db import bulk_read, serialize_on, unit_of_work
from app.errors import DomainError, Forbidden, Problem
from app.ids import encode_global_id
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission
from app.periodic import Periodic
from app.policies.enforcer import Authorizer
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema
from app.taxonomy.schema_language import FieldSpec, LabelSchema
from app.workflow.models import Decision, DecisionMethod

if TYPE_CHECKING:
    from app.automation.classifier import Trained

TRAIN_MODEL = Operation("trainModel", Permission("model", "train"), audit="automation.train")
UPDATE_LEARNING_POLICY = Operation(
    "updateActiveLearningPolicy", Permission("model", "configure"), audit="automation.policy"
)

MAX_RETRAIN_EVERY = 1_000_000
# The diversity-aware batch: this many picks spread over the texts, then uncertainty order.
DIVERSE_BATCH = 20
UNDECIDED = (ItemStatus.QUEUED, ItemStatus.IN_REVIEW, ItemStatus.ESCALATED)
NOT_SCORED = -1.0
MODEL_PREFIX = suggestions.RESERVED_PREFIX
logger = logging.getLogger("labelgraph.automation")


def model_name(field_name: str) -> str:
    return f"{MODEL_PREFIX}{field_name}"


def item_text(data: Any) -> str:
    """The features' text of an item: every string in its data, in document order, one per line."""
    return "\n".join(_strings(data))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def single_choice_fields(schema: LabelSchema) -> list[FieldSpec]:
    return [spec for spec in schema.fields if spec.kind == "single_choice"]


@dataclass(frozen=True)
class FieldPlan:
    name: str
    classes: tuple[str, ...]
    texts: list[str]
    labels: list[str]


@dataclass(frozen=True)
class Plan:
    project_id: uuid.UUID
    trigger: TrainingTrigger
    started_at: datetime
    queue_field: str | None  # the field whose scores order the queue
    fields: list[FieldPlan]
    undecided: list[uuid.UUID]
    undecided_texts: list[str]
    seed: int


@dataclass
class FieldOutcome:
    name: str
    training_size: int
    trained: Trained | None = None
    error_code: str | None = None
    error_message: str | None = None
    predicted: list[tuple[str, float]] = field(default_factory=list)  # per undecided item: class, p
    least_confidence: list[float] = field(default_factory=list)
    margin: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    diverse_rank: list[int] = field(default_factory=list)
    artifact: bytes | None = None


@dataclass(frozen=True)
class Stored:
    runs: list[TrainingRun]
    problems: list[Problem]


async def prepare(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    field_name: str | None,
    trigger: TrainingTrigger = TrainingTrigger.MANUAL,
) -> Plan:
    """What to train on and what to predict (reads only). Bad input is a DomainError."""
    project = await find_project(session, actor, project_id)
    TRAIN_MODEL.require(actor, project.id)
    schema = await active_schema(session, project)
    choices = single_choice_fields(schema.schema)
    if field_name is not None:
        spec = next((s for s in schema.schema.fields if s.name == field_name), None)
        if spec is None:
            raise DomainError.single("UNKNOWN_FIELD", "The schema in force has no such field.", "field")
        if spec.kind != "single_choice":
            raise DomainError.single("NOT_SINGLE_CHOICE", "The built-in model trains single-choice fields.", "field")
        chosen = [spec]
    elif not choices:
        raise DomainError.single(
            "NO_SINGLE_CHOICE_FIELD", "The schema in force has no single-choice field to train.", "field"
        )
    else:
        chosen = choices
    started = utcnow()
    with bulk_read():
        decided = (
            await session.execute(
                select_columns(col(Item.data), col(Decision.value), col(Decision.method), col(Item.consent_id))
                .join(Item, col(Item.id) == col(Decision.item_id))
                .where(
                    col(Decision.project_id) == project.id,
                    col(Decision.superseded_at).is_(None),
                    col(Item.status) == ItemStatus.FINAL,
                    col(Item.erased_at).is_(None),
                )
                .order_by(col(Item.id))
            )
        ).all()
        undecided = (
            await session.execute(
                select_columns(col(Item.id), col(Item.data))
                .where(
                    col(Item.project_id) == project.id,
                    col(Item.status).in_(UNDECIDED),
                    col(Item.erased_at).is_(None),
                )
                .order_by(col(Item.id))
            )
        ).all()
        trainable = await _consented_to_training(session, project, [row[3] for row in decided])
    plans = []
    for spec in chosen:
        texts: list[str] = []
        labels: list[str] = []
        for data, value, method, consent_id in decided:
            if method == DecisionMethod.AUTO_ACCEPTED or not trainable(consent_id):
                continue
            given = (value or {}).get(spec.name)
            if isinstance(given, str) and given in spec.classes:
                texts.append(item_text(data))
                labels.append(given)
        plans.append(FieldPlan(spec.name, tuple(spec.classes), texts, labels))
    return Plan(
        project_id=project.id,
        trigger=trigger,
        started_at=started,
        queue_field=choices[0].name if choices else None,
        fields=plans,
        undecided=[row[0] for row in undecided],
        undecided_texts=[item_text(row[1]) for row in undecided],
        seed=project.id.int % 2**31,
    )


async def _consented_to_training(
    session: AsyncSession, project: Project, consent_ids: Sequence[uuid.UUID | None]
) -> Callable[[uuid.UUID | None], bool]:
    """Whether an item's consent lets it train the model: its record in force and listing
    model_training, as an export for that purpose asks (app/exports/jsonl.py); an item imported
    without a record only where the project does not require consent."""
    wanted = sorted({c for c in consent_ids if c is not None}, key=str)
    consents: dict[uuid.UUID, consent_reads.Consent] = {}
    for start in range(0, len(wanted), consent_reads.LOOKUP_CHUNK):
        consents.update(await consent_reads.of_items(session, wanted[start : start + consent_reads.LOOKUP_CHUNK]))
    now = utcnow()

    def trainable(consent_id: uuid.UUID | None) -> bool:
        if consent_id is None:
            return not project.consent_required
        consent = consents.get(consent_id)
        return consent is not None and consent.covers(consent_reads.MODEL_TRAINING, now)

    return trainable


def fit(plan: Plan) -> list[FieldOutcome]:
    """Train each field's model and score the undecided items (CPU only: run it in a thread)."""
    from app.automation import classifier, sampling

    outcomes = []
    for fp in plan.fields:
        outcome = FieldOutcome(fp.name, len(fp.labels))
        try:
            trained = classifier.train(fp.texts, fp.labels, classes=fp.classes, seed=plan.seed)
        except classifier.TrainingError as exc:
            outcome.error_code = exc.code.value
            outcome.error_message = exc.message[:2000]
            outcomes.append(outcome)
            continue
        outcome.trained = trained
        outcome.artifact = classifier.dumps(trained.model)
        if plan.undecided_texts:
            x = trained.model.features(plan.undecided_texts)
            proba = trained.model.proba_of(x)
            best = proba.argmax(axis=1)
            outcome.predicted = [(fp.classes[k], float(proba[i, k])) for i, k in enumerate(best)]
            outcome.least_confidence = sampling.least_confidence(proba).tolist()
            outcome.margin = sampling.margin(proba).tolist()
            outcome.entropy = sampling.entropy(proba).tolist()
            order = sampling.diverse_order(proba, x, batch=min(DIVERSE_BATCH, len(plan.undecided_texts)))
            rank = [0] * len(order)
            for place, index in enumerate(order.tolist()):
                rank[index] = place
            outcome.diverse_rank = rank
        outcomes.append(outcome)
    return outcomes


def _metrics(outcome: FieldOutcome, trained: Trained) -> dict[str, Any]:
    return {
        "cvAccuracy": trained.cv_accuracy,
        "foldAccuracies": list(trained.fold_accuracies),
        "folds": trained.folds,
        "ece": trained.calibration.ece,
        "brier": trained.calibration.brier,
        "logLoss": trained.calibration.log_loss,
        "calibrationBins": trained.calibration.bins,
        "trainingSize": outcome.training_size,
        "classCounts": dict(trained.class_counts),
        "temperature": trained.model.temperature,
        "converged": trained.converged,
    }


async def _next_version(session: AsyncSession, project_id: uuid.UUID, name: str) -> int:
    model = await registry.find_model(session, project_id, name)
    if model is None:
        return 1
    versions = await session.scalars(select(ModelVersion.version).where(col(ModelVersion.model_id) == model.id))
    return 1 + max((int(v) for v in versions if v.isdigit()), default=0)


async def _not_erased(session: AsyncSession, project_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of the items read at `prepare`, those not erased since (an erased item gets nothing more)."""
    live: set[uuid.UUID] = set()
    for start in range(0, len(ids), suggestions.LOOKUP_CHUNK):
        chunk = list(ids[start : start + suggestions.LOOKUP_CHUNK])
        live.update(
            await session.scalars(
                select(Item.id).where(
                    col(Item.project_id) == project_id, col(Item.id).in_(chunk), col(Item.erased_at).is_(None)
                )
            )
        )
    return live


async def store(session: AsyncSession, actor: Actor, plan: Plan, outcomes: Sequence[FieldOutcome]) -> Stored:
    """Record every field's run; register, suggest and score for those that trained."""
    project = await find_project(session, actor, plan.project_id)
    TRAIN_MODEL.require(actor, project.id)
    await serialize_on(session, f"automation.train:{project.id}")
    now = utcnow()
    runs: list[TrainingRun] = []
    problems: list[Problem] = []
    live = await _not_erased(session, project.id, plan.undecided)
    refused_count: dict[str, int] = {}
    for outcome in outcomes:
        run = TrainingRun(
            project_id=project.id,
            field=outcome.name,
            status=TrainingStatus.SUCCEEDED if outcome.trained is not None else TrainingStatus.FAILED,
            trigger=plan.trigger,
            error_code=outcome.error_code,
            error_message=outcome.error_message,
            requested_by=actor.id,
            started_at=plan.started_at,
            finished_at=now,
            training_size=outcome.training_size,
        )
        trained = outcome.trained
        if trained is None:
            problems.append(
                Problem(outcome.error_code or "TOO_FEW_EXAMPLES", f"{outcome.name}: {outcome.error_message}", "field")
            )
        else:
            name = model_name(outcome.name)
            version = str(await _next_version(session, project.id, name))
            # Each row passes the push's own per-row checks first: a row the schema's cross-field
            # rules refuse (a `requires` whose other field this one-field model cannot give) is
            # left out and counted, rather than refusing the whole write and so the training.
            candidates = [
                (
                    item_id,
                    suggestions.NewSuggestion(
                        item_id=encode_global_id("Item", item_id),
                        external_id=None,
                        value={outcome.name: cls},
                        confidence=p,
                        per_field={outcome.name: p},
                    ),
                )
                for item_id, (cls, p) in zip(plan.undecided, outcome.predicted, strict=True)
                if item_id in live
            ]
            passed = await suggestions.passes_row_checks(session, actor, project, candidates)
            rows = [row for (_, row), ok in zip(candidates, passed, strict=True) if ok]
            refused = len(candidates) - len(rows)
            refused_count[outcome.name] = refused
            registered = await registry.register(
                session,
                actor,
                project.id,
                name,
                version,
                ModelKind.BUILT_IN,
                metrics={**_metrics(outcome, trained), "suggestionsRefused": refused},
                parameters={
                    "field": outcome.name,
                    "classes": list(trained.classes),
                    "seed": plan.seed,
                    "config": trained.model.config.to_json(),
                    "format": "labelgraph.text-classifier/1 (.npz)",
                },
            )
            if registered.model.kind is not ModelKind.BUILT_IN:
                raise DomainError.single(
                    "MODEL_KIND", f"The model {name} was pushed from outside: rename it to train here.", "field"
                )
            for start in range(0, len(rows), suggestions.MAX_SUGGESTIONS):
                await suggestions.submit_suggestions(
                    session,
                    actor,
                    project.id,
                    name,
                    version,
                    rows[start : start + suggestions.MAX_SUGGESTIONS],
                    kind=ModelKind.BUILT_IN,
                )
            if rows:
                await session.execute(
                    insert(ItemUncertainty),
                    [
                        {
                            "item_id": item_id,
                            "model_version_id": registered.version.id,
                            "project_id": project.id,
                            "least_confidence": outcome.least_confidence[i],
                            "margin": outcome.margin[i],
                            "entropy": outcome.entropy[i],
                            "diverse_rank": outcome.diverse_rank[i],
                        }
                        for i, item_id in enumerate(plan.undecided)
                        if item_id in live
                    ],
                )
            run.model_version_id = registered.version.id
            run.artifact = outcome.artifact
            run.predicted = len(rows)
        session.add(run)
        runs.append(run)
    await session.flush()
    if any(r.field == plan.queue_field and r.status is TrainingStatus.SUCCEEDED for r in runs):
        await refresh_queue_scores(session, project)
    await audit.record(
        session,
        actor,
        TRAIN_MODEL.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={"projectId": str(project.id), "trigger": plan.trigger.value},
        details={
            "trigger": plan.trigger.value,
            "runs": [
                {
                    "field": r.field,
                    "status": r.status.value,
                    "errorCode": r.error_code,
                    "trainingSize": r.training_size,
                    "predicted": r.predicted,
                    "suggestionsRefused": refused_count.get(r.field, 0),
                    "modelVersion": str(r.model_version_id) if r.model_version_id else None,
                }
                for r in runs
            ],
        },
    )
    return Stored(runs, problems)


async def fit_in_thread(plan: Plan) -> list[FieldOutcome]:
    """Step 2 off the event loop: other requests go on while the model trains."""
    return await asyncio.to_thread(fit, plan)


# ---------------------------------------------------------------------------------------------
# The queue's scores


def _score_of(project: Project) -> Any:
    if project.sampling_strategy is SamplingStrategy.DIVERSE_UNCERTAINTY:
        return 1.0 / (1.0 + col(ItemUncertainty.diverse_rank))
    return {
        UncertaintyMeasure.LEAST_CONFIDENCE: col(ItemUncertainty.least_confidence),
        UncertaintyMeasure.MARGIN: col(ItemUncertainty.margin),
        UncertaintyMeasure.ENTROPY: col(ItemUncertainty.entropy),
    }[project.uncertainty_measure]


async def queue_version(session: AsyncSession, project: Project) -> uuid.UUID | None:
    """The model version whose scores order the queue: the newest trained for the first
    single-choice field of the schema in force."""
    schema = await active_schema(session, project)
    choices = single_choice_fields(schema.schema)
    if not choices:
        return None
    found: uuid.UUID | None = await session.scalar(
        select(TrainingRun.model_version_id)
        .where(
            col(TrainingRun.project_id) == project.id,
            col(TrainingRun.field) == choices[0].name,
            col(TrainingRun.status) == TrainingStatus.SUCCEEDED,
        )
        .order_by(col(TrainingRun.started_at).desc(), col(TrainingRun.id).desc())
        .limit(1)
    )
    return found


async def refresh_queue_scores(session: AsyncSession, project: Project) -> int:
    """Write the undecided items' queue_score from the queue version's uncertainty (one UPDATE)."""
    version = await queue_version(session, project)
    if version is None or project.sampling_strategy is SamplingStrategy.SEQUENTIAL:
        score: Any = literal(NOT_SCORED)
    else:
        score = func.coalesce(
            select_columns(_score_of(project))
            .where(and_(col(ItemUncertainty.item_id) == col(Item.id), col(ItemUncertainty.model_version_id) == version))
            .scalar_subquery(),
            NOT_SCORED,
        )
    result = await session.execute(
        update(Item)
        .where(col(Item.project_id) == project.id, col(Item.status).in_(UNDECIDED))
        .values(queue_score=score)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# The policy


@dataclass(frozen=True)
class LearningPolicyChange:
    project_id: uuid.UUID
    set_retrain_every: bool = False  # retrain_every given (null turns retraining off)
    retrain_every: int | None = None
    sampling_strategy: SamplingStrategy | None = None
    uncertainty_measure: UncertaintyMeasure | None = None


async def update_learning_policy(session: AsyncSession, actor: Actor, change: LearningPolicyChange) -> Project:
    """Retraining every N decisions and the queue's sampling strategy (managers, admins; audited)."""
    project = await find_project(session, actor, change.project_id, lock=True)
    UPDATE_LEARNING_POLICY.require(actor, project.id)
    if (
        change.set_retrain_every
        and change.retrain_every is not None
        and not (1 <= change.retrain_every <= MAX_RETRAIN_EVERY)
    ):
        raise DomainError.single(
            "OUT_OF_RANGE", f"retrainEvery must lie within 1..{MAX_RETRAIN_EVERY:,}, or be null.", "retrainEvery"
        )
    before = _policy(project)
    if change.set_retrain_every:
        project.retrain_every = change.retrain_every
        project.retrain_as = actor.id if change.retrain_every is not None else None
    if change.sampling_strategy is not None:
        project.sampling_strategy = change.sampling_strategy
    if change.uncertainty_measure is not None:
        project.uncertainty_measure = change.uncertainty_measure
    after = _policy(project)
    changed = {k: v for k, v in after.items() if before[k] != v}
    await session.flush()
    if "samplingStrategy" in changed or "uncertaintyMeasure" in changed:
        await refresh_queue_scores(session, project)
    await audit.record(
        session,
        actor,
        UPDATE_LEARNING_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={"changed": changed, "before": {k: before[k] for k in changed}},
    )
    return project


def _policy(project: Project) -> dict[str, Any]:
    return {
        "retrainEvery": project.retrain_every,
        "samplingStrategy": project.sampling_strategy.value,
        "uncertaintyMeasure": project.uncertainty_measure.value,
    }


# ---------------------------------------------------------------------------------------------
# Reads


async def training_runs(session: AsyncSession, actor: Actor, project: Project, limit: int) -> list[TrainingRun]:
    """The project's runs, newest first; readers of the model registry (FORBIDDEN otherwise)."""
    actor.require("model", "read", project.id)
    rows = await session.scalars(
        select(TrainingRun)
        .where(col(TrainingRun.project_id) == project.id)
        .order_by(col(TrainingRun.started_at).desc(), col(TrainingRun.id).desc())
        .limit(limit)
    )
    return list(rows.all())


# ---------------------------------------------------------------------------------------------
# Retraining in the background


@dataclass(frozen=True)
class Retrained:
    project_id: uuid.UUID
    runs: list[tuple[str, TrainingStatus, str | None]]  # field, status, error code


async def due_projects(session: AsyncSession) -> list[uuid.UUID]:
    """Projects with `retrain_every` set and at least that many decisions since their last run started."""
    projects = (
        await session.execute(
            select_columns(col(Project.id), col(Project.retrain_every)).where(col(Project.retrain_every).is_not(None))
        )
    ).all()
    due = []
    for project_id, setting in projects:
        every = int(setting or 0)
        last = await session.scalar(
            select_columns(func.max(col(TrainingRun.started_at))).where(col(TrainingRun.project_id) == project_id)
        )
        # A decision a model made (AUTO_ACCEPTED, often by a training's own store) is no new
        # human evidence: counting it would have the built-in model retrain on its own output.
        decided = select_columns(literal(1)).where(
            col(Decision.project_id) == project_id, col(Decision.method) != DecisionMethod.AUTO_ACCEPTED
        )
        if last is not None:
            decided = decided.where(col(Decision.decided_at) > last)
        count = await session.scalar(select_columns(func.count()).select_from(decided.limit(every).subquery()))
        if (count or 0) >= every:
            due.append(project_id)
    return due


async def retrain(
    sessions: async_sessionmaker[AsyncSession], authorizer: Authorizer, project_id: uuid.UUID
) -> Retrained | None:
    """One background run of every single-choice field, as the person who set `retrain_every`."""
    async with unit_of_work(sessions, write=False) as session:
        project = await session.get(Project, project_id)
        if project is None or project.retrain_as is None:
            return None
        owner = await session.get(User, project.retrain_as)
        actor = (
            Actor(id=owner.id, username=owner.username, kind=owner.kind, authorizer=authorizer)
            if owner is not None
            else None
        )
        try:
            if actor is None or not owner or not owner.is_active:
                raise Forbidden("The person who set retrainEvery is no longer active.")
            plan = await prepare(session, actor, project_id, None, TrainingTrigger.RETRAIN)
        except Forbidden as exc:
            plan, code, refusal = None, "TRAINING_FORBIDDEN", str(exc)
        except DomainError as exc:  # the owner no longer reads the project, or no single-choice field is left
            first = exc.problems[0].code
            plan, code, refusal = None, "TRAINING_FORBIDDEN" if first == "NOT_FOUND" else first, str(exc)
    if plan is None:
        return await _failed_retrain(sessions, project_id, code, refusal)
    assert actor is not None
    outcomes = await asyncio.to_thread(fit, plan)
    try:
        async with unit_of_work(sessions, write=True) as session:
            stored = await store(session, actor, plan, outcomes)
    except Exception as exc:  # any refusal or fault of store: its unit rolled back, nothing of it stands
        # Recorded in a fresh unit, so the project's last run moves on and it is not due again at
        # every poll (a refit that fails the same way each time).
        logger.exception("retrain of project %s failed at store", project_id)
        if isinstance(exc, Forbidden):
            code, message = "TRAINING_FORBIDDEN", str(exc)
        elif isinstance(exc, DomainError):
            first = exc.problems[0].code
            code = first if first in _AUTOMATION_CODES else "STORE_FAILED"
            message = f"{first}: {exc}"
        else:
            code, message = "STORE_FAILED", f"{type(exc).__name__}: {exc}"
        return await _failed_retrain(sessions, project_id, code, message)
    return Retrained(project_id, [(r.field, r.status, r.error_code) for r in stored.runs])


_AUTOMATION_CODES = frozenset(code.value for code in AutomationErrorCode)


async def _failed_retrain(
    sessions: async_sessionmaker[AsyncSession], project_id: uuid.UUID, code: str, message: str
) -> Retrained | None:
    """One FAILED run (no field) and its audit event, as the system, in a unit of its own."""
    async with unit_of_work(sessions, write=True) as session:
        project = await session.get(Project, project_id)
        if project is None or project.retrain_as is None:
            return None
        run = TrainingRun(
            project_id=project_id,
            field="",
            status=TrainingStatus.FAILED,
            trigger=TrainingTrigger.RETRAIN,
            error_code=code,
            error_message=message[:2000],
            requested_by=project.retrain_as,
        )
        session.add(run)
        await audit.record(
            session,
            None,
            TRAIN_MODEL.audit,
            "Project",
            project_id,
            project_id=project_id,
            request={"projectId": str(project_id), "trigger": TrainingTrigger.RETRAIN.value},
            details={"trigger": "RETRAIN", "runs": [{"status": "FAILED", "errorCode": code}]},
        )
    return Retrained(project_id, [("", TrainingStatus.FAILED, code)])


async def retrain_due(
    sessions: async_sessionmaker[AsyncSession], authorizer: Authorizer, *, project_id: uuid.UUID | None = None
) -> list[Retrained]:
    """One pass: every project due (or the one named, when due)."""
    async with unit_of_work(sessions, write=False) as session:
        due = await due_projects(session)
    done = []
    for pid in due:
        if project_id is not None and pid != project_id:
            continue
        found = await retrain(sessions, authorizer, pid)
        if found is not None:
            done.append(found)
    return done


class Retrainer(Periodic):
    """The server's own retrain pass, every `interval_s` seconds (0: off). A failed pass is logged
    and tried again at the next tick; it never stops the server, and never touches labeling."""

    name = "automation-retrain"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], authorizer: Authorizer, interval_s: float) -> None:
        super().__init__(interval_s)
        self._sessions = sessions
        self._authorizer = authorizer

    async def run_once(self) -> list[Retrained]:
        return await retrain_due(self._sessions, self._authorizer)

    async def tick(self) -> None:
        for done in await self.run_once():
            logger.info("retrained project %s: %s", done.project_id, done.runs)
