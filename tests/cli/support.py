"""The operator CLI as people run it: the typer app in process (CliRunner) or the console script in
a subprocess, against a store built with the test world (tests/conftest.py), or a real server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, func, select
from typer.testing import CliRunner, Result

from app.cli import cli
from app.db import create_engine, session_factory
from app.ingestion.models import Item
from app.main import create_app
from app.settings import Settings
from tests.conftest import CHEAP_ARGON2, SECRET_KEY, Api, World, gid

LABELGRAPH = str(Path(sys.executable).with_name("labelgraph"))
PROJECT_A = "Project A"


@dataclass
class Store:
    """A migrated database holding the test world; `env` is what the CLI needs to open it."""

    settings: Settings
    world: World

    @property
    def env(self) -> dict[str, str]:
        return {
            "LABELGRAPH_DATABASE_URL": self.settings.database_url,
            "LABELGRAPH_SECRET_KEY": SECRET_KEY,
            "LABELGRAPH_ARGON2_TIME_COST": str(CHEAP_ARGON2["argon2_time_cost"]),
            "LABELGRAPH_ARGON2_MEMORY_KIB": str(CHEAP_ARGON2["argon2_memory_kib"]),
        }

    @property
    def project_a(self) -> str:
        return gid("Project", self.world.project_a)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """The CLI in process, on this store (plus `env`)."""
        return CliRunner().invoke(cli, list(args), env={**self.env, **(env or {})})

    def external_ids(self, project: Any = None) -> list[str]:
        """Every item's external id in the project (A by default), straight from the database."""
        project_id = project or self.world.project_a

        async def read() -> list[str]:
            engine = create_engine(self.settings.database_url)
            try:
                async with session_factory(engine)() as session:
                    found = await session.scalars(
                        select(Item.external_id).where(Item.project_id == project_id).order_by(col(Item.external_id))
                    )
                    return list(found)
            finally:
                await engine.dispose()

        return asyncio.run(read())

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, as_: str) -> dict[str, Any]:
        """The data of a query that must succeed, through the app in process."""

        async def work(api: Api) -> dict[str, Any]:
            return await api.data(query, variables, as_=as_)

        result: dict[str, Any] = asyncio.run(with_api(self.settings, self.world, work))
        return result

    def count_items(self) -> int:
        async def read() -> int:
            engine = create_engine(self.settings.database_url)
            try:
                async with session_factory(engine)() as session:
                    n = await session.scalar(select(func.count()).select_from(Item))
                    return int(n or 0)
            finally:
                await engine.dispose()

        return asyncio.run(read())


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    with path.open("w") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def items(n: int, prefix: str = "row") -> list[dict[str, Any]]:
    return [{"externalId": f"{prefix}-{i}", "data": {"text": f"{prefix} number {i}"}} for i in range(n)]


def errors_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def with_api(settings: Settings, world: World, work: Any) -> Any:
    """Run `work(api)` on the app in process (set-up the CLI's commands then read)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await work(Api(client, application, world))


def console_env(store: Store) -> dict[str, str]:
    """The environment of the console script in a subprocess, on this store."""
    return {**os.environ, **store.env}
