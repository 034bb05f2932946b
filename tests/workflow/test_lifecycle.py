"""The item lifecycle (app/workflow/lifecycle.py), walked pair by pair on both databases: every
(state, move) in the table works and lands where the table says, with its counters moved; every
other pair is refused with INVALID_TRANSITION and leaves the row as it was."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.errors import DomainError
from app.ingestion.models import Item, ItemStatus
from app.workflow import lifecycle
from app.workflow.lifecycle import TRANSITIONS, Move
from tests.conftest import Api
from tests.workflow.flow import imported, pk, project_a, rows

# Counters that satisfy each move's guard, so a refusal below can only come from the state.
READY: dict[Move, dict[str, int]] = {
    Move.CLAIM: {"labels_required": 2, "active_claims": 1, "label_count": 0},
    Move.LET_GO: {"labels_required": 2, "active_claims": 1, "label_count": 0},
    Move.LABEL: {"labels_required": 2, "active_claims": 1, "label_count": 0},
    Move.ANSWER_GOLD: {"labels_required": 2, "active_claims": 1, "label_count": 0, "gold": True},
    # Every needed label leased: a gold item is claimed all the same (nobody decides it).
    Move.CLAIM_GOLD: {"labels_required": 1, "active_claims": 1, "label_count": 0, "gold": True},
    # No human label yet, a lease out: auto-accept decides it all the same and ends the lease.
    Move.AUTO_ACCEPT: {"labels_required": 2, "active_claims": 1, "label_count": 0},
}
SETTLED = {"labels_required": 0, "active_claims": 0, "label_count": 2}
# What each legal move does to (labels_required, active_claims, label_count).
EFFECT: dict[Move, tuple[int, int, int]] = {
    Move.CLAIM: (0, 1, 0),
    Move.CLAIM_GOLD: (0, 1, 0),
    Move.LET_GO: (0, -1, 0),
    Move.ANSWER_GOLD: (0, -1, 0),  # the answer is scored, not counted: the gold item stays as it was
    Move.LABEL: (-1, -1, 1),
    Move.NEED_MORE: (1, 0, 0),
    Move.REJECT: (1, 0, -1),
    Move.AUTO_ACCEPT: (0, -1, 0),
}


async def an_item(api: Api) -> uuid.UUID:
    project = project_a(api)
    await imported(api, project, rows(1, prefix=f"walk-{uuid.uuid4().hex[:8]}"))
    async with api.runtime.sessions() as session:
        found = await session.scalars(select(Item.id).where(Item.project_id == pk(project)).order_by(col(Item.id)))
        return list(found)[-1]


async def put(api: Api, item_id: uuid.UUID, status: ItemStatus, counters: dict[str, int]) -> None:
    async with api.runtime.sessions() as session:
        await session.execute(update(Item).where(col(Item.id) == item_id).values(status=status, **counters))
        await session.commit()


async def read(api: Api, item_id: uuid.UUID) -> dict[str, Any]:
    async with api.runtime.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return {
            "status": item.status,
            "labels_required": item.labels_required,
            "active_claims": item.active_claims,
            "label_count": item.label_count,
        }


@pytest.mark.parametrize(("state", "step"), list(itertools.product(ItemStatus, Move)), ids=str)
async def test_every_pair_of_the_table(api: Api, state: ItemStatus, step: Move) -> None:
    item_id = await an_item(api)
    counters = READY.get(step, SETTLED)
    await put(api, item_id, state, counters)
    before = await read(api, item_id)

    async with api.runtime.sessions() as session:
        try:
            moved = await lifecycle.move(session, item_id, step, rework_for=uuid.uuid4())
        except DomainError as refused:
            await session.rollback()
            outcome: Any = refused
        else:
            await session.commit()
            outcome = moved

    after = await read(api, item_id)
    if (state, step) not in TRANSITIONS:
        assert isinstance(outcome, DomainError)
        assert [(p.code, p.field) for p in outcome.problems] == [("INVALID_TRANSITION", "itemId")]
        assert state.value in outcome.problems[0].message
        assert after == before
        return
    assert not isinstance(outcome, DomainError), outcome.problems
    required, claims, labels = EFFECT.get(step, (0, 0, 0))
    assert after == {
        "status": TRANSITIONS[state, step],
        "labels_required": counters["labels_required"] + required,
        "active_claims": counters["active_claims"] + claims,
        "label_count": counters["label_count"] + labels,
    }
    assert outcome.status is TRANSITIONS[state, step]


@pytest.mark.parametrize(
    ("step", "counters"),
    [
        (Move.CLAIM, {"labels_required": 1, "active_claims": 1, "label_count": 0}),  # every needed label leased
        (Move.LET_GO, {"labels_required": 1, "active_claims": 0, "label_count": 0}),  # no lease to end
        (Move.LABEL, {"labels_required": 1, "active_claims": 0, "label_count": 0}),  # no lease to fill
        (Move.DECIDE, {"labels_required": 1, "active_claims": 1, "label_count": 1}),  # a label still out
        (Move.SEND_TO_REVIEW, {"labels_required": 1, "active_claims": 0, "label_count": 1}),
        (Move.ESCALATE, {"labels_required": 1, "active_claims": 0, "label_count": 1}),
        (Move.NEED_MORE, {"labels_required": 1, "active_claims": 0, "label_count": 1}),
        (Move.ANSWER_GOLD, {"labels_required": 1, "active_claims": 1, "label_count": 0}),  # not a gold item
        (Move.CLAIM_GOLD, {"labels_required": 2, "active_claims": 0, "label_count": 0}),  # not a gold item
        (Move.AUTO_ACCEPT, {"labels_required": 1, "active_claims": 0, "label_count": 1}),  # a human label in
    ],
    ids=str,
)
async def test_a_legal_state_with_the_counters_against_it_is_refused(
    api: Api, step: Move, counters: dict[str, int]
) -> None:
    item_id = await an_item(api)
    await put(api, item_id, ItemStatus.QUEUED, counters)

    async with api.runtime.sessions() as session:
        with pytest.raises(DomainError) as refused:
            await lifecycle.move(session, item_id, step)

    assert [p.code for p in refused.value.problems] == ["INVALID_TRANSITION"]
    assert await read(api, item_id) == {"status": ItemStatus.QUEUED, **counters}


async def test_a_gold_answer_needs_a_live_lease(api: Api) -> None:
    item_id = await an_item(api)
    await put(api, item_id, ItemStatus.QUEUED, {"labels_required": 1, "active_claims": 0, "gold": True})

    async with api.runtime.sessions() as session:
        with pytest.raises(DomainError) as refused:
            await lifecycle.move(session, item_id, Move.ANSWER_GOLD)

    assert [p.code for p in refused.value.problems] == ["INVALID_TRANSITION"]


async def test_a_missing_item_is_refused_as_missing(api: Api) -> None:
    async with api.runtime.sessions() as session:
        with pytest.raises(DomainError) as refused:
            await lifecycle.move(session, uuid.uuid4(), Move.CLAIM)
    assert refused.value.problems[0].message == "No such item."
