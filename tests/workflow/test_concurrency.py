"""Concurrent claims: many claimNextTask calls at once, from several annotators, through the
ASGI app. Whatever the interleaving, no item is leased past its overlap, no annotator gets an
item twice, and nobody holds two live tasks. PostgreSQL relies on FOR UPDATE SKIP LOCKED,
SQLite on BEGIN IMMEDIATE; both must hold the same invariants, read from the assignment table.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from app.workflow.models import Assignment, AssignmentStatus
from tests.conftest import Api, gid
from tests.workflow.flow import (
    POSITIVE,
    acknowledge,
    assignments,
    claim,
    create_project,
    grant,
    imported,
    item_counts,
    pk,
    rows,
    submit,
)

OVERLAP = 2
ITEMS = 3
ANNOTATORS = ["ann1", "ann2", "ann3", "ann_b", "expert", "outsider"]
CLAIMS_EACH = 4


async def busy_project(api: Api) -> str:
    project = await create_project(api, "Busy", overlap=OVERLAP)
    for name in ANNOTATORS[3:]:
        await grant(api, name, "ANNOTATOR", project)
        await acknowledge(api, project, 1, as_=name)
    await imported(api, project, rows(ITEMS))
    return project


def username(api: Api, row: Assignment) -> str:
    return next(name for name, user in api.world.users.items() if user.id == row.annotator_id)


async def storm(api: Api, project: str, names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every name claims CLAIMS_EACH times, all requests in flight together."""
    callers = [name for name in names for _ in range(CLAIMS_EACH)]
    payloads = await asyncio.gather(*(claim(api, project, as_=name) for name in callers))
    return list(zip(callers, payloads, strict=True))


def check_invariants(table: list[Assignment]) -> None:
    holding = Counter(a.item_id for a in table if a.status is not AssignmentStatus.EXPIRED)
    assert max(holding.values(), default=0) <= OVERLAP, f"an item went out past its overlap: {holding}"
    pairs = Counter((a.item_id, a.annotator_id) for a in table)
    assert max(pairs.values(), default=0) == 1, f"an annotator got an item twice: {pairs}"
    live = Counter(a.annotator_id for a in table if a.status is AssignmentStatus.ACTIVE)
    assert max(live.values(), default=0) <= 1, f"an annotator holds two live tasks: {live}"


def check_answers(answers: list[tuple[str, dict[str, Any]]], table: list[Assignment]) -> None:
    """Each caller was told about one task at most, and every task handed out is in the table."""
    by_id = {a.id: a for a in table}
    told: dict[str, set[str]] = {}
    for name, payload in answers:
        if payload["errors"]:
            assert [e["code"] for e in payload["errors"]] == ["QUEUE_EMPTY"], payload
            continue
        told.setdefault(name, set()).add(payload["assignment"]["id"])
    for name, ids in told.items():
        assert len(ids) == 1, f"{name} was handed {len(ids)} different tasks at once"
        row = by_id[pk(ids.pop())]
        assert row.status is AssignmentStatus.ACTIVE


async def test_a_storm_of_claims_never_exceeds_overlap(api: Api) -> None:
    project = await busy_project(api)

    answers = await storm(api, project, ANNOTATORS)

    table = await assignments(api, project)
    check_invariants(table)
    check_answers(answers, table)
    assert len(table) == len({name for name, payload in answers if not payload["errors"]})


async def test_rounds_of_concurrent_claims_and_submits_label_every_item_overlap_times(api: Api) -> None:
    project = await busy_project(api)

    for _ in range(10):
        answers = await storm(api, project, ANNOTATORS)
        table = await assignments(api, project)
        check_invariants(table)
        check_answers(answers, table)
        live = [a for a in table if a.status is AssignmentStatus.ACTIVE]
        if not live and all(payload["errors"] for _, payload in answers):
            break
        submitted = await asyncio.gather(
            *(submit(api, gid("Assignment", a.id), POSITIVE, as_=username(api, a)) for a in live)
        )
        assert all(payload["errors"] == [] for payload in submitted), submitted

    table = await assignments(api, project)
    labeled_by = Counter(a.item_id for a in table if a.status is AssignmentStatus.SUBMITTED)
    assert sorted(labeled_by.values()) == [OVERLAP] * ITEMS
    assert await item_counts(api, project) == {"queued": 0, "inReview": ITEMS, "final": 0, "total": ITEMS}


async def test_one_annotator_claiming_many_times_at_once_gets_one_task(api: Api) -> None:
    project = await busy_project(api)

    answers = await storm(api, project, ["ann1"] * 3)

    table = await assignments(api, project)
    assert len(table) == 1, f"{len(table)} tasks for one annotator"
    assert {payload["assignment"]["id"] for _, payload in answers} == {gid("Assignment", table[0].id)}
    assert sum(not payload["resumed"] for _, payload in answers) == 1
