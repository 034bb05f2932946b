"""The `labelgraph` CLI as an operator runs it: a database it cannot use is one clear line on
stderr and exit code 2, never a traceback; a good one works end to end.

The installed console script runs in a subprocess for the main cases; the rest of the matrix runs
the same typer app in-process (CliRunner), which is the same code without a second interpreter.
`serve` gets port -1: should a check ever let it through, it fails to bind instead of serving.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import recreate_pg_database

LABELGRAPH = str(Path(sys.executable).with_name("labelgraph"))
COMMANDS = (["migrate"], ["seed", "--demo"], ["serve", "--port", "-1"], ["user", "list"])
ACCEPTED = "write sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host:5432/db"
# Per process: test workers run side by side on one server.
MISSING_DB = f"labelgraph_cli_missing_{os.getpid()}"
EMPTY_DB = f"labelgraph_cli_empty_{os.getpid()}"
CHEAP = {"LABELGRAPH_ARGON2_TIME_COST": "1", "LABELGRAPH_ARGON2_MEMORY_KIB": "64"}


def script(url: str, commands: tuple[list[str], ...], cwd: Path) -> list[tuple[int, str]]:
    """The console script, each command side by side; (exit code, stderr) of each."""
    env = {**os.environ, **CHEAP, "LABELGRAPH_DATABASE_URL": url}
    running = [
        subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
            [LABELGRAPH, *command],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = []
    for process in running:
        try:
            stderr = process.communicate(timeout=120)[1]
        except subprocess.TimeoutExpired:
            process.kill()
            stderr = process.communicate()[1]
        results.append((process.returncode, stderr))
    return results


def in_process(url: str, commands: tuple[list[str], ...] = COMMANDS) -> list[tuple[int, str]]:
    """The same app through typer's CliRunner; an uncaught exception counts as a traceback."""
    results = []
    for command in commands:
        result = CliRunner().invoke(cli, command, env={**CHEAP, "LABELGRAPH_DATABASE_URL": url})
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        results.append((result.exit_code, result.stderr + ("Traceback (uncaught exception)" if crashed else "")))
    return results


def assert_one_line(results: list[tuple[int, str]], expected: str) -> None:
    assert results
    for code, stderr in results:
        assert "Traceback" not in stderr
        assert stderr.splitlines() == [f"error: {expected}"]
        assert code == 2


def test_the_console_script_says_what_to_write_for_postgresql_without_asyncpg(tmp_path: Path) -> None:
    results = script("postgresql://lg:s3cret@db.example:5432/labels", COMMANDS, tmp_path)

    assert_one_line(
        results,
        "LABELGRAPH_DATABASE_URL starts with postgresql://, which Labelgraph cannot drive; "
        "write postgresql+asyncpg://lg:***@db.example:5432/labels",
    )
    assert all("s3cret" not in stderr for _, stderr in results)


def test_the_console_script_says_when_the_server_is_unreachable(tmp_path: Path, unused_port: int) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{unused_port}/labels"

    assert_one_line(
        script(url, COMMANDS, tmp_path),
        f"cannot reach PostgreSQL at 127.0.0.1:{unused_port}: connection refused (is the server running?)",
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgres://lg@db.example/labels",
            "LABELGRAPH_DATABASE_URL starts with postgres://, which Labelgraph cannot drive; "
            "write postgresql+asyncpg://lg@db.example/labels",
            id="postgres-scheme",
        ),
        pytest.param(
            "postgresql+psycopg2://lg@db.example/labels",
            "LABELGRAPH_DATABASE_URL starts with postgresql+psycopg2://, which Labelgraph cannot drive; "
            "write postgresql+asyncpg://lg@db.example/labels",
            id="postgresql-other-driver",
        ),
        pytest.param(
            "sqlite:///var/x.db",
            "LABELGRAPH_DATABASE_URL starts with sqlite://, which Labelgraph cannot drive; "
            "write sqlite+aiosqlite:///var/x.db",
            id="sqlite-without-aiosqlite",
        ),
        pytest.param(
            "mysql://lg@db.example/labels",
            f"LABELGRAPH_DATABASE_URL names mysql, which Labelgraph does not run on; {ACCEPTED}",
            id="mysql",
        ),
        pytest.param("not a url", f"LABELGRAPH_DATABASE_URL is not a database URL; {ACCEPTED}", id="garbage"),
    ],
)
def test_a_url_labelgraph_cannot_use_is_refused_before_connecting(url: str, expected: str) -> None:
    assert_one_line(in_process(url, (*COMMANDS, ["user", "grant", "someone", "admin"])), expected)


def test_a_missing_database_says_how_to_create_it(pg_skip_reason: str | None) -> None:
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    url = recreate_pg_database(MISSING_DB, create=False)

    assert_one_line(
        in_process(url),
        f'database "{MISSING_DB}" does not exist on 127.0.0.1:5432; create it with '
        f"`createdb -h 127.0.0.1 -p 5432 -U postgres {MISSING_DB}`, then run `labelgraph migrate`",
    )


def test_an_unknown_host_is_one_line() -> None:
    url = "postgresql+asyncpg://postgres@no-such-host.invalid/labels"

    assert_one_line(
        in_process(url, (["migrate"], ["user", "list"])),
        "cannot resolve the database host 'no-such-host.invalid': check LABELGRAPH_DATABASE_URL",
    )


def test_a_database_not_migrated_yet_says_to_migrate(tmp_path: Path, pg_skip_reason: str | None) -> None:
    commands = (["seed", "--demo"], ["serve", "--port", "-1"], ["user", "list"])
    path = tmp_path / "fresh.db"
    assert_one_line(
        in_process(f"sqlite+aiosqlite:///{path}", commands),
        f"the SQLite file {path} has no Labelgraph tables yet: run `labelgraph migrate` first",
    )
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    url = recreate_pg_database(EMPTY_DB)
    try:
        assert_one_line(
            in_process(url, commands),
            f'database "{EMPTY_DB}" on 127.0.0.1:5432 has no Labelgraph tables yet: run `labelgraph migrate` first',
        )
    finally:
        recreate_pg_database(EMPTY_DB, create=False)


def test_a_good_url_migrates_seeds_and_prints_the_address_it_was_given(tmp_path: Path) -> None:
    env = {**os.environ, **CHEAP, "LABELGRAPH_DATABASE_URL": "sqlite+aiosqlite:///var/cli.db"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
            [LABELGRAPH, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )

    assert run("migrate").returncode == 0
    seeded = run("seed", "--demo", "--url", "http://127.0.0.1:8765")
    assert seeded.returncode == 0, seeded.stderr
    assert "curl -s http://127.0.0.1:8765/auth/token" in seeded.stdout
    assert ":8000" not in seeded.stdout
    listed = run("user", "list")
    assert listed.returncode == 0
    assert listed.stdout.split()[0] == "admin"


@pytest.fixture
def unused_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_user_create_applies_the_password_policy(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    env = {**CHEAP, "LABELGRAPH_DATABASE_URL": url}
    assert CliRunner().invoke(cli, ["migrate"], env=env).exit_code == 0
    weak = CliRunner().invoke(cli, ["user", "create", "alice", "--password", "password1234"], env=env)
    assert weak.exit_code == 2
    assert weak.stderr.splitlines() == [
        "error: COMMON_PASSWORD: That password is among the most common ones: choose another."
    ]
    good = CliRunner().invoke(cli, ["user", "create", "alice", "--password", "amber-lantern-quietly-92"], env=env)
    assert good.exit_code == 0, good.stderr
