"""Re-estimating a project's annotators, and re-deciding what the new estimates change.

WEIGHTED weighs each vote by the annotator's accuracy against the decisions in force (Laplace-
smoothed: (correct + 1) / (compared + 2)). DAWID_SKENE fits a confusion matrix per annotator and
a class prior by EM over every counted label of the field (app/quality/aggregation.py). Between
re-estimates a submit aggregates the item with the stored estimates (app/quality/consensus.py),
so it costs one small read, not an EM run.

Gold answers are known truth, never consensus. The labels given on gold items (items with a
GoldAnswer, app/expertise/) join a field's fit only where the gold answer has that field: under
DAWID_SKENE as items whose true class is clamped to the gold answer's (they shape the confusion
matrices, not the class prior: gold items are picked by a manager, not drawn like the items to
decide), under WEIGHTED compared against the gold answer as the other labels are against the
decision in force. A gold item never gets a decision, so nothing here re-decides it.

A re-estimate runs on `refreshQuality` and in the background after about `refresh_every` new
labels of the project (counted in this process: a restart starts the count again). Items the
aggregation decided alone (AGGREGATED) are aggregated again under the new estimates; where the
value changes, a new decision version supersedes the old one. Human decisions stand.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.db import SESSIONS, after_commit, bulk_read, unit_of_work
from app.expertise.models import GoldAnswer
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.quality.aggregation import dawid_skene_with_known, smoothed_confusion
from app.quality.consensus import FieldModel, Proposal, canonical
from app.quality.ratings import Ratings
from app.workflow import decisions
from app.workflow.models import AggregationMethod, Decision, DecisionMethod, Label, LabelStatus, QualityModel

logger = logging.getLogger("labelgraph.quality")

REFRESH_QUALITY = Operation("refreshQuality", Permission("quality", "refresh"), audit="quality.refresh")

DS_MAX_ITER = 100
DS_TOL = 1e-5
# Pseudo labels added to every cell of each annotator's confusion matrix after the fit
# (app/quality/aggregation.smoothed_confusion): a matrix known from few items stays near uniform
# instead of holding exact zeros, which made one label certain and settled two disagreeing labels
# on noise.
DS_PSEUDO_COUNT = 1.0


@dataclass(frozen=True)
class Refreshed:
    project: Project
    fields: int
    labels_used: int
    redecided: int


async def refresh_quality(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> Refreshed:
    project = await find_project(session, actor, project_id, lock=True)
    REFRESH_QUALITY.require(actor, project.id)
    result = await refresh(session, project)
    await audit.record(
        session,
        actor,
        REFRESH_QUALITY.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={"projectId": str(project_id)},
        details={
            "method": project.aggregation.value,
            "fields": result.fields,
            "labelsUsed": result.labels_used,
            "redecided": result.redecided,
        },
    )
    return result


@dataclass(frozen=True)
class Plan:
    """A re-estimate worked out in a read: the new estimates, and the AGGREGATED decisions they
    change (decision id -> its item, the labels and the new proposal)."""

    method: AggregationMethod
    estimates: dict[str, FieldModel]
    labels_used: dict[str, int]
    changes: list[tuple[uuid.UUID, uuid.UUID, list[Label], list[dict[str, Any]], Proposal]]
    labels: int


async def refresh(session: AsyncSession, project: Project) -> Refreshed:
    """Estimate again from every counted label, store it, and re-decide what it changes (in one
    transaction: the refreshQuality mutation)."""
    return await apply(session, project, await estimate(session, project))


async def estimate(session: AsyncSession, project: Project, *, in_thread: bool = False) -> Plan:
    """Read every counted label, fit the project's method, and find the decisions it changes.
    Writes nothing; `in_thread` runs the fit off the event loop (the background re-estimate)."""
    method = project.aggregation
    if method is AggregationMethod.MAJORITY:
        return Plan(method, {}, {}, [], 0)
    with bulk_read():
        labels = list(
            await session.scalars(
                select(Label)
                .where(Label.project_id == project.id, Label.status != LabelStatus.REJECTED)
                .order_by(col(Label.id))
            )
        )
        values = await decisions.current_values(session, project, labels)
        gold = await gold_truths(session, project)
        rows: dict[str, list[tuple[uuid.UUID, str, str]]] = defaultdict(list)
        by_item: dict[uuid.UUID, list[tuple[Label, dict[str, Any]]]] = defaultdict(list)
        used = 0
        for label, value in zip(labels, values, strict=True):
            author = str(label.author_id)
            truth = gold.get(label.item_id)
            if truth is None:
                for name in value:
                    rows[name].append((label.item_id, author, canonical(value.get(name))))
                by_item[label.item_id].append((label, value))
                used += 1
                continue
            # A gold answer: in the fit of the fields its gold answer has, never in any consensus.
            known = [name for name in value if name in truth]
            for name in known:
                rows[name].append((label.item_id, author, canonical(value.get(name))))
            used += bool(known)
        if method is AggregationMethod.DAWID_SKENE:
            fit = functools.partial(_ds_estimates, rows, gold)
            fitted = await asyncio.to_thread(fit) if in_thread else fit()
        else:
            fitted = await _accuracy_estimates(session, project, rows, gold)
        changes = await _changed(session, project, fitted, by_item)
    return Plan(method, fitted, {name: len(found) for name, found in rows.items()}, changes, used)


async def gold_truths(session: AsyncSession, project: Project) -> dict[uuid.UUID, dict[str, str]]:
    """Per gold item of the project: its gold answer, field by field, as canonical values. The
    answer is taken as stored: a gold answer carries no schema version (set it again after a schema
    change that renames its classes)."""
    found = await session.execute(
        select(GoldAnswer.item_id, GoldAnswer.value).where(col(GoldAnswer.project_id) == project.id)
    )
    return {item: {name: canonical(v) for name, v in (value or {}).items()} for item, value in found.all()}


async def apply(session: AsyncSession, project: Project, plan: Plan) -> Refreshed:
    """Store the plan's estimates in place of the project's, and give each decision it changes a
    new version, unless that decision was superseded since the plan was made (new labels settled
    the item meanwhile: the next re-estimate sees them). A plan for another method than the
    project's (the policy changed meanwhile) stores nothing."""
    if plan.method is not project.aggregation or plan.method is AggregationMethod.MAJORITY:
        return Refreshed(project, 0, 0, 0)
    # First, one atomic bump: it also makes concurrent re-estimates of the project wait their turn.
    bumped = await session.execute(
        update(Project)
        .where(col(Project.id) == project.id)
        .values(estimates_version=col(Project.estimates_version) + 1)
        .returning(col(Project.estimates_version))
    )
    project.estimates_version = bumped.scalar_one()
    await session.execute(delete(QualityModel).where(col(QualityModel.project_id) == project.id))
    now = utcnow()
    for name, model in plan.estimates.items():
        session.add(
            QualityModel(
                project_id=project.id,
                field=name,
                method=plan.method,
                classes=list(model.classes),
                prior=[float(p) for p in model.prior],
                annotators={
                    author: {
                        "accuracy": model.accuracy.get(author),
                        "confusion": model.confusion[author].tolist() if author in model.confusion else None,
                    }
                    for author in sorted(set(model.accuracy) | set(model.confusion))
                },
                labels_used=plan.labels_used.get(name, 0),
                estimated_at=now,
            )
        )
    await session.flush()
    changed = 0
    for decision_id, item_id, labels, values, proposal in plan.changes:
        current = await decisions.in_force(session, item_id, lock=True)
        if current is None or current.id != decision_id:
            continue
        await decisions.record(
            session,
            project,
            item_id,
            value=proposal.value,
            method=DecisionMethod.AGGREGATED,
            confidence=proposal.confidence,
            labels=labels,
            values=values,
            proposal=proposal,
        )
        changed += 1
    return Refreshed(project, len(plan.estimates), plan.labels, changed)


# The parsed estimates of each (project, method) and the project's estimates_version they were
# read at: a submit, which has the project row already, parses every annotator's matrices only
# after a re-estimate (in whichever process it ran).
_loaded: dict[tuple[uuid.UUID, AggregationMethod], tuple[int, dict[str, FieldModel]]] = {}


async def load(session: AsyncSession, project: Project) -> dict[str, FieldModel]:
    """The stored estimates of the project's current method (none yet: empty)."""
    key = (project.id, project.aggregation)
    cached = _loaded.get(key)
    if cached is not None and cached[0] == project.estimates_version:
        return cached[1]
    scope = (QualityModel.project_id == project.id, QualityModel.method == project.aggregation)
    models: dict[str, FieldModel] = {}
    for row in await session.scalars(select(QualityModel).where(*scope)):
        accuracy = {a: float(v["accuracy"]) for a, v in row.annotators.items() if v.get("accuracy") is not None}
        confusion = {a: np.asarray(v["confusion"]) for a, v in row.annotators.items() if v.get("confusion")}
        models[row.field] = FieldModel(tuple(row.classes), np.asarray(row.prior), accuracy, confusion)
    if len(_loaded) > 1_000:
        _loaded.clear()
    _loaded[key] = (project.estimates_version, models)
    return models


def _ds_estimates(
    rows: dict[str, list[tuple[uuid.UUID, str, str]]], gold: Mapping[uuid.UUID, Mapping[str, str]]
) -> dict[str, FieldModel]:
    """Dawid-Skene per field, the gold items' true classes clamped to their gold answers' (fitted from
    the votes and from the gold answers, the likelier fit kept: app/quality/aggregation.py)."""
    models: dict[str, FieldModel] = {}
    for name, triples in rows.items():
        truths: dict[Hashable, str] = {item: answer[name] for item, answer in gold.items() if name in answer}
        seen = {item for item, _, _ in triples}
        ratings = Ratings.from_rows(triples, classes={v for item, v in truths.items() if item in seen})
        if ratings.n_classes < 2:
            continue
        class_at = {c: i for i, c in enumerate(ratings.classes)}
        known = np.fromiter(
            (class_at[truths[item]] if item in truths else -1 for item in ratings.item_ids),
            dtype=np.intp,
            count=ratings.n_items,
        )
        fit = dawid_skene_with_known(ratings, known, max_iter=DS_MAX_ITER, tol=DS_TOL)
        assert fit.prior is not None
        confusion = smoothed_confusion(ratings, fit.posterior, DS_PSEUDO_COUNT)
        accuracy = np.einsum("akk->ak", confusion) @ fit.prior
        authors = [str(a) for a in ratings.annotator_ids]
        models[name] = FieldModel(
            classes=tuple(str(c) for c in ratings.classes),
            prior=fit.prior,
            accuracy={a: float(accuracy[i]) for i, a in enumerate(authors)},
            confusion={a: confusion[i] for i, a in enumerate(authors)},
        )
    return models


async def _accuracy_estimates(
    session: AsyncSession,
    project: Project,
    rows: dict[str, list[tuple[uuid.UUID, str, str]]],
    gold: Mapping[uuid.UUID, Mapping[str, str]],
) -> dict[str, FieldModel]:
    """Each annotator's smoothed accuracy per field against the decisions in force and, on gold
    items (which have no decision), against the gold answer."""
    final = {
        d.item_id: {name: canonical(v) for name, v in d.value.items()}
        for d in await session.scalars(
            select(Decision).where(Decision.project_id == project.id, col(Decision.superseded_at).is_(None))
        )
    }
    reference = {**final, **gold}
    models: dict[str, FieldModel] = {}
    for name, triples in rows.items():
        compared: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item_id, author, key in triples:
            truth = reference.get(item_id)
            if truth is not None:
                tally = compared[author]
                tally[0] += key == truth.get(name, "null")
                tally[1] += 1
        classes = tuple(sorted({key for _, _, key in triples}))
        models[name] = FieldModel(
            classes=classes,
            prior=np.full(len(classes), 1 / len(classes)),
            accuracy={a: (c + 1) / (n + 2) for a, (c, n) in compared.items()},
            confusion={},
        )
    return models


async def _changed(
    session: AsyncSession,
    project: Project,
    models: dict[str, FieldModel],
    by_item: dict[uuid.UUID, list[tuple[Label, dict[str, Any]]]],
) -> list[tuple[uuid.UUID, uuid.UUID, list[Label], list[dict[str, Any]], Proposal]]:
    """Aggregate again, with the labels the estimate was made from (an AGGREGATED item's labels are
    all unreviewed, so they are its counted labels), each item whose decision the aggregation
    made; the ones whose value changes."""
    from app.workflow import policy

    aggregated = await session.execute(
        select(Decision.id, Decision.item_id, Decision.value).where(
            Decision.project_id == project.id,
            col(Decision.superseded_at).is_(None),
            Decision.method == DecisionMethod.AGGREGATED,
        )
    )
    changes = []
    for decision_id, item_id, value in aggregated.all():
        labels = [label for label, _ in by_item.get(item_id, [])]
        values = [value for _, value in by_item.get(item_id, [])]
        proposal = policy.propose_with(project, labels, values, models)
        if proposal.value != value:
            changes.append((decision_id, item_id, labels, values, proposal))
    return changes


# Labels submitted per project since its last re-estimate, in this process.
_since_refresh: dict[uuid.UUID, int] = defaultdict(int)
_background: set[asyncio.Task[None]] = set()


def count_label(session: AsyncSession, project: Project) -> None:
    """Note a new label; once `refresh_every` have come in, re-estimate after this commit."""
    if project.aggregation is AggregationMethod.MAJORITY:
        return
    _since_refresh[project.id] += 1
    if _since_refresh[project.id] < project.refresh_every:
        return
    _since_refresh[project.id] = 0
    sessions = session.info.get(SESSIONS)
    if sessions is not None:
        after_commit(session, lambda: _start(sessions, project.id))


def _start(sessions: async_sessionmaker[AsyncSession], project_id: uuid.UUID) -> None:
    task = asyncio.get_running_loop().create_task(_refresh_in_background(sessions, project_id))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _refresh_in_background(sessions: async_sessionmaker[AsyncSession], project_id: uuid.UUID) -> None:
    """Fit in a read (the fit itself in a thread), then store in a short write: submits to the
    project wait for the write only, not for the EM."""
    try:
        async with sessions() as session:
            project = await session.get(Project, project_id)
            if project is None:
                return
            plan = await estimate(session, project, in_thread=True)
        async with unit_of_work(sessions, write=True) as session:
            project = await session.get(Project, project_id)
            if project is not None:
                await apply(session, project, plan)
    except Exception:  # a failed background estimate must not take the server down; the next one retries
        logger.exception("background quality refresh of project %s failed", project_id)


async def drain() -> None:
    """Wait for the re-estimates in flight (shutdown, and tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
