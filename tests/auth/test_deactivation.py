"""deactivateUser takes effect at once: the access and refresh tokens a person is using stop
working on the very next request (in another server process, once the PostgreSQL notice has
arrived), and what it held goes back to the queue. reactivateUser lets it sign in again, without
reviving the tokens of before."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.auth.models import AccountChange, User
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from app.workflow.models import Assignment, AssignmentStatus
from tests.auth.support import (
    DEACTIVATE,
    REACTIVATE,
    VIEWER,
    codes,
    password_sign_in,
    refresh,
    signed_in,
    with_token,
)
from tests.conftest import PASSWORD, Api, gid
from tests.security import CLAIM, assert_forbidden, import_items


@asynccontextmanager
async def second_process(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """Another server on the same database, with its own runtime (as a second uvicorn worker)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            yield client, application.state.runtime


async def notice_arrived(runtime: Runtime, user_id: uuid.UUID) -> None:
    """Wait (bounded) until the other process's cache dropped the identity: the notice is
    delivered at commit and handled when that process's loop reads it."""
    for _ in range(500):
        if user_id not in runtime.identities._entries:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the identity notice never arrived")


def reason(user: str, why: str = "Left the vendor.") -> dict[str, object]:
    return {"input": {"userId": user, "reason": why}}


async def test_deactivation_cuts_off_tokens_in_use_and_returns_the_work(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await import_items(api, project, ["a-1", "a-2"], as_="pm")
    session = await signed_in(api, "ann1", PASSWORD)
    access, refresh_token = session["access_token"], session["refresh_token"]
    claimed = await with_token(api, access, CLAIM, {"input": {"projectId": project}})
    task = claimed.json()["data"]["claimNextTask"]["assignment"]
    assert task["item"]["externalId"] == "a-1"

    assert (await with_token(api, access)).status_code == 200  # in use, its identity cached

    result = await api.data(DEACTIVATE, reason(gid("User", api.world.id("ann1"))), as_="admin")
    payload = result["deactivateUser"]
    assert payload["errors"] == []
    assert payload["user"]["status"] == "DEACTIVATED"
    assert (payload["signInsEnded"], payload["tasksReturned"]) == (1, 1)

    # The very next request.
    assert (await with_token(api, access)).status_code == 401
    assert (await refresh(api, refresh_token)).json()["error"] == "invalid_grant"
    assert (await password_sign_in(api, "ann1", PASSWORD)).json()["error"] == "invalid_grant"

    # The task went back: RELEASED, and the item is the next annotator's at once.
    async with api.runtime.sessions() as db:
        statuses = list(
            await db.scalars(select(Assignment.status).where(col(Assignment.annotator_id) == api.world.id("ann1")))
        )
        change = await db.scalar(select(AccountChange).where(col(AccountChange.user_id) == api.world.id("ann1")))
    assert statuses == [AssignmentStatus.RELEASED]
    assert change is not None
    assert change.reason == "Left the vendor."
    next_claim = await api.data(CLAIM, {"input": {"projectId": project}}, as_="ann2")
    assert next_claim["claimNextTask"]["assignment"]["item"]["externalId"] == "a-1"


async def test_another_server_process_drops_the_identity_on_the_notice(
    api: Api, settings: Settings, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one server process (docs/ARCHITECTURE.md): no other process to tell")
    access = (await signed_in(api, "ann1", PASSWORD))["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    async with second_process(settings) as (other, other_runtime):
        assert (await other.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code == 200
        assert api.world.id("ann1") in other_runtime.identities._entries  # cached there too

        result = await api.data(DEACTIVATE, reason(gid("User", api.world.id("ann1"))), as_="admin")
        assert result["deactivateUser"]["errors"] == []
        await notice_arrived(other_runtime, api.world.id("ann1"))
        assert (await other.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code == 401


async def test_reactivation_lets_the_person_back_but_not_its_old_tokens(api: Api) -> None:
    ann1 = gid("User", api.world.id("ann1"))
    old = (await signed_in(api, "ann1", PASSWORD))["access_token"]
    assert (await api.data(DEACTIVATE, reason(ann1), as_="admin"))["deactivateUser"]["errors"] == []

    back = await api.data(REACTIVATE, reason(ann1, "Rehired."), as_="admin")
    assert back["reactivateUser"]["user"]["status"] == "ACTIVE"
    assert (await with_token(api, old)).status_code == 401  # issued before the deactivation
    fresh = (await signed_in(api, "ann1", PASSWORD))["access_token"]
    response = await with_token(api, fresh)
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["username"] == "ann1"

    again = await api.data(REACTIVATE, reason(ann1), as_="admin")
    assert codes(again["reactivateUser"]) == ["NOT_DEACTIVATED"]


async def test_deactivation_refusals(api: Api) -> None:
    admin, bot, ann1 = (gid("User", api.world.id(name)) for name in ("admin", "mlbot", "ann1"))
    assert codes((await api.data(DEACTIVATE, reason(admin), as_="admin"))["deactivateUser"]) == ["SELF_DEACTIVATION"]
    assert codes((await api.data(DEACTIVATE, reason(bot), as_="admin"))["deactivateUser"]) == ["WRONG_IDENTITY_KIND"]
    assert codes((await api.data(DEACTIVATE, reason(ann1, ""), as_="admin"))["deactivateUser"]) == ["REQUIRED"]
    # Readable but not theirs to do: FORBIDDEN; unreadable: not found, as a missing id.
    assert_forbidden(await api.gql(DEACTIVATE, reason(ann1), as_="pm"))
    assert codes((await api.data(DEACTIVATE, reason(admin), as_="ann1"))["deactivateUser"]) == ["NOT_FOUND"]
    await api.data(DEACTIVATE, reason(ann1), as_="admin")
    assert codes((await api.data(DEACTIVATE, reason(ann1), as_="admin"))["deactivateUser"]) == ["ALREADY_DEACTIVATED"]
    async with api.runtime.sessions() as db:
        user = await db.get(User, api.world.id("ann1"))
    assert user is not None
    assert not user.is_active
    assert user.tokens_valid_after is not None


async def test_the_user_list_filters_by_status_and_kind(api: Api) -> None:
    """An admin console's "who is deactivated" and "which machines" views."""
    ann1 = gid("User", api.world.id("ann1"))
    assert (await api.data(DEACTIVATE, reason(ann1), as_="admin"))["deactivateUser"]["errors"] == []
    query = """
    query ($status: [UserStatus!], $kind: IdentityKind) {
      users(first: 100, status: $status, kind: $kind) { nodes { username status kind } }
    }"""

    async def listed(**variables: object) -> list[str]:
        nodes = (await api.data(query, variables, as_="admin"))["users"]["nodes"]
        return sorted(node["username"] for node in nodes)

    everyone = await listed()
    assert await listed(status=["DEACTIVATED"]) == ["ann1"]
    assert await listed(kind="SERVICE") == ["ingest", "metrics", "mlbot"]
    active_people = await listed(status=["ACTIVE"], kind="HUMAN")
    assert "ann1" not in active_people
    assert "admin" in active_people
    assert sorted(active_people + await listed(status=["DEACTIVATED"])) == await listed(kind="HUMAN")
    assert await listed(status=["ACTIVE", "DEACTIVATED"]) == everyone
