"""On PostgreSQL every server process sees a grant made by another one, without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from app.auth.actor import Actor
from app.db import unit_of_work
from app.policies.roles import Role
from app.policies.service import grant_role, revoke_role
from app.runtime import Runtime
from app.settings import Settings
from tests.conftest import World

# Only PostgreSQL runs several server processes on one database.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def until(condition: Callable[[], bool], *, within_s: float = 10.0) -> bool:
    """Poll a condition; a notice crosses processes asynchronously."""
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_grant_in_one_process_reaches_the_others(settings: Settings, world: World) -> None:
    first, second = await Runtime.start(settings), await Runtime.start(settings)
    try:
        admin = world.users["admin"]
        actor = Actor(admin.id, admin.username, admin.kind, first.authorizer)
        outsider = world.id("outsider")
        assert not second.authorizer.allowed(outsider, "task", "claim", world.project_a)

        async with unit_of_work(first.sessions, write=True) as session:
            await grant_role(session, actor, outsider, Role.ANNOTATOR, world.project_a)
        assert await until(lambda: second.authorizer.allowed(outsider, "task", "claim", world.project_a))

        async with unit_of_work(first.sessions, write=True) as session:
            await revoke_role(session, actor, outsider, Role.ANNOTATOR, world.project_a)
        assert await until(lambda: not second.authorizer.allowed(outsider, "task", "claim", world.project_a))
    finally:
        await first.stop()
        await second.stop()


async def test_a_rolled_back_grant_sends_no_notice(settings: Settings, world: World) -> None:
    first, second = await Runtime.start(settings), await Runtime.start(settings)
    try:
        admin = world.users["admin"]
        actor = Actor(admin.id, admin.username, admin.kind, first.authorizer)

        async def grant_then_fail() -> None:
            async with unit_of_work(first.sessions, write=True) as session:
                await grant_role(session, actor, world.id("outsider"), Role.REVIEWER, world.project_a)
                raise RuntimeError("the request failed after the grant")

        with pytest.raises(RuntimeError):
            await grant_then_fail()
        # A committed change afterwards is the first (and only) notice the other process gets.
        async with unit_of_work(first.sessions, write=True) as session:
            await grant_role(session, actor, world.id("ann_b"), Role.ANNOTATOR, world.project_a)
        assert second.watcher is not None
        watcher = second.watcher
        assert await until(lambda: watcher.reloads >= 1)
        assert watcher.reloads == 1
        assert not second.authorizer.allowed(world.id("outsider"), "label", "review", world.project_a)
    finally:
        await first.stop()
        await second.stop()
