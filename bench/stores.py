"""The databases a run is measured on: a fresh SQLite file, or a freshly created PostgreSQL database.

Each store also answers the one correctness question of the workload, straight from SQL:
how many items were ever leased to more annotators at once than the project's overlap.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Protocol

import asyncpg

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
# LABELGRAPH_BENCH_PG_DB: another name, so two checkouts can bench on one server at once.
PG_BENCH_DB = os.environ.get("LABELGRAPH_BENCH_PG_DB", "labelgraph_bench")

# An assignment holds its item from claimed_at until it is submitted, or else until its lease
# ends. The most leases an item held at once is reached at the start of one of them, so for
# each assignment `a` count the assignments of the same item live at a.claimed_at (itself
# included), and keep the items where that number ever exceeds the project's overlap.
OVER_OVERLAP_SQL = """
SELECT COUNT(DISTINCT live.item_id) FROM (
    SELECT a.item_id, a.project_id, COUNT(*) AS held
    FROM assignment a
    JOIN assignment b
      ON b.item_id = a.item_id
     AND b.claimed_at <= a.claimed_at
     AND COALESCE(b.submitted_at, b.lease_expires_at) > a.claimed_at
    GROUP BY a.id, a.item_id, a.project_id
) live
JOIN project p ON p.id = live.project_id
WHERE live.held > p.overlap
"""
COUNT_ASSIGNMENTS_SQL = "SELECT COUNT(*) FROM assignment"


class Store(Protocol):
    name: str

    def url(self) -> str:
        """The LABELGRAPH_DATABASE_URL of the current fresh database."""
        ...

    def fresh(self) -> None:
        """Start over with an empty database (the schema comes from `labelgraph migrate`)."""
        ...

    def over_overlap(self) -> tuple[int, int]:
        """(items leased beyond the overlap at once, assignments inspected)."""
        ...

    def drop(self) -> None:
        """Remove what fresh() and keep() created."""
        ...

    def keep(self) -> None:
        """Keep a copy of the current database (set up, not yet served) for restore()."""
        ...

    def restore(self) -> None:
        """Start over from the copy keep() made: a fresh database, without running the set-up again."""
        ...


class SqliteStore:
    name = "SQLite"

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._n = 0

    @property
    def path(self) -> Path:
        return self._folder / f"bench-{self._n}.db"

    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    def fresh(self) -> None:
        self.drop()
        self._n += 1

    def over_overlap(self) -> tuple[int, int]:
        with sqlite3.connect(self.path) as conn:
            over = conn.execute(OVER_OVERLAP_SQL).fetchone()[0]
            total = conn.execute(COUNT_ASSIGNMENTS_SQL).fetchone()[0]
        return int(over), int(total)

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._template.unlink(missing_ok=True)

    @property
    def _template(self) -> Path:
        return self._folder / "template.db"

    def keep(self) -> None:
        # Everything into the main file first, so copying that one file copies the database.
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        shutil.copyfile(self.path, self._template)

    def restore(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._n += 1
        shutil.copyfile(self._template, self.path)


class PostgresStore:
    name = "PostgreSQL"

    def __init__(self, database: str = PG_BENCH_DB) -> None:
        self.database = database
        self._template = f"{database}_template"

    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{self.database}"

    def fresh(self) -> None:
        drop, create = f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)", f"CREATE DATABASE {self.database}"
        asyncio.run(self._admin(drop, create))

    def over_overlap(self) -> tuple[int, int]:
        async def query() -> tuple[int, int]:
            conn = await asyncpg.connect(self.url().replace("+asyncpg", ""), timeout=5)
            try:
                return int(await conn.fetchval(OVER_OVERLAP_SQL)), int(await conn.fetchval(COUNT_ASSIGNMENTS_SQL))
            finally:
                await conn.close()

        return asyncio.run(query())

    def drop(self) -> None:
        asyncio.run(
            self._admin(
                f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)",
                f"DROP DATABASE IF EXISTS {self._template} WITH (FORCE)",
            )
        )

    def keep(self) -> None:
        asyncio.run(
            self._admin(
                f"DROP DATABASE IF EXISTS {self._template} WITH (FORCE)",
                f"CREATE DATABASE {self._template} TEMPLATE {self.database}",
            )
        )

    def restore(self) -> None:
        asyncio.run(
            self._admin(
                f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)",
                f"CREATE DATABASE {self.database} TEMPLATE {self._template}",
            )
        )

    @staticmethod
    async def _admin(*statements: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()


def postgres_answers() -> str | None:
    """None when PostgreSQL accepts a connection at 127.0.0.1:5432, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{exc.__class__.__name__}: {exc}"
    return None
