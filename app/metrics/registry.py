"""The metric objects of one server, and the one way code reports to them.

Each app builds its own `Metrics` (held by the Runtime), so two apps in one process (tests) never
see each other's counts; nothing uses prometheus-client's global default registry. The Runtime's
sessionmaker carries the Metrics in every session's `info`: services report through the session
they already hold (`on_commit`), and what they count is counted only once its transaction
committed: a claim rolled back by a later error was never a claim. Code running on sessions
without one (the CLI, tests' own sessions) reports to nothing.

Label values are bounded by construction: enum values (decision methods, escalation sources,
error codes, delivery outcomes), job names and GraphQL root field names; never an item, a user
or a project (the per-project queue figures are computed at scrape time, queue.py).

With PROMETHEUS_MULTIPROC_DIR set (several server processes), prometheus-client keeps every
counter and histogram in that directory, one file per process, and a scrape of any process sums
them all (http.py): set it to an empty directory before the processes start.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

# Where a session's info holds the Metrics of its server, and the changes waiting for the commit.
METRICS = "labelgraph.metrics"
PENDING = "labelgraph.metrics_pending"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds. GraphQL requests: a claim is a few ms, projectQuality over a large project seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The audit append holds the chain lock: sub-millisecond to tens of ms.
APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)

_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def bounded_code(code: object) -> str:
    """An error code as a label value: codes are upper-case enum names; anything else is OTHER."""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else "OTHER"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """Every metric a server process reports, registered in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.graphql_duration = Histogram(
            "labelgraph_graphql_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP, by operation (its root field when it selects "
            "one, else multiple, introspection, other or none) and type.",
            ("operation", "type"),
            registry=r,
            buckets=REQUEST_BUCKETS,
        )
        self.errors = Counter(
            "labelgraph_errors",
            "Errors answered: payload errors by their area code (kind payload), GraphQL errors by "
            "extensions.code (kind graphql).",
            ("kind", "code"),
            registry=r,
        )
        self.claims = Counter(
            "labelgraph_claims",
            "New claims committed (a live task handed back again is not one).",
            ("queue",),
            registry=r,
        )
        self.labels_submitted = Counter("labelgraph_labels_submitted", "Labels submitted and committed.", registry=r)
        self.decisions = Counter(
            "labelgraph_decisions",
            "Decisions recorded (first ones and re-decisions), by method.",
            ("method",),
            registry=r,
        )
        self.escalations = Counter(
            "labelgraph_escalations", "Escalations opened, by where they came from.", ("source",), registry=r
        )
        self.audit_append = Histogram(
            "labelgraph_audit_append_duration_seconds",
            "Time to append a transaction's audit events to the hash chain at commit (lock included).",
            registry=r,
            buckets=APPEND_BUCKETS,
        )
        self.audit_events = Counter(
            "labelgraph_audit_events_appended", "Audit events committed to the log.", registry=r
        )
        self.webhook_attempts = Counter(
            "labelgraph_webhook_attempts",
            "Webhook delivery attempts by result (succeeded, retrying, failed: no try left) and "
            "delivery error code (none on success).",
            ("result", "error"),
            registry=r,
        )
        self.webhook_duration = Histogram(
            "labelgraph_webhook_attempt_duration_seconds",
            "Time a webhook attempt took.",
            registry=r,
            buckets=JOB_BUCKETS,
        )
        self.job_runs = Counter(
            "labelgraph_job_runs",
            "Background job ticks, by job and outcome (ok, failed).",
            ("job", "outcome"),
            registry=r,
        )
        self.job_duration = Histogram(
            "labelgraph_job_duration_seconds",
            "Time a background job tick took.",
            ("job",),
            registry=r,
            buckets=JOB_BUCKETS,
        )
        if multiprocess_dir() is None:
            # CPU, memory, open files of this process; meaningless summed over several, so only alone.
            ProcessCollector(registry=r)

    def attach(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Every session of `sessions` reports here (through its info)."""
        sessions.configure(info={METRICS: self})

    def graphql_errors(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.errors.labels("graphql", bounded_code(code)).inc()

    def payload_errors(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.errors.labels("payload", bounded_code(code)).inc()

    @contextmanager
    def job(self, name: str) -> Iterator[None]:
        """Time one tick of a background job and count it ok or failed (the exception goes on).
        A tick cancelled by the server stopping is neither: it is not counted."""
        started = time.perf_counter()
        try:
            yield
        except Exception:
            self._ran(name, "failed", started)
            raise
        self._ran(name, "ok", started)

    def _ran(self, name: str, outcome: str, started: float) -> None:
        self.job_runs.labels(name, outcome).inc()
        self.job_duration.labels(name).observe(time.perf_counter() - started)


Change = Callable[[Metrics], Any]


def of(session: AsyncSession | Session) -> Metrics | None:
    """The Metrics this session reports to, if any."""
    found = session.info.get(METRICS)
    return found if isinstance(found, Metrics) else None


def on_commit(session: AsyncSession | Session, change: Change) -> None:
    """Apply `change` to the session's Metrics once its transaction commits; forget it on rollback."""
    if of(session) is not None:
        session.info.setdefault(PENDING, []).append(change)


def count(session: AsyncSession | Session, metric: Callable[[Metrics], Counter], *labels: str) -> None:
    """Add one to a counter (with these label values) once the session's transaction commits."""

    def change(m: Metrics) -> None:
        counter = metric(m)
        (counter.labels(*labels) if labels else counter).inc()

    on_commit(session, change)


@event.listens_for(Session, "after_commit")
def _apply(session: Session) -> None:
    pending: list[Change] | None = session.info.pop(PENDING, None)
    metrics = of(session)
    if pending and metrics is not None:
        for change in pending:
            change(metrics)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


def audit_appended(session: Session, seconds: float, events: int) -> None:
    """The chain append of one commit: timed at once (it happened), its events counted once durable."""
    found = of(session)
    if found is not None:
        found.audit_append.observe(seconds)
        on_commit(session, lambda m: m.audit_events.inc(events))


def webhook_attempted(session: AsyncSession, result: str, error: str | None, seconds: float) -> None:
    """One attempt's outcome, counted with the transaction that records it in the delivery log."""

    def change(m: Metrics) -> None:
        m.webhook_attempts.labels(result, "none" if error is None else bounded_code(error)).inc()
        m.webhook_duration.observe(seconds)

    on_commit(session, change)
