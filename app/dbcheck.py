"""What is wrong with a database URL, or with a connection that failed, said in one line.

The CLI checks `LABELGRAPH_DATABASE_URL` before it connects (`url_problem`) and turns a failure to
reach the database into a sentence (`failure`), so an operator reads what to fix instead of a
driver's traceback. Passwords in URLs are never repeated back.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

SQLITE, POSTGRES = "sqlite+aiosqlite", "postgresql+asyncpg"
ACCEPTED = f"{SQLITE}:///path/to/file.db or {POSTGRES}://user@host:5432/db"
# Spellings of the two databases with another driver (or none): what to write instead is known.
_OTHER_SQLITE = {"sqlite", "sqlite+pysqlite"}
_OTHER_POSTGRES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgresql+pg8000"}


def url_problem(raw: str) -> str | None:
    """Why Labelgraph cannot use this URL, or None when it can."""
    try:
        url = make_url(raw)
    except ArgumentError:
        return f"LABELGRAPH_DATABASE_URL is not a database URL; write {ACCEPTED}"
    name = url.drivername
    if name in (SQLITE, POSTGRES):
        return None
    if name in _OTHER_POSTGRES or url.get_backend_name() in ("postgres", "postgresql"):
        instead = safe(url.set(drivername=POSTGRES))
        return f"LABELGRAPH_DATABASE_URL starts with {name}://, which Labelgraph cannot drive; write {instead}"
    if name in _OTHER_SQLITE or url.get_backend_name() == "sqlite":
        instead = safe(url.set(drivername=SQLITE))
        return f"LABELGRAPH_DATABASE_URL starts with {name}://, which Labelgraph cannot drive; write {instead}"
    return f"LABELGRAPH_DATABASE_URL names {name}, which Labelgraph does not run on; write {ACCEPTED}"


def safe(url: URL) -> str:
    """The URL as text with its password masked."""
    return url.render_as_string(hide_password=True)


def failure(exc: BaseException, raw: str) -> str | None:
    """One line on why connecting to (or using) the database failed; None when exc is not such a failure."""
    url = make_url(raw)
    where, store = _server(url), describe(raw)
    for cause in _chain(exc):
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            host, port, user = url.host or "localhost", url.port or 5432, url.username or "postgres"
            return (
                f'database "{url.database}" does not exist on {where}; create it with '
                f"`createdb -h {host} -p {port} -U {user} {url.database}`, then run `labelgraph migrate`"
            )
        if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
            return f"PostgreSQL at {where} refused user {url.username or '(default)'}: {_first_line(cause)}"
        if isinstance(cause, asyncpg.UndefinedTableError) or _is_sqlite_no_table(cause):
            return f"{store} has no Labelgraph tables yet: run `labelgraph migrate` first"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the database host {url.host!r}: check LABELGRAPH_DATABASE_URL"
        if isinstance(cause, ConnectionRefusedError):
            return f"cannot reach PostgreSQL at {where}: connection refused (is the server running?)"
        if isinstance(cause, TimeoutError):
            return f"no answer from {store}: is the host right and the server running?"
        if isinstance(cause, sqlite3.OperationalError):
            return f"cannot use {store}: {_first_line(cause)}"
        if isinstance(cause, OSError) and not isinstance(cause, sqlite3.Error):
            if cause.filename is not None and cause.filename != url.database:
                return None  # another file (a command's --out): not the database's failure
            return f"cannot reach {store}: {cause.strerror or _first_line(cause)}"
    if isinstance(exc, DBAPIError):
        return f"{store} refused the operation: {_first_line(exc.orig or exc)}"
    return None


def describe(raw: str) -> str:
    """The store a (valid) URL names, for messages: the SQLite file or the database and its server."""
    url = make_url(raw)
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {url.database or ':memory:'}"
    return f'database "{url.database or url.username or "postgres"}" on {_server(url)}'


def _server(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped and what each was raised from, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, current.__cause__, current.__context__]


def _is_sqlite_no_table(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and str(exc).startswith("no such table")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
