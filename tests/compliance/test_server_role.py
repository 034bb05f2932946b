"""The server on PostgreSQL as a least-privileged role (`labelgraph db grant-server-role`): the
owner migrates, the server connects as a role that cannot TRUNCATE, ALTER (so not disable the
triggers), SET session_replication_role, UPDATE or DELETE the audit log, and the app still works
end to end, writing its audit events."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db import create_engine
from app.main import create_app
from app.settings import Settings
from tests.compliance.support import CREATE, VERIFY, labelgraph
from tests.conftest import CHEAP_ARGON2, PG_ADMIN_URL, SCHEMA, SECRET_KEY, Api, World

ROLE = f"labelgraph_server_{os.getpid()}"


@pytest.fixture
async def role_url(database_url: str) -> AsyncIterator[str]:
    """A login role with no privileges yet, and the URL of the test database as that role."""
    if database_url.startswith("sqlite"):
        pytest.skip("database roles are PostgreSQL's")
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP ROLE IF EXISTS "{ROLE}"')
        await admin.execute(f'CREATE ROLE "{ROLE}" LOGIN')
    finally:
        await admin.close()
    yield database_url.replace("postgres@", f"{ROLE}@", 1)
    owner = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        await owner.execute(f'DROP OWNED BY "{ROLE}"')  # its grants in this database
        await owner.execute(f'DROP ROLE "{ROLE}"')
    finally:
        await owner.close()


async def refusal(url: str, statement: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    except DBAPIError as exc:
        return str(exc.orig)
    finally:
        await engine.dispose()
    return None


async def grant(role_url: str, owner_url: str, role: str = ROLE) -> tuple[int, str]:
    env = {"LABELGRAPH_MIGRATION_DATABASE_URL": owner_url}
    run = await labelgraph(role_url, "db", "grant-server-role", role, env=env)
    return run.code, run.stdout + run.stderr


async def test_the_server_runs_as_a_role_that_cannot_rewrite_the_audit_log(
    role_url: str, database_url: str, world: World
) -> None:
    code, said = await grant(role_url, database_url)
    assert code == 0, said
    assert said.startswith(f"granted {ROLE} the server's privileges"), said

    refused = {
        "TRUNCATE audit_event": "permission denied",
        "ALTER TABLE audit_event DISABLE TRIGGER USER": "must be owner",
        "DROP TRIGGER audit_event_append_only ON audit_event": "must be owner",
        "SET session_replication_role = replica": "permission denied",
        "UPDATE audit_event SET action = 'x'": "permission denied",
        "DELETE FROM audit_event": "permission denied",
        "UPDATE alembic_version SET version_num = 'x'": "permission denied",
    }
    for statement, expected in refused.items():
        message = await refusal(role_url, statement)
        assert message is not None, statement
        assert expected in message, (statement, message)

    settings = Settings(database_url=role_url, secret_key=SECRET_KEY, **CHEAP_ARGON2)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            api = Api(client, application, world)
            before = (await api.data(VERIFY, as_="compliance"))["verifyAuditChain"]
            data = await api.data(CREATE, {"input": {"name": "As the role", "labelSchema": SCHEMA}}, as_="admin")
            assert data["createProject"]["errors"] == [], data
            after = (await api.data(VERIFY, as_="compliance"))["verifyAuditChain"]
            query = '{ auditEvents(action: "project.create", first: 10) { nodes { chainSeq } } }'
            events = await api.data(query, as_="admin")
    assert after["ok"], after
    assert after["headSeq"] == before["headSeq"] + 1
    assert events["auditEvents"]["nodes"][-1]["chainSeq"] == after["headSeq"]

    # Granting again is harmless: migrate, as the owner, does it after upgrading when told the role.
    env = {"LABELGRAPH_MIGRATION_DATABASE_URL": database_url, "LABELGRAPH_SERVER_ROLE": ROLE}
    migrated = await labelgraph(role_url, "migrate", env=env)
    assert migrated.code == 0, migrated
    assert f"granted {ROLE}" in migrated.stdout, migrated


async def test_roles_that_could_do_anything_are_refused(role_url: str, database_url: str) -> None:
    for role, expected in (("postgres", "superuser"), ("nobody_here", "there is no PostgreSQL role")):
        code, said = await grant(role_url, database_url, role)
        assert code == 2, said
        assert said.startswith("error: "), said
        assert expected in said, said


async def test_sqlite_has_no_roles_to_grant(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite answer")
    run = await labelgraph(database_url, "db", "grant-server-role", "someone")
    assert run.code == 2, run
    assert run.stderr == "error: database roles are PostgreSQL's: SQLite has none to grant\n"
