"""What the events outbox costs a change, and how fast the dispatcher delivers, in process.

`python -m bench.events [--imports N] [--webhooks W]` migrates a fresh SQLite file (or uses
LABELGRAPH_BENCH_EVENTS_URL, e.g. a PostgreSQL database of your own), then times N one-item
`importItems` calls through the ASGI app (httpx, no network) with no webhook, and N more with W
webhooks wanting the kind (each commit then also writes W deliveries), and finally delivers those
N * W deliveries with `Dispatcher.run_once` to a receiver on a loopback port (uvicorn). It prints
per-call medians `median [p10-p90]` in ms and deliveries per second. It never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import app.tables  # noqa: F401
from app.auth.actor import Actor
from app.auth.models import User
from app.db import create_engine, session_factory, unit_of_work
from app.events.dispatcher import Dispatcher
from app.ids import encode_global_id
from app.main import create_app
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, domain, user_subject
from app.projects.service import NewProject, create_project
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = {"fields": [{"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg"], "required": True}]}
IMPORT = "mutation I($input: ImportItemsInput!) { importItems(input: $input) { importedCount errors { code } } }"
REGISTER = "mutation R($input: RegisterWebhookInput!) { registerWebhook(input: $input) { errors { code } } }"


async def seed(settings: Settings) -> tuple[str, str]:
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            admin = User(username="admin", secret_hash="-", display_name="Admin")
            session.add(admin)
            await session.flush()
            session.add(CasbinRule(ptype="g", v0=user_subject(admin.id), v1=Role.ADMIN.subject, v2=domain(None)))
            system = Actor(
                admin.id, admin.username, admin.kind, Authorizer([(user_subject(admin.id), "role:admin", "*")])
            )
            project = await create_project(session, system, NewProject("Bench", SCHEMA, guideline="# Bench"))
            return str(admin.id), encode_global_id("Project", project.id)
    finally:
        await engine.dispose()


def spread(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=10)
    return f"{statistics.median(samples) * 1000:.2f} ms [{cuts[0] * 1000:.2f}-{cuts[-1] * 1000:.2f}]"


@asynccontextmanager
async def receiver() -> AsyncIterator[tuple[int, list[int]]]:
    """A receiver on a free loopback port answering 204 to every POST /hook."""
    import uvicorn

    received: list[int] = []

    async def hook(request: Request) -> Response:
        await request.body()
        received.append(1)
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1], received
    finally:
        server.should_exit = True
        await task


async def main(imports: int, webhooks: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("LABELGRAPH_BENCH_EVENTS_URL") or f"sqlite+aiosqlite:///{folder}/bench.db"
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["database_url"] = url
        config.attributes["configure_logger"] = False
        await asyncio.to_thread(command.upgrade, config, "head")
        settings = Settings(
            database_url=url, webhook_allowed_networks=("127.0.0.0/8",), events_dispatch=False, access_history=False
        )
        admin, project = await seed(settings)
        application = create_app(settings)
        async with receiver() as (port, received), application.router.lifespan_context(application):
            runtime = application.state.runtime
            token = runtime.tokens.issue(uuid.UUID(admin), "bench")
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:

                async def run(label: str, offset: int) -> list[float]:
                    took = []
                    for n in range(imports):
                        items = [{"externalId": f"{label}-{offset + n}", "data": {"text": "x"}}]
                        started = time.perf_counter()
                        answer = await client.post(
                            "/graphql",
                            json={"query": IMPORT, "variables": {"input": {"projectId": project, "items": items}}},
                        )
                        took.append(time.perf_counter() - started)
                        assert answer.json()["data"]["importItems"]["errors"] == []
                    return took

                await run("warm", 0)
                without = await run("none", 0)
                for _ in range(webhooks):
                    variables = {
                        "input": {
                            "projectId": project,
                            "url": f"http://127.0.0.1:{port}/hook",
                            "events": ["ITEMS_IMPORTED"],
                        }
                    }
                    await client.post("/graphql", json={"query": REGISTER, "variables": variables})
                with_hooks = await run("hooked", 0)
            dispatcher = Dispatcher(runtime.sessions, settings)
            started = time.perf_counter()
            delivered = 0
            while True:
                report = await dispatcher.run_once()
                delivered += report.delivered
                if not report.attempted:
                    break
            elapsed = time.perf_counter() - started
            await dispatcher.stop()
    store = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"importItems (1 item), {store}, {imports} calls each:")
    print(f"  no webhook:            {spread(without)}")
    print(f"  {webhooks} webhooks:            {spread(with_hooks)}")
    print(
        f"dispatcher: {delivered} deliveries in {elapsed:.2f} s = {delivered / elapsed:.0f}/s "
        f"(receiver saw {len(received)})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--imports", type=int, default=300)
    parser.add_argument("--webhooks", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.imports, arguments.webhooks))
