"""Re-estimating a project's annotators, and re-deciding what the new estimates change.

WEIGHTED weighs each vote by the annotator's accuracy against the decisions in force (Laplace-
smoothed: (correct + 1) / (compared + 2)). DAWID_SKENE fits a confusion matrix per annotator and
a class prior by EM over every counted label of the field (app/quality/aggregation.py). Between
re-estimates a submit aggregates the item with the stored estimates (app/quality/consensus.py),
so it costs one small read, not an EM run.

A re-estimate runs on `refreshQuality` and in the background after about `refresh_every` new
labels of the project (counted in this process: a restart starts the count again). Items the
aggregation decided alone (AGGREGATED) are aggregated again under the new estimates; where the
value changes, a new decision version supersedes the old one. Human decisions stand.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.db import SESSIONS, after_commit, unit_of_work
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.quality.aggregation import dawid_skene
from app.quality.consensus import FieldModel, canonical
from app.quality.ratings import Ratings
from app.workflow import decisions
from app.workflow.models import AggregationMethod, Decision, DecisionMethod, Label, LabelStatus, QualityModel

logger = logging.getLogger("labelgraph.quality")

REFRESH_QUALITY = Operation("refreshQuality", Permission("quality", "refresh"), audit="quality.refresh")

DS_MAX_ITER = 100
DS_TOL = 1e-5


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


async def refresh(session: AsyncSession, project: Project) -> Refreshed:
    """Estimate again from every counted label, store it, and re-decide what it changes."""
    if project.aggregation is AggregationMethod.MAJORITY:
        return Refreshed(project, 0, 0, 0)
    labels = list(
        await session.scalars(
            select(Label)
            .where(Label.project_id == project.id, Label.status != LabelStatus.REJECTED)
            .order_by(col(Label.id))
        )
    )
    values = await decisions.current_values(session, project, labels)
    rows: dict[str, list[tuple[uuid.UUID, str, str]]] = defaultdict(list)
    for label, value in zip(labels, values, strict=True):
        for name in value:
            rows[name].append((label.item_id, str(label.author_id), canonical(value.get(name))))
    estimates = (
        await _ds_estimates(rows)
        if project.aggregation is AggregationMethod.DAWID_SKENE
        else await _accuracy_estimates(session, project, rows)
    )
    await session.execute(delete(QualityModel).where(col(QualityModel.project_id) == project.id))
    now = utcnow()
    for name, model in estimates.items():
        session.add(
            QualityModel(
                project_id=project.id,
                field=name,
                method=project.aggregation,
                classes=list(model.classes),
                prior=[float(p) for p in model.prior],
                annotators={
                    author: {
                        "accuracy": model.accuracy.get(author),
                        "confusion": model.confusion[author].tolist() if author in model.confusion else None,
                    }
                    for author in sorted(set(model.accuracy) | set(model.confusion))
                },
                labels_used=len(rows[name]),
                estimated_at=now,
            )
        )
    await session.flush()
    by_item: dict[uuid.UUID, list[tuple[Label, dict[str, Any]]]] = defaultdict(list)
    for label, value in zip(labels, values, strict=True):
        by_item[label.item_id].append((label, value))
    redecided = await _redecide(session, project, estimates, by_item)
    return Refreshed(project, len(estimates), len(labels), redecided)


async def load(session: AsyncSession, project: Project) -> dict[str, FieldModel]:
    """The stored estimates of the project's current method (none yet: empty)."""
    found = await session.scalars(
        select(QualityModel).where(QualityModel.project_id == project.id, QualityModel.method == project.aggregation)
    )
    models: dict[str, FieldModel] = {}
    for row in found:
        accuracy = {a: float(v["accuracy"]) for a, v in row.annotators.items() if v.get("accuracy") is not None}
        confusion = {a: np.asarray(v["confusion"]) for a, v in row.annotators.items() if v.get("confusion")}
        models[row.field] = FieldModel(tuple(row.classes), np.asarray(row.prior), accuracy, confusion)
    return models


async def _ds_estimates(rows: dict[str, list[tuple[uuid.UUID, str, str]]]) -> dict[str, FieldModel]:
    models: dict[str, FieldModel] = {}
    for name, triples in rows.items():
        ratings = Ratings.from_rows(triples)
        if ratings.n_classes < 2:
            continue
        fit = dawid_skene(ratings, max_iter=DS_MAX_ITER, tol=DS_TOL)
        assert fit.confusion is not None
        assert fit.prior is not None
        accuracy = fit.annotator_accuracy_estimate()
        assert accuracy is not None
        authors = [str(a) for a in ratings.annotator_ids]
        models[name] = FieldModel(
            classes=tuple(str(c) for c in ratings.classes),
            prior=fit.prior,
            accuracy={a: float(accuracy[i]) for i, a in enumerate(authors)},
            confusion={a: fit.confusion[i] for i, a in enumerate(authors)},
        )
    return models


async def _accuracy_estimates(
    session: AsyncSession, project: Project, rows: dict[str, list[tuple[uuid.UUID, str, str]]]
) -> dict[str, FieldModel]:
    final = {
        d.item_id: d.value
        for d in await session.scalars(
            select(Decision).where(Decision.project_id == project.id, col(Decision.superseded_at).is_(None))
        )
    }
    models: dict[str, FieldModel] = {}
    for name, triples in rows.items():
        compared: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item_id, author, key in triples:
            if item_id in final:
                tally = compared[author]
                tally[0] += key == canonical(final[item_id].get(name))
                tally[1] += 1
        classes = tuple(sorted({key for _, _, key in triples}))
        models[name] = FieldModel(
            classes=classes,
            prior=np.full(len(classes), 1 / len(classes)),
            accuracy={a: (c + 1) / (n + 2) for a, (c, n) in compared.items()},
            confusion={},
        )
    return models


async def _redecide(
    session: AsyncSession,
    project: Project,
    models: dict[str, FieldModel],
    by_item: dict[uuid.UUID, list[tuple[Label, dict[str, Any]]]],
) -> int:
    """Aggregate again, with the labels the estimate was made from (an AGGREGATED item's labels are
    all unreviewed, so they are its counted labels), each item whose decision the aggregation made."""
    from app.workflow import policy

    aggregated = list(
        await session.scalars(
            select(Decision).where(
                Decision.project_id == project.id,
                col(Decision.superseded_at).is_(None),
                Decision.method == DecisionMethod.AGGREGATED,
            )
        )
    )
    changed = 0
    for decision in aggregated:
        labels = [label for label, _ in by_item.get(decision.item_id, [])]
        values = [value for _, value in by_item.get(decision.item_id, [])]
        proposal = policy.propose_with(project, labels, values, models)
        if proposal.value == decision.value:
            continue
        await decisions.record(
            session,
            project,
            decision.item_id,
            value=proposal.value,
            method=DecisionMethod.AGGREGATED,
            confidence=proposal.confidence,
            labels=labels,
            values=values,
            proposal=proposal,
        )
        changed += 1
    return changed


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
    try:
        async with unit_of_work(sessions, write=True) as session:
            project = await session.get(Project, project_id)
            if project is not None:
                await refresh(session, project)
    except Exception:  # a failed background estimate must not take the server down; the next one retries
        logger.exception("background quality refresh of project %s failed", project_id)


async def drain() -> None:
    """Wait for the re-estimates in flight (shutdown, and tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
