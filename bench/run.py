"""Run the fixed workload against a real server and print the figures (see bench/README.md).

    .venv/bin/python -m bench.run [--runs N] [--sqlite-only] [--quick]

Each repetition: a fresh database, `labelgraph migrate` and the bench's users through the CLI,
a fresh `uvicorn --factory app.main:app_from_env` on a free loopback port, then the workload
over HTTP. The server is stopped when a repetition ends, fails, or the bench is interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import httpx

from bench import workload
from bench.report import flatten, metrics, table
from bench.server import ROOT, Server, bootstrap
from bench.stores import PostgresStore, SqliteStore, Store, postgres_answers
from bench.workload import FULL, QUICK, BenchError, Sizes, item_rows, run_workload

T = TypeVar("T")


def say(line: str) -> None:
    print(line, flush=True)


def _terminated(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so the `finally` blocks stop the server and drop the database.
    raise SystemExit(128 + signum)


def _commit() -> str:
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """On uvloop when it is installed: the bench client's loop costs less CPU on the shared cores."""
    if _installed("uvloop"):
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coroutine)
    return asyncio.run(coroutine)


def repetition(
    store: Store, sizes: Sizes, rows: list[dict[str, object]], folder: Path, n: int, settings: dict[str, str]
) -> dict[str, float]:
    load = os.getloadavg()[0]  # before we add to it: others' work on the shared cores skews the figures
    store.fresh()
    started = time.perf_counter()
    bootstrap(store.url())
    say(f"  run {n}: migrated, users created ({time.perf_counter() - started:.1f} s); load average before: {load:.2f}")
    with Server(store.url(), folder / f"server-{store.name}-{n}.log", settings) as server:
        try:
            figures = _run_async(
                run_workload(server.base_url, sizes, rows, lambda: server.usage().cpu_s, lambda s: say(f"    {s}"))
            )
            peak_rss_mib = server.usage().peak_rss_mib
        except BaseException:
            say(f"  server log (last lines):\n{server.log_tail()}")
            raise
    over, assignments = store.over_overlap()
    say(f"    items leased beyond overlap at once: {over} ({assignments:,} assignments checked)")
    say(f"    server peak RSS: {peak_rss_mib:.1f} MiB")
    return flatten(figures, sizes, over, peak_rss_mib)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="repetitions per database (default 3; 1 with --quick)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even when it answers")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    parser.add_argument(
        "--method",
        choices=("MAJORITY", "WEIGHTED", "DAWID_SKENE"),
        default="MAJORITY",
        help="the project's aggregation (updateQualityPolicy; every item is still reviewed)",
    )
    parser.add_argument(
        "--compare-access-history",
        action="store_true",
        help="each run twice, with the access history on and off (LABELGRAPH_ACCESS_HISTORY=0), to see its cost",
    )
    args = parser.parse_args(argv)
    variants: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.compare_access_history:
        variants.append((" no access history", {"LABELGRAPH_ACCESS_HISTORY": "0"}))
    workload.METHOD = args.method
    sizes = QUICK if args.quick else FULL
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if runs < 1:
        parser.error("--runs must be at least 1")
    signal.signal(signal.SIGTERM, _terminated)

    say(
        f"labelgraph bench @ {_commit()}  |  Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{'QUICK sizes' if args.quick else 'full sizes'}, {runs} run(s) per database, aggregation {args.method}"
    )
    say(
        f"server: uvicorn, loop {'uvloop' if _installed('uvloop') else 'asyncio'}, "
        f"http {'httptools' if _installed('httptools') else 'h11'}, 1 process, no access log"
    )
    say(
        f"workload: import {sizes.items:,} items; {sizes.cycles:,} claim+submit cycles from {sizes.annotators} "
        f"annotators (overlap 1); review all; {sizes.pages} pages of {sizes.page_size}; export"
    )
    rows = item_rows(sizes.items)
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="labelgraph-bench-") as tmp:
        stores: list[Store] = [SqliteStore(Path(tmp))]
        if not args.sqlite_only:
            why = postgres_answers()
            if why is None:
                stores.append(PostgresStore())
            else:
                say(f"PostgreSQL skipped: nothing answers at 127.0.0.1:5432 ({why})")
        try:
            for store in stores:
                say(f"\n== {store.name}")
                for suffix, _ in variants:
                    results[store.name + suffix] = []
                try:
                    for n in range(1, runs + 1):
                        for suffix, settings in variants:  # interleaved: drifting load hits both alike
                            if suffix:
                                say(f"  run {n}{suffix}:")
                            results[store.name + suffix].append(repetition(store, sizes, rows, Path(tmp), n, settings))
                finally:
                    store.drop()
                for suffix, _ in variants:
                    say(f"  {store.name}{suffix}, median [min-max] of {runs}:")
                    for metric in metrics(sizes):
                        values = [r[metric.key] for r in results[store.name + suffix]]
                        say(f"    {metric.label.strip()}: {metric.spread(values)} {metric.unit}")
        except (BenchError, RuntimeError, httpx.HTTPError) as exc:
            say(f"\nbench failed: {exc}")
            return 1

    say("\n== Summary (median [min-max] of each run; met/MISSED: median against the target, any run for 0)")
    if args.quick:
        say("   QUICK sizes: the peer's figures and the targets are for the full workload.")
    say(table(sizes, results))
    if args.compare_access_history:
        off = variants[1][0]
        for store in stores:
            say(access_history_cost(results[store.name], results[store.name + off], store.name))
    return 0


def access_history_cost(on: list[dict[str, float]], off: list[dict[str, float]], store: str) -> str:
    """The figure the issue asks for: claim+submit throughput with the access history over without."""
    ratio = statistics.median(r["cycles_per_s"] for r in on) / statistics.median(r["cycles_per_s"] for r in off)
    cpu = statistics.median(r["srv_ms_per_cycle"] for r in on) / statistics.median(r["srv_ms_per_cycle"] for r in off)
    return f"{store}: access history on/off, claim+submit throughput x{ratio:.3f}, server CPU per cycle x{cpu:.3f}"


if __name__ == "__main__":
    sys.exit(main())
