"""Fixtures: the real app through httpx, on SQLite and on PostgreSQL, with one user per role.

Every test that asks for `api` runs once per database. PostgreSQL cases skip, with the
reason shown, only when no server answers at LABELGRAPH_TEST_PG_URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import exists, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

import app.tables  # noqa: F401
from app.auth.actor import Actor
from app.auth.models import IdentityKind, User
from app.auth.passwords import Passwords
from app.db import create_engine, metadata, session_factory, unit_of_work
from app.guidelines.models import GuidelineAcknowledgement, GuidelineVersion
from app.main import create_app
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, domain, user_subject
from app.projects.service import NewProject, create_project
from app.settings import Settings

# Fixtures of tests/npm_install.py (a stand-in npm install and its clients, for the GraphiQL and
# dashboard pages) and tests/servers.py (Debian's Chromium, for the browser tests).
pytest_plugins = ["tests.npm_install", "tests.servers"]

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
# One database per pytest process, so parallel runs on one machine never share state.
PG_TEST_DB = f"labelgraph_test_{os.getpid()}"
PASSWORD = "correct-horse-battery"
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256-0123456789"
SCHEMA = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"], "required": False},
    ]
}
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64}


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


async def _pg_reachable() -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})"
    await conn.close()
    return None


def recreate_pg_database(name: str, *, create: bool = True) -> str:
    """A fresh (or, with create=False, dropped) database on the local server; returns its URL."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


@pytest.fixture(scope="session")
def pg_skip_reason() -> str | None:
    reason = asyncio.run(_pg_reachable())
    if reason and os.environ.get("LABELGRAPH_REQUIRE_POSTGRES"):
        pytest.fail(f"{reason}, and LABELGRAPH_REQUIRE_POSTGRES is set (as in CI)")
    return reason


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    command.upgrade(alembic_config(f"sqlite+aiosqlite:///{path}"), "head")
    return path


@pytest.fixture(scope="session")
def pg_url(pg_skip_reason: str | None) -> Iterator[str | None]:
    if pg_skip_reason:
        yield None
        return
    url = recreate_pg_database(PG_TEST_DB)
    command.upgrade(alembic_config(url), "head")
    yield url
    recreate_pg_database(PG_TEST_DB, create=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_skip_reason: str | None,
) -> Iterator[str]:
    """A migrated, empty database: a copy of the template file, or the PostgreSQL test database truncated."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    url: str = request.getfixturevalue("pg_url")
    asyncio.run(_truncate(url))
    yield url


async def _truncate(url: str) -> None:
    """Empty the tables the last test wrote to. DELETE, not TRUNCATE: a test leaves a few rows in
    a dozen tables, which DELETE clears in ~10 ms where TRUNCATE (new files for every table) took
    ~300 ms, a quarter of the PostgreSQL half of the suite."""
    engine = create_engine(url)
    tables = {t.name: t for t in metadata.sorted_tables}
    written = union_all(*(select(literal(n)).where(exists(select(1).select_from(t))) for n, t in tables.items()))
    async with engine.begin() as conn:
        # As replica, the superuser skips the triggers: foreign keys, and audit_event's refusal
        # to lose rows (migration 0014), so the order of the deletes does not matter.
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name in (await conn.execute(written)).scalars().all():
            await conn.execute(tables[name].delete())
        # Ids start over whether or not their table kept a row (a rolled-back insert uses one up).
        await conn.execute(
            text("SELECT setval(sequencename::regclass, 1, false) FROM pg_sequences WHERE schemaname = 'public'")
        )
    await engine.dispose()


# Webhooks in tests: receivers are local (loopback allowed), and deliveries go out only when a
# test runs the dispatcher (tests/events): a background dispatcher writing its log meanwhile
# would change the database under the "nothing written" checks.
TEST_EVENTS = {"webhook_allowed_networks": ("127.0.0.0/8", "::1/128"), "events_dispatch": False}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY, **CHEAP_ARGON2, **TEST_EVENTS)


@dataclass
class World:
    """One identity per role, two projects: A (everyone's) and B (only pm_b's)."""

    users: dict[str, User] = field(default_factory=dict)
    project_a: uuid.UUID = field(default_factory=uuid.uuid4)
    project_b: uuid.UUID = field(default_factory=uuid.uuid4)

    def id(self, username: str) -> uuid.UUID:
        return self.users[username].id


# username -> (kind, role, scope) where scope "A" is project A, "B" project B, "*" org-wide, None none.
CAST: dict[str, tuple[IdentityKind, Role | None, str | None]] = {
    "admin": (IdentityKind.HUMAN, Role.ADMIN, "*"),
    "pm": (IdentityKind.HUMAN, Role.PROJECT_MANAGER, "A"),
    "ann1": (IdentityKind.HUMAN, Role.ANNOTATOR, "A"),
    "ann2": (IdentityKind.HUMAN, Role.ANNOTATOR, "A"),
    "ann3": (IdentityKind.HUMAN, Role.ANNOTATOR, "A"),
    "reviewer": (IdentityKind.HUMAN, Role.REVIEWER, "A"),
    "qa": (IdentityKind.HUMAN, Role.QA_AUDITOR, "A"),
    "expert": (IdentityKind.HUMAN, Role.EXPERT, "A"),
    "compliance": (IdentityKind.HUMAN, Role.COMPLIANCE_OFFICER, "*"),
    "mlbot": (IdentityKind.SERVICE, Role.ML_SERVICE, "A"),
    "ingest": (IdentityKind.SERVICE, Role.INGESTION_SERVICE, "*"),
    "metrics": (IdentityKind.SERVICE, Role.METRICS, "*"),  # a Prometheus scraper
    "pm_b": (IdentityKind.HUMAN, Role.PROJECT_MANAGER, "B"),
    "ann_b": (IdentityKind.HUMAN, Role.ANNOTATOR, "B"),
    "outsider": (IdentityKind.HUMAN, None, None),
}


ACKNOWLEDGED = ("ann1", "ann2", "ann3", "reviewer", "qa", "expert")


@pytest.fixture(scope="session")
def password_hash() -> str:
    return Passwords(1, 64).hash_sync(PASSWORD)


async def build_world(settings: Settings, password_hash: str, overlap: int = 1) -> World:
    world = World()
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        async with unit_of_work(sessions, write=True) as session:
            for name, (kind, _role, _scope) in CAST.items():
                user = User(username=name, kind=kind, secret_hash=password_hash, display_name=name.title())
                session.add(user)
                world.users[name] = user
            await session.flush()
            admin = world.users["admin"]
            system = Actor(
                admin.id, admin.username, admin.kind, Authorizer([(user_subject(admin.id), "role:admin", "*")])
            )
            project_a = await create_project(
                session, system, NewProject("Project A", SCHEMA, overlap=overlap, guideline="# A")
            )
            project_b = await create_project(session, system, NewProject("Project B", SCHEMA))
            world.project_a, world.project_b = project_a.id, project_b.id
            scopes = {"A": project_a.id, "B": project_b.id, "*": None}
            for name, (_kind, role, scope) in CAST.items():
                if role is not None and scope is not None:
                    session.add(
                        CasbinRule(
                            ptype="g", v0=user_subject(world.id(name)), v1=role.subject, v2=domain(scopes[scope])
                        )
                    )
            # Project A's people have read its guideline: claims there are not gated (tests/guidelines are).
            guideline_id = await session.scalar(
                select(GuidelineVersion.id).where(GuidelineVersion.project_id == project_a.id)
            )
            for name in ACKNOWLEDGED:
                session.add(
                    GuidelineAcknowledgement(
                        project_id=project_a.id, guideline_version_id=guideline_id, user_id=world.id(name)
                    )
                )
    finally:
        await engine.dispose()
    return world


@pytest.fixture
async def world(settings: Settings, password_hash: str) -> World:
    return await build_world(settings, password_hash)


class Api:
    """A client's view: real JWTs, GraphQL over HTTP through the ASGI app."""

    def __init__(self, client: httpx.AsyncClient, app: Any, world: World) -> None:
        self.client = client
        self.app = app
        self.world = world

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def token(self, username: str) -> str:
        return str(self.runtime.tokens.issue(self.world.id(username), "tests"))

    async def raw(self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(as_)}"} if as_ else {}
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *, as_: str) -> dict[str, Any]:
        response = await self.raw(query, variables, as_=as_)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None, *, as_: str) -> dict[str, Any]:
        """The data of a query that must succeed."""
        body = await self.gql(query, variables, as_=as_)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]
        return result

    async def session(self) -> AsyncSession:
        return self.runtime.sessions()  # type: ignore[no-any-return]


def gid(type_name: str, pk: uuid.UUID) -> str:
    from app.schema.node import global_id

    return str(global_id(type_name, pk))


@pytest.fixture
async def api(settings: Settings, world: World) -> AsyncIterator[Api]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, application, world)
