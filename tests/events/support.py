"""A real webhook receiver on a loopback port (uvicorn serving a Starlette app inside the test),
and the GraphQL documents the events tests send."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.conftest import Api

REGISTER = """
mutation Register($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) { webhook { id url events active } signingSecret errors { code field message } }
}
"""
UPDATE = """
mutation Update($input: UpdateWebhookInput!) {
  updateWebhook(input: $input) { webhook { id events active } errors { code field message } }
}
"""
DELETE = """
mutation Delete($input: DeleteWebhookInput!) {
  deleteWebhook(input: $input) { deletedWebhookId errors { code field message } }
}
"""
REDELIVER = """
mutation Redeliver($input: RedeliverWebhookDeliveryInput!) {
  redeliverWebhookDelivery(input: $input) { delivery { id status attempts } errors { code field message } }
}
"""
DELIVERIES = """
query Deliveries($id: ID!) {
  project(id: $id) {
    webhooks {
      id
      deliveries {
        nodes {
          id status attempts nextAttemptAt lastStatusCode lastErrorCode deliveredAt
          event { id kind sequence data }
          log { attempt startedAt statusCode durationMs nextRetryAt error { code message } }
        }
      }
    }
  }
}
"""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


def signature_ok(secret: str, header: str, body: bytes, now: float) -> bool:
    """The receiver's side, written from the documented format (not from app/events/signing.py):
    `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" keyed by the secret's text>`."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts["v1"], expected) and abs(now - int(parts["t"])) < 300


@dataclass
class Receiver:
    """Answers each POST with the next status of `statuses` (then 200), 401 for a bad signature."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    delay_s: float = 0.0  # answer this late (a slow receiver)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/labelgraph"

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        verified = bool(self.secret) and signature_ok(
            self.secret, request.headers.get("labelgraph-signature", "t=0,v1="), body, time.time()
        )
        self.received.append(Received(dict(request.headers), body, verified))
        self.arrived.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not verified:
            return Response(status_code=401)
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    def app(self) -> ASGIApp:
        return Starlette(routes=[Route("/hooks/labelgraph", self.endpoint, methods=["POST"])])


@asynccontextmanager
async def serving(app: ASGIApp, *, lifespan: str = "off") -> AsyncIterator[int]:
    """Serve an ASGI app with uvicorn on a free loopback port for the block; yields the port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan=lifespan, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve())  # not serve(): it would take over the signal handlers
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the server did not start"
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    receiving = Receiver()
    async with serving(receiving.app()) as port:
        receiving.port = port
        yield receiving


async def register(api: Api, project: str, url: str, events: list[str], *, as_: str = "pm") -> dict[str, Any]:
    data = await api.data(REGISTER, {"input": {"projectId": project, "url": url, "events": events}}, as_=as_)
    result: dict[str, Any] = data["registerWebhook"]
    return result


async def deliveries(api: Api, project: str, *, as_: str = "pm") -> list[dict[str, Any]]:
    data = await api.data(DELIVERIES, {"id": project}, as_=as_)
    return [d for hook in data["project"]["webhooks"] for d in hook["deliveries"]["nodes"]]
