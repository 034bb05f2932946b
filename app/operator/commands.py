"""The operator's `labelgraph` commands: import, export, schema check, quality report.

app/cli.py registers them (`operator_command` turns their refusals into its one `error:` line and
exit code 2). Progress bars go to stderr and only to a terminal, so stdout keeps one summary line
and a log keeps errors on one line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from app.client.errors import ApiError

if TYPE_CHECKING:
    from rich.progress import Progress

    from app.client.api import Api

T = TypeVar("T")

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="LABELGRAPH_URL",
        help="A running server (the token in LABELGRAPH_TOKEN). Leave out to use the local store with --as.",
    ),
]
As = Annotated[
    str | None,
    typer.Option("--as", help="Local store only: the user to act as (its roles decide what it may do)."),
]


def _connect_and_run(
    url: str | None, as_user: str | None, work: Callable[[Api], Awaitable[T]], *, interrupted: str = "interrupted"
) -> T:
    """Run `work` against the server at `url`, or the local store as `as_user`; Ctrl-C is the one
    line `interrupted` too."""
    try:
        return _connect_and_run_once(url, as_user, work)
    except KeyboardInterrupt:
        raise ApiError(interrupted) from None


def _connect_and_run_once(url: str | None, as_user: str | None, work: Callable[[Api], Awaitable[T]]) -> T:
    import os

    from app.client.connect import connect

    token = os.environ.get("LABELGRAPH_TOKEN")

    async def run(settings: Callable[[], Any]) -> T:
        async with connect(url, token, as_user, settings) as api:
            return await work(api)

    if url:
        return asyncio.run(run(lambda: None))
    # The local store: the same checks (and one-line refusals) as every other command that opens it.
    from app import cli

    if not as_user:  # said before the database is even looked at
        raise ApiError("give --url (or LABELGRAPH_URL) for a server, or --as USERNAME to act on the local store")
    settings = cli._settings()
    cli._probe(settings, migrated=True)
    with cli._database_errors(settings):
        return asyncio.run(run(lambda: settings))


@contextlib.contextmanager
def _progress(*columns: Any) -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        yield bar


def import_items(
    project: Annotated[str, typer.Argument(help="The project's name or global id.")],
    file: Annotated[Path, typer.Argument(help="JSON Lines or CSV (see README: Importing from the CLI).")],
    format: Annotated[str | None, typer.Option("--format", help="jsonl or csv; by default from the extension.")] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per importItems call.")] = 500,
    state: Annotated[
        Path | None, typer.Option(help="Where the resume state is kept (default: FILE.import-state.json).")
    ] = None,
    errors: Annotated[
        Path | None, typer.Option(help="The per-row error report, JSON Lines (default: FILE.errors.jsonl).")
    ] = None,
    url: Url = None,
    as_user: As = None,
) -> None:
    """Import items from a file, streamed in batches through importItems. Resumable: run it again
    after an interruption and it goes on where it stopped, importing no row twice. Rows that fail
    are written to the error report while the good ones go in; exit code 1 when any row failed."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from app.operator.importer import run_import
    from app.operator.rows import count_records, format_of

    fmt = format_of(file, format)
    if fmt is None:
        raise ApiError(f"say --format jsonl or --format csv: {file.name} has neither extension")
    if not file.is_file():
        raise ApiError(f"{file} is not a file")
    state_path = state or file.with_name(file.name + ".import-state.json")
    errors_path = errors or file.with_name(file.name + ".errors.jsonl")

    async def work(api: Api) -> Any:
        target = await api.project(project)
        total = count_records(file, fmt)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with _progress(*columns) as bar:
            task = bar.add_task(f"importing into {target.name}", total=total, rate="-")

            def advance(n: int) -> None:
                bar.advance(task, n)
                speed = bar.tasks[task].speed
                bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

            try:
                report = await run_import(
                    api,
                    target,
                    file,
                    fmt,
                    state_path=state_path,
                    errors_path=errors_path,
                    batch=batch,
                    advance=advance,
                    # Where an earlier run stopped: a start, not progress (rows/s counts this run's rows).
                    resumed=lambda done: bar.reset(task, total=max(total, done), completed=done, rate="-"),
                )
            except ValueError as exc:  # the file itself is unusable (not UTF-8, no external_id column)
                raise ApiError(str(exc)) from None
        return target, report

    target, report = _connect_and_run(
        url, as_user, work, interrupted="interrupted: run the same command again to go on where it stopped"
    )
    parts = [f"imported {report.imported} rows into {target.name}"]
    if report.resumed_at:
        parts.append(f"resumed after row {report.resumed_at}")
    if report.already:
        parts.append(f"{report.already} were there already")
    if report.failed:
        parts.append(f"{report.failed} rows failed (see {errors_path})")
    typer.echo("; ".join(parts))
    if report.failed:
        raise typer.Exit(1)


def export(
    project: Annotated[str, typer.Argument(help="The project's name or global id.")],
    format: Annotated[
        str, typer.Option("--format", help="jsonl, csv, parquet, hf, label-studio, coco, conll or spacy.")
    ] = "jsonl",
    snapshot: Annotated[
        str | None, typer.Option(help="Download this dataset snapshot again instead of a new export.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="The file (for hf, the directory) to write; default from the project.")
    ] = None,
    purpose: Annotated[str | None, typer.Option(help="The purpose of the export (consent is read for it).")] = None,
    field: Annotated[
        str | None, typer.Option(help="coco / conll: the boxes or spans field, when the schema has several.")
    ] = None,
    url: Url = None,
    as_user: As = None,
) -> None:
    """Export a project's final labels (each export is recorded as a dataset snapshot), or download
    a snapshot again, streamed to a file with a progress bar. hf is unpacked into a directory
    loadable with `datasets.load_from_disk`."""
    from rich.progress import DownloadColumn, TextColumn, TransferSpeedColumn

    from app.operator.downloads import EXPORT_FORMATS, default_name, download, export_path

    if format not in EXPORT_FORMATS:
        raise ApiError(f"--format must be one of {', '.join(EXPORT_FORMATS)}")
    params = {k: v for k, v in (("purpose", purpose), ("field", field)) if v is not None}

    async def work(api: Api) -> Any:
        target = await api.project(project)
        path = export_path(target, snapshot, format)
        destination = out or default_name(target.name, format)
        with _progress(TextColumn("{task.description}"), DownloadColumn(), TransferSpeedColumn()) as bar:
            task = bar.add_task(f"exporting {target.name} ({format})", total=None)
            return await download(
                api,
                path,
                params,
                destination,
                on_start=lambda size: bar.update(task, total=size),
                advance=lambda n: bar.advance(task, n),
                unzip=format == "hf",
            )

    done = _connect_and_run(url, as_user, work)
    recorded = f" (snapshot {done.snapshot})" if done.snapshot else ""
    typer.echo(f"wrote {done.path}: {done.bytes:,} bytes{recorded}")


def schema_check(
    file: Annotated[Path, typer.Argument(help="The label schema: JSON, or YAML (.yaml/.yml) with PyYAML.")],
    guideline: Annotated[
        Path | None, typer.Option(help="A guideline: Markdown (.md), or its content as JSON/YAML.")
    ] = None,
) -> None:
    """Lint a label-schema file (and a guideline file against it) offline, as the server checks
    them: each problem on a line (file, code, path, message); exit 0 clean, 1 with problems, 2 when
    a file cannot be read."""
    from app.operator.schema_check import Unreadable, check_files

    try:
        checked = check_files(file, guideline)
    except Unreadable as exc:
        raise ApiError(str(exc)) from None
    for finding in checked.findings:
        typer.echo(finding.line())
    for note in checked.notes:
        typer.echo(f"note: {note}")
    if checked.findings:
        typer.echo(f"{len(checked.findings)} problems", err=True)
        raise typer.Exit(1)
    typer.echo(f"{file}: no problems" + (f"; {guideline}: no problems" if guideline else ""))


def _instant(option: str, value: str) -> str:
    """An ISO 8601 instant as given (2026-11-01, 2026-11-01T08:00:00Z, ...), checked before sending."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(f"--{option} must be an ISO 8601 date or time, not {value!r}") from None
    return value


def quality_report(
    project: Annotated[str, typer.Argument(help="The project's name or global id.")],
    out: Annotated[Path, typer.Option(help="FILE.html or FILE.pdf: the extension picks the format.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Start of the period (ISO 8601; default: 30 days ago).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="End of the period (ISO 8601; default: now).")] = None,
    url: Url = None,
    as_user: As = None,
) -> None:
    """Download the quality report of a period (projectQuality's figures, per-class error patterns,
    schema and guideline changes) as HTML or PDF."""
    from urllib.parse import quote

    from rich.progress import DownloadColumn, TextColumn

    from app.operator.downloads import REPORT_FORMATS, download

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in REPORT_FORMATS:
        raise ApiError("--out must end in .html or .pdf")
    params = {k: _instant(k, v) for k, v in (("from", from_), ("to", to)) if v is not None}

    async def work(api: Api) -> Any:
        target = await api.project(project)
        with _progress(TextColumn("{task.description}"), DownloadColumn()) as bar:
            task = bar.add_task(f"quality report of {target.name}", total=None)
            return await download(
                api,
                f"/reports/{quote(target.id, safe='')}/quality.{fmt}",
                params,
                out,
                on_start=lambda size: bar.update(task, total=size),
                advance=lambda n: bar.advance(task, n),
            )

    done = _connect_and_run(url, as_user, work)
    typer.echo(f"wrote {done.path}: {done.bytes:,} bytes")
