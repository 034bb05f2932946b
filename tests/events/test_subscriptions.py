"""GraphQL subscriptions over a real WebSocket (graphql-transport-ws): a server on a loopback port
(uvicorn, with its own runtime, as a second server process would be) and the `websockets`
client. Changes made through the test's other runtime reach it by polling the outbox."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.main import create_app
from tests.conftest import Api, gid
from tests.events.support import serving
from tests.security import GRANT, REVOKE, claim_and_submit, import_items
from tests.security.test_authorization_matrix import ALLOW, DENY, HIDDEN, ROLES, Outcome

EVENTS = """
subscription Events($projectId: ID!, $kinds: [EventKind!], $after: Int) {
  projectEvents(projectId: $projectId, kinds: $kinds, afterSequence: $after) { id kind sequence projectId data }
}
"""
# Who may subscribe to project A's events: the roles that read its work. Annotators (who see
# items only through their own tasks) and the ingestion service are FORBIDDEN; an outsider, who
# cannot read the project, gets NOT_FOUND exactly as for a project that does not exist.
# fmt: off
SUBSCRIPTION_MATRIX: dict[str, tuple[Outcome, ...]] = {
    #                       admin  pm     ann1  reviewer qa    expert compliance mlbot outsider ingest metrics
    "projectEvents":       (ALLOW, ALLOW, DENY, ALLOW,  ALLOW, ALLOW, ALLOW,  ALLOW, HIDDEN, DENY,  HIDDEN),
}
# fmt: on


@dataclasses.dataclass
class Server:
    port: int
    app: Any
    api: Api  # the test's own runtime (HTTP through ASGI), writing to the same database

    def token(self, username: str) -> str:
        return str(self.app.state.runtime.tokens.issue(self.api.world.id(username), "tests"))

    @property
    def uri(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @asynccontextmanager
    async def socket(self, username: str, *, header: bool = False) -> AsyncIterator[Subscriber]:
        token = self.token(username)
        if header:
            options: dict[str, Any] = {
                "subprotocols": ["graphql-transport-ws"],
                "additional_headers": {"Authorization": f"Bearer {token}"},
            }
        else:
            options = {"subprotocols": ["graphql-transport-ws", f"bearer.{token}"]}
        async with connect(self.uri, **options) as ws:
            assert ws.subprotocol == "graphql-transport-ws"
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv()) == {"type": "connection_ack"}
            yield Subscriber(ws)


@dataclasses.dataclass
class Subscriber:
    ws: ClientConnection

    async def subscribe(self, op: str, variables: dict[str, Any], query: str = EVENTS) -> None:
        await self.ws.send(
            json.dumps({"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}})
        )

    async def next(self, wait_s: float = 10) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), wait_s))
        return message


@pytest.fixture
async def server(api: Api) -> AsyncIterator[Server]:
    app = create_app(dataclasses.replace(api.runtime.settings, events_poll_s=0.1))
    async with serving(app, lifespan="on") as port:
        yield Server(port, app, api)


def outcome(message: dict[str, Any]) -> Outcome:
    assert message["type"] == "next", message
    payload = message["payload"]
    if payload.get("errors"):
        codes = {e["extensions"]["code"] for e in payload["errors"]}
        assert codes in ({"FORBIDDEN"}, {"NOT_FOUND"}), payload
        return DENY if codes == {"FORBIDDEN"} else HIDDEN
    assert payload["data"]["projectEvents"]["kind"] == "ITEMS_IMPORTED", payload
    return ALLOW


async def test_a_subscriber_receives_each_event_as_it_commits(server: Server) -> None:
    project = gid("Project", server.api.world.project_a)
    async with server.socket("pm") as pm:
        await pm.subscribe("1", {"projectId": project, "kinds": ["ITEMS_IMPORTED", "LABEL_SUBMITTED"]})
        await asyncio.sleep(0.3)  # subscribed before the change
        await import_items(server.api, project, ["a-1", "a-2"], as_="pm")  # through the other runtime
        imported = await pm.next()
        labeled = await claim_and_submit(server.api, project, "ann1", "pos")
        submitted = await pm.next()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            local = Api(client, server.app, server.api.world)
            await import_items(local, project, ["a-3"], as_="pm")  # through the server itself
        again = await pm.next()

    shown = imported["payload"]["data"]["projectEvents"]
    assert (imported["id"], shown["kind"], shown["projectId"], shown["data"]["count"]) == (
        "1",
        "ITEMS_IMPORTED",
        project,
        2,
    )
    label = submitted["payload"]["data"]["projectEvents"]
    assert label["kind"] == "LABEL_SUBMITTED"  # its ITEM_DECIDED or review is not among the kinds asked
    assert label["data"]["labelId"] == labeled["label"]
    assert label["sequence"] > shown["sequence"]
    assert again["payload"]["data"]["projectEvents"]["data"]["count"] == 1


async def test_after_sequence_replays_the_outbox_then_goes_on_live(server: Server) -> None:
    project = gid("Project", server.api.world.project_a)
    await import_items(server.api, project, ["a-1"], as_="pm")
    await import_items(server.api, project, ["a-2"], as_="pm")
    async with server.socket("mlbot", header=True) as bot:  # the Authorization header works too
        await bot.subscribe("r", {"projectId": project, "after": 1})
        replayed = await bot.next()
        await import_items(server.api, project, ["a-3"], as_="pm")
        live = await bot.next()
    sequences = [m["payload"]["data"]["projectEvents"]["sequence"] for m in (replayed, live)]
    assert sequences == [2, 3]


async def test_subscribing_is_authorized_like_the_queries(server: Server, subtests: pytest.Subtests) -> None:
    project = gid("Project", server.api.world.project_a)
    await import_items(server.api, project, ["a-1"], as_="pm")
    for role in ROLES:
        with subtests.test(role):
            async with server.socket(role) as caller:
                await caller.subscribe("s", {"projectId": project, "after": 0})
                got = outcome(await caller.next())
            assert got == SUBSCRIPTION_MATRIX["projectEvents"][ROLES.index(role)], role


async def test_a_project_one_cannot_read_is_refused_like_a_missing_one(server: Server) -> None:
    unreadable = gid("Project", server.api.world.project_b)
    missing = gid("Project", uuid.uuid4())
    await import_items(server.api, unreadable, ["b-1"], as_="pm_b")  # B has events; pm must not learn it
    answers = []
    async with server.socket("pm") as pm:
        for op, project in (("b", unreadable), ("m", missing)):
            await pm.subscribe(op, {"projectId": project, "after": 0})
            refused = await pm.next()
            assert await pm.next() == {"id": op, "type": "complete"}
            answers.append(json.dumps(refused).replace(project, "<id>").replace(f'"{op}"', '"<op>"'))
    assert answers[0] == answers[1]
    assert '"NOT_FOUND"' in answers[0]


async def test_a_subscription_ends_when_the_subscriber_loses_its_role(server: Server) -> None:
    project = gid("Project", server.api.world.project_a)
    role = {"userId": gid("User", server.api.world.id("reviewer")), "role": "REVIEWER", "projectId": project}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        local = Api(client, server.app, server.api.world)  # the server's own Authorizer hears of it
        async with server.socket("reviewer") as reviewer:
            await reviewer.subscribe("s", {"projectId": project})
            await asyncio.sleep(0.3)
            await import_items(local, project, ["a-1"], as_="pm")
            assert (await reviewer.next())["payload"]["data"]["projectEvents"]["kind"] == "ITEMS_IMPORTED"
            revoked = await local.data(REVOKE, {"input": role}, as_="pm")
            assert revoked["revokeRole"]["errors"] == []
            await import_items(local, project, ["a-2"], as_="pm")
            ended = await reviewer.next()
            assert await reviewer.next() == {"id": "s", "type": "complete"}
        granted = await local.data(GRANT, {"input": role}, as_="pm")
        assert granted["grantRole"]["errors"] == []
    assert [e["extensions"]["code"] for e in ended["payload"]["errors"]] == ["NOT_FOUND"]


async def test_without_a_valid_token_the_handshake_is_refused(server: Server) -> None:
    for protocols in (["graphql-transport-ws"], ["graphql-transport-ws", "bearer.not-a-token"]):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.uri, subprotocols=protocols):
                pass
        assert refused.value.response.status_code == 403


async def test_queries_go_over_http_and_subscriptions_over_websocket(server: Server) -> None:
    async with server.socket("pm") as pm:
        await pm.subscribe("q", {}, query="query { viewer { username } }")
        refused = await pm.next()
    assert refused["type"] == "error"
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["BAD_REQUEST"]
    project = gid("Project", server.api.world.project_a)
    over_http = await server.api.raw(EVENTS, {"projectId": project}, as_="pm")
    assert over_http.status_code == 400
