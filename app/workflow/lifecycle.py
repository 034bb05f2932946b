"""The item lifecycle: its states, the moves between them, and the one function that makes a move.

    QUEUED --claim / let go / label / need more--> QUEUED
    QUEUED --send to review--> IN_REVIEW --reject--> QUEUED
    QUEUED | IN_REVIEW | FINAL --escalate--> ESCALATED
    QUEUED | IN_REVIEW | ESCALATED --decide--> FINAL --redecide--> FINAL
    QUEUED --auto accept--> FINAL  (a model's confident suggestion, before any human label)
    ESCALATED --redecide--> FINAL  (an expert re-decides a FINAL item a QA auditor escalated)
    QUEUED | IN_REVIEW | ESCALATED | FINAL --withdraw--> WITHDRAWN  (its consent was revoked; no way back)

An item in QUEUED collects labels: `labels_required` counts those it still needs, live leases
included, so a claim is possible while `active_claims < labels_required`. Once it reaches 0 the
item is settled (app/workflow/decisions.py): decided, sent to review, given one more label
(dynamic overlap: `need more`) or escalated to an expert. Every service moves items through
`move`, one UPDATE that checks the state and the guard in the database and refuses any other
move with INVALID_TRANSITION, so two requests racing on one item cannot both move it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, exists, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select

from app.automation.models import SpotCheck
from app.clock import utcnow
from app.errors import DomainError
from app.ingestion.models import Item, ItemStatus


class Move(enum.StrEnum):
    CLAIM = "claim"  # an annotator leases the item
    LET_GO = "let go"  # a lease ends without a label (released or lapsed)
    LABEL = "label"  # a leased label arrives
    NEED_MORE = "need more"  # the labels in are not conclusive: ask for one more
    SEND_TO_REVIEW = "send to review"
    ESCALATE = "escalate"
    DECIDE = "decide"
    REJECT = "reject"  # a reviewer sends the item back for rework
    REDECIDE = "redecide"  # a later decision supersedes the one in force
    CLAIM_GOLD = "claim gold"  # an annotator leases a gold item (as many at once as ask: it is never decided)
    ANSWER_GOLD = "answer gold"  # a leased answer to a gold item arrives: scored, never counted
    # A confident suggestion decides an item no human has labeled (app/automation/auto_accept.py);
    # its live leases end (their tasks are cancelled in the same transaction).
    AUTO_ACCEPT = "auto accept"
    WITHDRAW = "withdraw"  # the subject revoked the consent the item was imported under (app/consent)


Q, R, E, F = ItemStatus.QUEUED, ItemStatus.IN_REVIEW, ItemStatus.ESCALATED, ItemStatus.FINAL
W = ItemStatus.WITHDRAWN

# (state, move) -> state. Every pair not listed is refused.
TRANSITIONS: Mapping[tuple[ItemStatus, Move], ItemStatus] = {
    (Q, Move.CLAIM): Q,
    (Q, Move.LET_GO): Q,
    (Q, Move.LABEL): Q,
    (Q, Move.NEED_MORE): Q,
    (Q, Move.SEND_TO_REVIEW): R,
    (Q, Move.ESCALATE): E,
    (Q, Move.DECIDE): F,
    (Q, Move.AUTO_ACCEPT): F,
    (R, Move.DECIDE): F,
    (R, Move.REJECT): Q,
    (R, Move.ESCALATE): E,  # a reviewer hands the item to an expert instead of deciding
    (E, Move.DECIDE): F,
    (E, Move.REDECIDE): F,
    (F, Move.REDECIDE): F,
    (Q, Move.CLAIM_GOLD): Q,
    (Q, Move.ANSWER_GOLD): Q,
    (F, Move.ESCALATE): E,  # a QA auditor doubts a decision in force
    # Out of every queue (claims, reviews, audits, escalations, gold and qualification questions),
    # from any state; WITHDRAWN is final: no move leaves it.
    (Q, Move.WITHDRAW): W,
    (R, Move.WITHDRAW): W,
    (E, Move.WITHDRAW): W,
    (F, Move.WITHDRAW): W,
}

_labels_in = col(Item.labels_required) == 0
# What must hold of the counters besides the state (a settling move needs every label in).
GUARDS: Mapping[Move, ColumnElement[bool]] = {
    Move.CLAIM: col(Item.active_claims) < col(Item.labels_required),
    Move.LET_GO: col(Item.active_claims) > 0,
    Move.CLAIM_GOLD: col(Item.gold).is_(True),
    Move.ANSWER_GOLD: (col(Item.active_claims) > 0) & col(Item.gold),
    Move.LABEL: (col(Item.active_claims) > 0) & (col(Item.labels_required) > 0),
    Move.NEED_MORE: _labels_in,
    Move.SEND_TO_REVIEW: _labels_in,
    Move.ESCALATE: _labels_in,
    Move.DECIDE: case((col(Item.status) == Q, _labels_in), else_=true()),
    # Not a spot check either: an item marked for humans (by a racing push) stays with them.
    Move.AUTO_ACCEPT: (col(Item.label_count) == 0)
    & col(Item.gold).is_(False)
    & ~exists().where(col(SpotCheck.item_id) == col(Item.id)),
}

REFUSAL = {
    Move.CLAIM: "has all the labels it needs leased or in",
    Move.LET_GO: "has no live lease",
    Move.CLAIM_GOLD: "is not a gold item",
    Move.ANSWER_GOLD: "is not a gold item with a live lease",
    Move.LABEL: "needs no further label",
    Move.AUTO_ACCEPT: "has human labels, is a gold item or is a spot check",
}


RETURNED: tuple[Any, ...] = (
    col(Item.status),
    col(Item.label_count),
    col(Item.labels_required),
    col(Item.active_claims),
    col(Item.finalized_at),
)


@dataclass(frozen=True)
class ItemState:
    id: uuid.UUID
    status: ItemStatus
    label_count: int
    labels_required: int
    active_claims: int


def _counters(move: Move, n: int, rework_for: uuid.UUID | None) -> dict[str, Any]:
    claims, labels, required = col(Item.active_claims), col(Item.label_count), col(Item.labels_required)
    if move in (Move.CLAIM, Move.CLAIM_GOLD):
        return {"active_claims": claims + n}
    if move in (Move.LET_GO, Move.ANSWER_GOLD):
        return {"active_claims": claims - n}
    if move is Move.LABEL:
        return {
            "active_claims": claims - 1,
            "label_count": labels + 1,
            "labels_required": required - 1,
            "rework_for": None,
        }
    if move is Move.NEED_MORE:
        return {"labels_required": required + n}
    if move is Move.REJECT:
        return {"label_count": labels - 1, "labels_required": required + 1, "rework_for": rework_for}
    if move in (Move.DECIDE, Move.REDECIDE):
        return {"finalized_at": utcnow()}
    if move is Move.AUTO_ACCEPT:
        return {"finalized_at": utcnow(), "active_claims": 0, "rework_for": None}
    if move is Move.WITHDRAW:
        # Its open assignments are cancelled in the same transaction (app/consent/service.py).
        return {"active_claims": 0, "rework_for": None}
    return {}


async def move(
    session: AsyncSession, item_id: uuid.UUID, step: Move, *, n: int = 1, rework_for: uuid.UUID | None = None
) -> ItemState:
    """Make one move on the item, or raise DomainError INVALID_TRANSITION (nothing written).

    `n` applies to CLAIM, LET_GO and NEED_MORE (several leases or labels at once); `rework_for`
    to REJECT (who gets the rework first). An Item already loaded in the session sees the change.
    """
    arrows = {state: target for (state, m), target in TRANSITIONS.items() if m is step}
    status = col(Item.status)
    stmt = (
        update(Item)
        .where(col(Item.id) == item_id, status.in_(list(arrows)), GUARDS.get(step, true()))
        .values(
            status=case(*((status == state, target) for state, target in arrows.items()), else_=status),
            **_counters(step, n, rework_for),
        )
        .returning(*RETURNED)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        current = await session.scalar(select(Item.status).where(col(Item.id) == item_id))
        raise DomainError.single(
            "INVALID_TRANSITION", _refusal(step, ItemStatus(current) if current else None), "itemId"
        )
    state = ItemState(item_id, ItemStatus(row[0]), row[1], row[2], row[3])
    loaded = session.sync_session.identity_map.get(identity_key(Item, item_id))
    if loaded is not None:
        for column, value in zip(RETURNED, row, strict=True):
            set_committed_value(loaded, column.key, value)
        if step in (Move.LABEL, Move.REJECT):
            set_committed_value(loaded, "rework_for", rework_for)
    return state


# The states a WITHDRAW move leaves from: every one but WITHDRAWN itself.
WITHDRAWABLE = [state for (state, m) in TRANSITIONS if m is Move.WITHDRAW]


async def withdraw_consented(session: AsyncSession, consent_ids: Sequence[uuid.UUID]) -> int:
    """WITHDRAW every item imported under these consent records, whatever its state; the number moved.

    One UPDATE per chunk. On PostgreSQL it takes each item's row lock, so it queues behind a
    claim holding one of them (which commits its assignment first, for the revocation to cancel)
    and a claim after it finds the item WITHDRAWN (SKIP LOCKED passes over it meanwhile; a claim
    that read it unlocked fails its own CLAIM move on the new state). SQLite writers are serialised.
    """
    return await _withdraw(session, col(Item.consent_id), consent_ids, WITHDRAWABLE)


async def withdraw_lapsed(session: AsyncSession, item_ids: Sequence[uuid.UUID]) -> int:
    """WITHDRAW these items, whose consent ran out (app/consent/lapse.py), whatever their state, as
    a revocation does: the consent no longer covers annotation, review or audit. At most CHUNK ids."""
    return await _withdraw(session, col(Item.id), item_ids, WITHDRAWABLE)


CHUNK = 900  # ids per IN () list: under SQLite's bound-parameter limit


async def withdraw_erased(session: AsyncSession, item_ids: Sequence[uuid.UUID]) -> int:
    """WITHDRAW the items whose content was just erased (app/erasure) unless they are FINAL: an
    undecided item has nothing left to label or review, while a decided one keeps its decision
    (and its place in exports, as a tombstone). Chunks of at most CHUNK ids; the number moved."""
    arrows = [state for state in WITHDRAWABLE if state is not F]
    return await _withdraw(session, col(Item.id), item_ids, arrows)


async def _withdraw(session: AsyncSession, key: Any, ids: Sequence[uuid.UUID], arrows: Sequence[ItemStatus]) -> int:
    """The WITHDRAW move on the items whose `key` column is one of `ids` and whose state is one of
    `arrows`, one UPDATE per CHUNK ids; the number moved."""
    moved = 0
    for start in range(0, len(ids), CHUNK):
        result = await session.execute(
            update(Item)
            .where(key.in_(ids[start : start + CHUNK]), col(Item.status).in_(arrows))
            .values(status=W, **_counters(Move.WITHDRAW, 1, None))
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount  # type: ignore[attr-defined]
    return moved


def _refusal(step: Move, current: ItemStatus | None) -> str:
    if current is None:
        return "No such item."
    if (current, step) in TRANSITIONS:
        return f"This item {REFUSAL.get(step, 'is still collecting its labels')}."
    return f"An item that is {current.value} cannot {step.value}."
