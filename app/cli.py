"""`labelgraph`: serve, migrate, seed, manage users and roles, verify the audit chain, dispatch webhook
deliveries, run the background worker, export the SDL; and the operator's API clients (import,
export, schema check, quality report: app/operator)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import getpass
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

import app.tables  # noqa: F401  (the ORM needs every table to resolve foreign keys)
from app import dbcheck
from app.auth.actor import Actor
from app.auth.models import IdentityKind, User, UserStatus
from app.auth.passwords import Passwords
from app.db import create_engine, session_factory, unit_of_work
from app.errors import DomainError, Forbidden
from app.operator import commands as operator
from app.quality.cli import quality
from app.settings import Settings

T = TypeVar("T")
# Exit code of a command that could not start: bad configuration or a database it cannot use.
CONFIG_ERROR = 2
CONNECT_TIMEOUT_S = 10
# With --workers N, uvicorn's supervisor pings each server process and replaces one that does not
# answer in time. Its default (5 s) is shorter than a process takes to import the app on a busy
# machine (seen on 2 cores under load: every process replaced before it served, forever).
WORKER_HEALTHCHECK_S = 60

cli = typer.Typer(
    no_args_is_help=True, pretty_exceptions_enable=False, help="Labelgraph: the labeling program's GraphQL API server."
)
users = typer.Typer(no_args_is_help=True, help="People and service accounts.")
cli.add_typer(users, name="user")
audit = typer.Typer(no_args_is_help=True, help="The audit log's hash chain: verify it, export signed checkpoints.")
cli.add_typer(audit, name="audit")
database = typer.Typer(no_args_is_help=True, help="Database roles (PostgreSQL).")
cli.add_typer(database, name="db")
cli.add_typer(quality, name="quality")
retention = typer.Typer(no_args_is_help=True, help="Purging item content past each project's retention period.")
cli.add_typer(retention, name="retention")
keys = typer.Typer(no_args_is_help=True, help="The keys access tokens are signed with (ES256).")
cli.add_typer(keys, name="keys")
consent = typer.Typer(no_args_is_help=True, help="Consent records that ran out.")
cli.add_typer(consent, name="consent")
events = typer.Typer(no_args_is_help=True, help="Webhook deliveries from the events outbox.")
cli.add_typer(events, name="events")
automation = typer.Typer(no_args_is_help=True, help="The built-in model: retraining it where it is due.")
cli.add_typer(automation, name="automation")
schema = typer.Typer(no_args_is_help=True, help="Label-schema and guideline files, checked before proposing them.")
cli.add_typer(schema, name="schema")


def _fail(message: str) -> typer.Exit:
    """Print one line to stderr; raise what this returns to exit with CONFIG_ERROR."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(CONFIG_ERROR)


def _operator_command(command: Callable[..., None]) -> Callable[..., None]:
    """An operator command (app/operator) whose refusals (ApiError) and file errors (an --out,
    --state or --errors path it cannot write) are one line and exit code 2."""
    from app.client.errors import ApiError

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ApiError as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise _fail(f"cannot use{where}: {exc.strerror or exc}") from None

    return run


def _settings() -> Settings:
    """The settings from the environment, with a database URL Labelgraph can use."""
    try:
        settings = Settings.from_env()
    except (RuntimeError, ValueError) as exc:
        raise _fail(str(exc)) from None
    problem = dbcheck.url_problem(settings.database_url)
    if problem is not None:
        raise _fail(problem)
    path = settings.sqlite_path()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _fail(f"cannot create the folder of the SQLite file {path}: {exc.strerror}") from None
    return settings


@contextmanager
def _database_errors(settings: Settings) -> Iterator[None]:
    """Failures to reach or use the database become one line on stderr and exit code 2."""
    try:
        yield
    except Exception as exc:
        message = dbcheck.failure(exc, settings.database_url)
        if message is None:
            raise
        raise _fail(message) from None


def _engine(settings: Settings) -> AsyncEngine:
    """An engine for one CLI command; on PostgreSQL a connection attempt gives up after a while."""
    extra: dict[str, Any] = {} if settings.is_sqlite else {"connect_args": {"timeout": CONNECT_TIMEOUT_S}}
    return create_engine(settings.database_url, **extra)


def _probe(settings: Settings, *, migrated: bool) -> None:
    """Connect once before the real work, so a database that is not there is said plainly."""

    async def run() -> bool:
        engine = _engine(settings)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                return await connection.run_sync(_has_schema)
        finally:
            await engine.dispose()

    with _database_errors(settings):
        has_schema = asyncio.run(run())
    if migrated and not has_schema:
        store = dbcheck.describe(settings.database_url)
        raise _fail(f"{store} has no Labelgraph tables yet: run `labelgraph migrate` first")


def _has_schema(connection: Connection) -> bool:
    return inspect(connection).has_table("alembic_version")


def _with_session(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    async def run() -> T:
        engine = _engine(settings)
        try:
            async with unit_of_work(session_factory(engine), write=True) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        with _database_errors(settings):
            return asyncio.run(run())
    except DomainError as exc:
        raise _fail("; ".join(f"{problem.code}: {problem.message}" for problem in exc.problems)) from None
    except Forbidden as exc:
        raise _fail(f"FORBIDDEN: {exc}") from None


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    metrics_port: Annotated[
        int | None, typer.Option(help="Also serve /metrics alone, unauthenticated, on this port (multiprocess mode).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="The address of --metrics-port's bind.")] = "127.0.0.1",
) -> None:
    """Serve the API (GraphiQL at /graphql outside production)."""
    import uvicorn

    _probe(_settings(), migrated=True)
    _multiprocess_metrics(needed=workers > 1 or metrics_port is not None)
    if metrics_port is not None:
        _serve_metrics(metrics_host, metrics_port)
    uvicorn.run(
        "app.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        log_level="info",
    )


def _multiprocess_metrics(*, needed: bool) -> None:
    """Several processes count into one PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory
    unless set; emptied of an earlier run's files if set), so a scrape of any of them sums them
    all. It must be in the environment before a server process imports prometheus-client: here."""
    import os
    import tempfile

    variable = "PROMETHEUS_MULTIPROC_DIR"  # spelled out: importing app.metrics would import the client now
    if not needed and not os.environ.get(variable):
        return
    chosen = os.environ.get(variable) or tempfile.mkdtemp(prefix="labelgraph-metrics-")
    os.environ[variable] = chosen
    from app.metrics.http import prepare_multiprocess_dir

    prepare_multiprocess_dir(Path(chosen))


def _serve_metrics(host: str, port: int) -> None:
    """The metrics-only bind, in a thread of this (the supervising) process."""
    import threading

    import uvicorn

    config = uvicorn.Config(
        "app.metrics.http:metrics_only_app_from_env",
        factory=True,
        host=host,
        port=port,
        loop="asyncio",
        log_level="warning",
    )
    threading.Thread(target=uvicorn.Server(config).run, name="metrics", daemon=True).start()


def _owner_settings() -> Settings:
    """The settings with the migration URL (LABELGRAPH_MIGRATION_DATABASE_URL: the schema's
    owner) as the one to connect to."""
    settings = _settings()
    owner = dataclasses.replace(settings, database_url=settings.migration_url)
    problem = dbcheck.url_problem(owner.database_url)
    if problem is not None:
        raise _fail(f"LABELGRAPH_MIGRATION_DATABASE_URL: {problem}")
    return owner


@cli.command()
def migrate(revision: str = "head") -> None:
    """Upgrade the database schema (to head by default), as LABELGRAPH_MIGRATION_DATABASE_URL
    when set; then, with LABELGRAPH_SERVER_ROLE, grant that role its least privileges."""
    from alembic import command
    from alembic.config import Config

    settings = _owner_settings()
    if not settings.alembic_config.is_file():
        raise _fail(
            f"no migrations at {settings.alembic_config}: set LABELGRAPH_ALEMBIC_CONFIG to the alembic.ini "
            "that sits beside the migrations/ folder"
        )
    _probe(settings, migrated=False)
    config = Config(str(settings.alembic_config))
    config.attributes["database_url"] = settings.database_url
    with _database_errors(settings):
        command.upgrade(config, revision)
    if settings.server_role and not settings.is_sqlite:
        _grant_server_role(settings, settings.server_role)


@database.command("grant-server-role")
def grant_server_role(role: str) -> None:
    """Let ROLE run the server with least privileges: read and write the app's tables, only SELECT
    and INSERT on audit_event (no UPDATE, DELETE or TRUNCATE; not the owner, so no ALTER TABLE).
    Runs as LABELGRAPH_MIGRATION_DATABASE_URL (the owner); PostgreSQL only; run it again after
    each migration (migrate does when LABELGRAPH_SERVER_ROLE is set)."""
    settings = _owner_settings()
    if settings.is_sqlite:
        raise _fail("database roles are PostgreSQL's: SQLite has none to grant")
    _probe(settings, migrated=True)
    _grant_server_role(settings, role)


def _grant_server_role(settings: Settings, role: str) -> None:
    from app.dbroles import RoleRefused
    from app.dbroles import grant_server_role as grant

    async def run() -> list[str]:
        engine = _engine(settings)
        try:
            async with engine.begin() as connection:
                return await grant(connection, role)
        finally:
            await engine.dispose()

    try:
        with _database_errors(settings):
            statements = asyncio.run(run())
    except RoleRefused as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"granted {role} the server's privileges ({len(statements)} statements)")


@audit.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A signed checkpoint (`audit checkpoint`): also detects a cut-off tail.")
    ] = None,
) -> None:
    """Recompute the hash chain: exit 0 when it holds, 1 naming the first broken link."""
    from app.compliance.chain import CheckpointError, read_checkpoint
    from app.compliance.service import verify_chain

    settings = _settings()
    expected = None
    if checkpoint is not None:
        try:
            expected = read_checkpoint(checkpoint.read_text(), settings.audit_key_bytes())
        except OSError as exc:
            raise _fail(f"cannot read the checkpoint {checkpoint}: {exc.strerror}") from None
        except (CheckpointError, UnicodeDecodeError) as exc:
            raise _fail(f"{checkpoint}: {exc}") from None
    _probe(settings, migrated=True)
    result = _read(settings, lambda session: verify_chain(session, expected))
    if result.ok:
        suffix = f"; checkpoint seq {expected.seq} matches" if expected is not None else ""
        typer.echo(result.summary() + suffix)
        return
    typer.echo(result.summary(), err=True)
    raise typer.Exit(1)


@audit.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path | None, typer.Option(help="Write it to this file (else standard output).")] = None,
) -> None:
    """Print (or write) the chain's head, signed with HMAC-SHA256 under LABELGRAPH_AUDIT_KEY."""
    from app.compliance.chain import sign_checkpoint
    from app.compliance.service import head

    settings = _settings()
    _probe(settings, migrated=True)
    signed = sign_checkpoint(_read(settings, head), settings.audit_key_bytes())
    if out is None:
        typer.echo(signed)
        return
    try:
        out.write_text(signed + "\n")
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out}")


def _read(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    """Run `work` in one read transaction."""

    async def run() -> T:
        engine = _engine(settings)
        try:
            async with unit_of_work(session_factory(engine), write=False) as session:
                return await work(session)
        finally:
            await engine.dispose()

    with _database_errors(settings):
        return asyncio.run(run())


@cli.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo program.")] = False,
    url: Annotated[
        str, typer.Option(help="The server's address, for the curl lines printed (make run passes HOST and PORT).")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Load seed data; `--demo` loads the demo program idempotently and prints its users."""
    if not demo:
        raise _fail("nothing to do: pass --demo")
    settings = _settings()
    from seeds.demo import load_demo

    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    summary = _with_session(settings, lambda session: load_demo(session, passwords, url, hash_key=settings.hash_key()))
    typer.echo(summary)


@users.command("create")
def user_create(
    username: str,
    service: Annotated[bool, typer.Option("--service", help="A service account (client_credentials).")] = False,
    display_name: str = "",
    password: Annotated[str | None, typer.Option(help="Prompted for when left out.")] = None,
) -> None:
    """Create a person (password grant) or a service account (client_credentials grant).

    The password policy applies (LABELGRAPH_MIN_PASSWORD_LENGTH, LABELGRAPH_MIN_PASSWORD_SCORE).
    Through the API: createUser, inviteUser, createServiceAccount."""
    from app.auth.password_policy import PasswordPolicy
    from app.auth.service import create_identity

    settings = _settings()
    secret = password or getpass.getpass("Secret: ")
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    kind = IdentityKind.SERVICE if service else IdentityKind.HUMAN
    user = _with_session(
        settings,
        lambda s: create_identity(
            s,
            passwords,
            username=username,
            secret=secret,
            kind=kind,
            display_name=display_name,
            policy=PasswordPolicy.of(settings),
        ),
    )
    typer.echo(f"created {user.kind.value.lower()} {user.username} ({user.id})")


@users.command("grant")
def user_grant(
    username: str,
    role: str,
    project: Annotated[str | None, typer.Option(help="Project name; leave out for org-wide roles.")] = None,
) -> None:
    """Grant a role as the system (bootstrap: the first admin has nobody to grant it)."""
    from app.policies.roles import Role
    from app.policies.service import grant_as_system

    settings = _settings()
    try:
        chosen = Role(role)
    except ValueError:
        raise _fail(f"role must be one of {', '.join(r.value for r in Role)}") from None
    _with_session(settings, lambda s: grant_as_system(s, username, chosen, project))
    typer.echo(f"granted {role} to {username}" + (f" in {project}" if project else " org-wide"))


async def _acting_admin(session: AsyncSession, username: str) -> Actor:
    """The person a CLI change is made as: named, active, and allowed it by the grants in force,
    so the audit trail names who did it, as through the API."""
    from app.policies.enforcer import Authorizer
    from app.policies.service import grants_in_db

    user = await session.scalar(select(User).where(col(User.username) == username.lower()))
    if user is None or user.status is not UserStatus.ACTIVE:
        raise DomainError.single("NOT_FOUND", f"No active user named {username}.", "by")
    return Actor(user.id, user.username, user.kind, Authorizer(await grants_in_db(session)))


async def _user_named(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(col(User.username) == username.lower()))
    if user is None:
        raise DomainError.single("NOT_FOUND", f"No user named {username}.", "username")
    return user


@users.command("deactivate")
def user_deactivate(
    username: str,
    reason: Annotated[str, typer.Option(help="Why (kept with the account's history).")],
    by: Annotated[str, typer.Option("--by", help="The admin this is done as (the audit names them).")],
) -> None:
    """Take a person off at once, as deactivateUser does: sign-ins end, open work goes back to
    the queues, and tokens stop working on the next request; on SQLite a server running in
    another process notices within 10 s (its identity cache's backstop: SQLite has no NOTIFY)."""
    from app.auth.people import deactivate_user

    async def work(session: AsyncSession) -> str:
        actor = await _acting_admin(session, by)
        done = await deactivate_user(session, actor, (await _user_named(session, username)).id, reason)
        return (
            f"deactivated {done.user.username}: {done.sign_ins_ended} sign-ins ended, {done.tasks_returned} "
            f"tasks, {done.escalations_returned} escalations and {done.audits_returned} audits returned"
        )

    typer.echo(_with_session(_settings(), work))


@users.command("reactivate")
def user_reactivate(
    username: str,
    reason: Annotated[str, typer.Option(help="Why (kept with the account's history).")],
    by: Annotated[str, typer.Option("--by", help="The admin this is done as (the audit names them).")],
) -> None:
    """Let a deactivated person sign in again, as reactivateUser does (old tokens stay dead)."""
    from app.auth.people import reactivate_user

    async def work(session: AsyncSession) -> str:
        actor = await _acting_admin(session, by)
        user = await reactivate_user(session, actor, (await _user_named(session, username)).id, reason)
        return f"reactivated {user.username}: {user.status.value.lower()}"

    typer.echo(_with_session(_settings(), work))


@users.command("list")
def user_list() -> None:
    """List identities."""

    async def work(session: object) -> list[User]:
        return list(await session.scalars(select(User).order_by(col(User.username))))  # type: ignore[attr-defined]

    for user in _with_session(_settings(), work):
        typer.echo(f"{user.username:24} {user.kind.value:8} {'active' if user.is_active else 'inactive'}")


@retention.command("apply")
def retention_apply(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what is due; write nothing.")] = False,
    project: Annotated[
        str | None, typer.Option(help="One project (id or name); leave out for every project with a period.")
    ] = None,
) -> None:
    """Purge the content of items imported longer ago than their project's retention period, as
    erasure does (tombstones; ids, class values and counts stay); one audit event per project."""
    from rich.console import Console
    from rich.progress import Progress

    from app.erasure.retention import apply

    settings = _settings()
    _probe(settings, migrated=True)

    async def run() -> list[Any]:
        engine = _engine(settings)
        try:
            # On stderr, so the report on stdout stays plain lines; only on a terminal, so an error
            # stays one line in a log.
            console = Console(stderr=True)
            with Progress(transient=True, console=console, disable=not console.is_terminal) as bar:
                task = bar.add_task("dry run" if dry_run else "purging", total=None)
                return await apply(
                    session_factory(engine),
                    dry_run=dry_run,
                    project=project,
                    on_plan=lambda total: bar.update(task, total=total),
                    advance=lambda n: bar.advance(task, n),
                )
        finally:
            await engine.dispose()

    try:
        with _database_errors(settings):
            report = asyncio.run(run())
    except DomainError as exc:
        raise _fail(exc.problems[0].message) from None
    verb = "would purge" if dry_run else "purged"
    if not report:
        typer.echo("no project has a retention period")
    for entry in report:
        typer.echo(
            f"{entry.project_name}: {verb} {entry.items} items (older than {entry.retention_days} days, "
            f"before {entry.cutoff:%Y-%m-%d %H:%M} UTC), {entry.labels} labels and {entry.comments} comments scrubbed"
        )


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key current; the previous one keeps verifying (and stays published at
    /.well-known/jwks.json) until the last token it signed has expired. Running servers start
    signing with the new key within a minute. Audited."""
    from app.auth.keys import rotate

    settings = _settings()
    _probe(settings, migrated=True)
    rotated = _with_session(settings, lambda s: rotate(s, settings.secret_key, settings.token_lifetime_s))
    assert rotated is not None
    typer.echo(f"current key {rotated.kid}")
    if rotated.published_until is not None:
        until = f"{rotated.published_until:%Y-%m-%d %H:%M:%S} UTC"
        for kid in rotated.retired:
            typer.echo(f"retired {kid}: verifies until {until}")


@keys.command("list")
def keys_list() -> None:
    """The signing keys: current, retired (verifying until), or expired."""
    from app.auth.keys import describe

    settings = _settings()
    _probe(settings, migrated=True)
    for line in _with_session(settings, describe):
        typer.echo(line)


@consent.command("expire")
def consent_expire(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what is due; write nothing.")] = False,
) -> None:
    """Withdraw the items whose consent record expired (their open tasks cancelled), in every project
    at once; claims do the same for their own project. One audit event per project."""
    from app.consent.lapse import sweep

    settings = _settings()
    _probe(settings, migrated=True)

    async def run() -> list[Any]:
        engine = _engine(settings)
        try:
            return await sweep(session_factory(engine), dry_run=dry_run)
        finally:
            await engine.dispose()

    with _database_errors(settings):
        report = asyncio.run(run())
    if not report:
        typer.echo("no item's consent has lapsed")
    for entry in report:
        if entry.withdrawn is None:
            typer.echo(f"{entry.project_name}: would withdraw {entry.items} items whose consent expired")
        else:
            typer.echo(
                f"{entry.project_name}: {entry.items} items whose consent expired, {entry.withdrawn} withdrawn, "
                f"{entry.cancelled} open tasks cancelled"
            )


@automation.command("train")
def automation_train() -> None:
    """Retrain the built-in model of every project due (retrainEvery new decisions since its last
    run), as the server's background retrain does: for cron, or with LABELGRAPH_RETRAIN_POLL_S=0."""
    from app.automation.training import retrain_due
    from app.policies.enforcer import Authorizer
    from app.policies.service import grants_in_db

    settings = _settings()
    _probe(settings, migrated=True)

    async def run() -> list[Any]:
        engine = _engine(settings)
        sessions = session_factory(engine)
        try:
            async with sessions() as session:
                authorizer = Authorizer(await grants_in_db(session))
            return await retrain_due(sessions, authorizer)
        finally:
            await engine.dispose()

    with _database_errors(settings):
        report = asyncio.run(run())
    if not report:
        typer.echo("no project is due a retrain")
    for entry in report:
        runs = ", ".join(
            f"{field or '-'} {status.value}{f' ({code})' if code else ''}" for field, status, code in entry.runs
        )
        typer.echo(f"{entry.project_id}: {runs}")


@events.command("dispatch")
def events_dispatch(
    once: Annotated[bool, typer.Option("--once", help="One pass over what is due now, then exit.")] = False,
) -> None:
    """Send the webhook deliveries that are due (as the server's own dispatcher does): beside the
    servers, or instead of theirs with LABELGRAPH_EVENTS_DISPATCH=0. Without --once it keeps going
    until interrupted, polling every LABELGRAPH_EVENTS_POLL_S."""
    from app.events.dispatcher import Dispatcher

    settings = _settings()
    _probe(settings, migrated=True)

    async def run() -> None:
        engine = _engine(settings)
        dispatcher = Dispatcher(session_factory(engine), settings)
        try:
            while True:
                report = await dispatcher.run_once()
                if once or report.attempted:
                    typer.echo(report.summary())
                if once:
                    return
                await asyncio.sleep(settings.events_poll_s)
        finally:
            await dispatcher.stop()
            await engine.dispose()

    with _database_errors(settings), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@cli.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve the worker's own /metrics, unauthenticated, on this port.")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="The address of --metrics-port's bind.")] = "127.0.0.1",
) -> None:
    """Run the background jobs (consent sweeps, retrains, webhook deliveries) until SIGTERM or
    Ctrl-C: one worker beside servers started with LABELGRAPH_BACKGROUND=0, so N server processes
    do not each run them (app/worker.py)."""
    import logging

    from app.worker import run_until_signalled

    settings = _settings()
    _probe(settings, migrated=True)
    # Our own news (a sweep, a retrain, a failed tick); libraries only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("labelgraph").setLevel(logging.INFO)
    with _database_errors(settings):
        run_until_signalled(settings, (metrics_host, metrics_port) if metrics_port is not None else None)


# The operator's commands: clients of the API (a server at --url, or the local store in process).
cli.command("import")(_operator_command(operator.import_items))
cli.command("export")(_operator_command(operator.export))
schema.command("check")(_operator_command(operator.schema_check))
quality.command("report")(_operator_command(operator.quality_report))


@cli.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL (schema.graphql is this output)."""
    from app.schema import build_schema

    typer.echo(build_schema(Settings()).as_str())


def main() -> None:
    cli()
