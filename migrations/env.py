"""Alembic environment: async engines for the app's URLs, or a connection handed in by tests."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

import app.tables  # noqa: F401  (registers every table on the metadata)
from app.db import create_engine, metadata
from app.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL handed in, else LABELGRAPH_MIGRATION_DATABASE_URL (the schema's owner), else
    LABELGRAPH_DATABASE_URL."""
    return str(config.attributes.get("database_url") or Settings.from_env().migration_url)


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch operation on SQLite recreates the table (copy, drop, rename), and with foreign
        # keys enforced the drop fails while other rows reference it (a downgrade of the user
        # table, say). Off for the run (the pragma only takes outside a transaction), checked after.
        _pragma(connection, "foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                tables = sorted({str(row[0]) for row in broken})
                raise RuntimeError(f"the migration left rows whose references are gone, in: {', '.join(tables)}")
    if sqlite:
        _pragma(connection, "foreign_keys=ON")


def _pragma(connection: Connection, setting: str) -> None:
    """On the DBAPI connection itself: through SQLAlchemy, the statement would come after the BEGIN
    that app/db.py issues on every transaction's start."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {setting}")
    finally:
        cursor.close()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
