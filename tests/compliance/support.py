"""What the audit-chain tests share: growing the log through the API, an attacker with the owner's
rights editing it in SQL, and `labelgraph audit ...` run as an operator would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from app.cli import cli
from app.db import create_engine
from tests.conftest import SCHEMA, SECRET_KEY, Api

CREATE = """
mutation Create($input: CreateProjectInput!) {
  createProject(input: $input) { project { id } errors { code message } }
}
"""
VERIFY = """
query Verify($checkpoint: String) {
  verifyAuditChain(checkpoint: $checkpoint) {
    ok checkedEvents headSeq headHash firstBroken { seq reason message }
  }
}
"""
CHECKPOINT = "query { auditCheckpoint { seq hash createdAt signed } }"


async def grow(api: Api, projects: int) -> int:
    """Create projects through the API (each a few audit events); the chain's head seq after."""
    for _ in range(projects):
        name = f"Chain {uuid.uuid4().hex[:8]}"
        data = await api.data(CREATE, {"input": {"name": name, "labelSchema": SCHEMA}}, as_="admin")
        assert data["createProject"]["errors"] == [], data
    head: int = (await api.data(VERIFY, as_="compliance"))["verifyAuditChain"]["headSeq"]
    return head


@asynccontextmanager
async def as_owner(url: str) -> AsyncIterator[AsyncConnection]:
    """One transaction with the audit table's triggers out of the way, as its owner could: SQLite's
    dropped (each test has its own file), PostgreSQL's disabled and enabled again in the same
    transaction (the DDL commits with the edit)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            sqlite = url.startswith("sqlite")
            if sqlite:
                for trigger in ("audit_event_no_update", "audit_event_no_delete", "audit_event_chain"):
                    await conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            else:
                await conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            yield conn
            if not sqlite:
                await conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


async def labelgraph(url: str, *args: str, env: dict[str, str] | None = None) -> Run:
    """`labelgraph ARGS` in-process (typer's runner) on a thread: the CLI runs its own event loop."""
    env = {"LABELGRAPH_DATABASE_URL": url, "LABELGRAPH_SECRET_KEY": SECRET_KEY, **(env or {})}

    def run() -> Run:
        result = CliRunner().invoke(cli, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    return await asyncio.to_thread(run)


def write(path: Path, content: str) -> Path:
    path.write_text(content)
    return path
