"""`labelgraph events dispatch --once`: an operator's (or a separate process's) pass over the outbox."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import SECRET_KEY, Api, gid
from tests.events.support import deliveries, receiver, register
from tests.security import import_items


async def test_dispatch_once_sends_what_is_due_and_says_what_happened(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    env = {
        "LABELGRAPH_DATABASE_URL": api.runtime.settings.database_url,
        "LABELGRAPH_SECRET_KEY": SECRET_KEY,  # the webhook key is derived from it, as in the server
        "LABELGRAPH_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    async with receiver() as hook:
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        hook.secret = registered["signingSecret"]
        await import_items(api, project, ["a-1"], as_="pm")
        await import_items(api, project, ["a-2"], as_="pm")
        # The command runs its own event loop; the receiver keeps answering on this one meanwhile.
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["events", "dispatch", "--once"], env=env)
        again = await asyncio.to_thread(CliRunner().invoke, cli, ["events", "dispatch", "--once"], env=env)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "attempted 2: delivered 2, retrying 0, failed 0"
    assert again.output.strip() == "attempted 0: delivered 0, retrying 0, failed 0"
    assert [r.verified for r in hook.received] == [True, True]
    assert {d["status"] for d in await deliveries(api, project)} == {"SUCCEEDED"}
