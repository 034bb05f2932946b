"""Review fix of auto-accept, on both databases: an item marked as a spot check is never decided by
the AUTO_ACCEPT move (its guard), so a racing push cannot auto-accept what another left to people."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from app.automation.models import SpotCheck
from app.db import unit_of_work
from app.errors import DomainError
from app.ingestion.models import Item, ItemStatus
from app.workflow import lifecycle
from app.workflow.lifecycle import Move
from tests.automation.support import row
from tests.automation.test_auto_accept import a_project, policy_set, pushed
from tests.conftest import Api
from tests.workflow.flow import imported, pk, rows


async def test_a_spot_check_item_is_not_auto_accepted(api: Api) -> None:
    project = await a_project(api, "spot checks stay with people")
    await policy_set(api, project, autoAcceptConfidence={"sentiment": 0.9}, spotCheckRate=1.0)
    await imported(api, project, rows(3))
    payload = await pushed(api, [row(f"item-{i}", "pos", 0.99) for i in range(3)], project=project, as_="pm")
    assert (payload["autoAccepted"], payload["spotChecks"]) == (0, 3)
    async with api.runtime.sessions() as session:
        marked = list(await session.scalars(select(SpotCheck.item_id).where(col(SpotCheck.project_id) == pk(project))))
    assert len(marked) == 3
    # A racing push reaching the move for a marked item: the guard refuses, the item stays queued.
    with pytest.raises(DomainError) as refused:
        async with unit_of_work(api.runtime.sessions, write=True) as session:
            await lifecycle.move(session, marked[0], Move.AUTO_ACCEPT)
    assert [p.code for p in refused.value.problems] == ["INVALID_TRANSITION"]
    async with api.runtime.sessions() as session:
        status = await session.scalar(select(Item.status).where(col(Item.id) == marked[0]))
    assert status is ItemStatus.QUEUED
