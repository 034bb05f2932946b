"""GET /metrics through the real app: who may scrape it, and that what it counts is what was done.

Every figure is read back with Prometheus' own text parser, before and after real work through
the API (claims, submits, a review, an escalation, refused input, a webhook delivery to a closed
port), and compared by the difference: each app has its own registry, so nothing else moves it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func
from sqlmodel import col, select

from app.compliance.models import AuditEvent
from app.ingestion.models import Item
from app.metrics import queue
from app.metrics import registry as metrics
from app.metrics.http import counted, metrics_only_app, prepare_multiprocess_dir
from app.metrics.registry import Metrics
from app.periodic import Periodic
from app.settings import Settings
from tests.conftest import ROOT, Api, gid
from tests.security import CLAIM, REVIEW, SUBMIT, claim_and_submit, import_items

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

ESCALATE = """
mutation Escalate($input: EscalateItemInput!) {
  escalateItem(input: $input) { item { status } errors { code field message } }
}
"""
REGISTER = """
mutation Register($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) { webhook { id } errors { code field message } }
}
"""


async def scrape(api: Api, as_: str | None = "metrics") -> Samples:
    headers = {"Authorization": f"Bearer {api.token(as_)}"} if as_ else {}
    response = await api.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, metric: str, **labels: str) -> float:
    """A sample's value; 0 for a labelled series that has not been seen yet (as Prometheus reads it)."""
    return samples.get((metric, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, metric: str, **labels: str) -> float:
    return value(after, metric, **labels) - value(before, metric, **labels)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def audit_rows(api: Api) -> int:
    async with api.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def work(api: Api) -> None:
    """Three claims, two labels, a review deciding one item, an escalation of the other, one
    refused submit, one invalid document, and two webhook attempts to a port nobody listens on."""
    project = gid("Project", api.world.project_a)
    await import_items(api, project, ["m-1", "m-2", "m-3"], as_="pm")
    hook = {"projectId": project, "url": f"http://127.0.0.1:{closed_port()}/hook", "events": ["LABEL_SUBMITTED"]}
    assert (await api.data(REGISTER, {"input": hook}, as_="pm"))["registerWebhook"]["errors"] == []
    first = await claim_and_submit(api, project, "ann1", "pos")
    second = await claim_and_submit(api, project, "ann1", "neg")
    await api.data(CLAIM, {"input": {"projectId": project}}, as_="ann1")  # m-3, held

    again = await api.data(
        SUBMIT, {"input": {"assignmentId": first["task"], "value": {"sentiment": "pos"}}}, as_="ann1"
    )
    assert [e["code"] for e in again["submitLabel"]["errors"]] == ["ALREADY_SUBMITTED"]
    reviewed = await api.data(REVIEW, {"input": {"labelId": first["label"], "verdict": "ACCEPT"}}, as_="reviewer")
    assert reviewed["reviewLabel"]["finalLabel"]["method"] == "CONSENSUS_ACCEPTED"
    escalated = await api.data(ESCALATE, {"input": {"itemId": second["item"], "reason": "Sarcasm?"}}, as_="reviewer")
    assert escalated["escalateItem"] == {"item": {"status": "ESCALATED"}, "errors": []}
    invalid = await api.gql("query Whatever { noSuchField }", as_="ann1")
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    report = await api.runtime.dispatcher.run_once()
    assert report.errors == {"CONNECTION_FAILED": 2}


async def test_the_counters_move_by_exactly_the_work_done(api: Api) -> None:
    before, audits_before = await scrape(api), await audit_rows(api)

    await work(api)

    after, audits_after = await scrape(api), await audit_rows(api)
    assert moved(before, after, "labelgraph_claims_total", queue="task") == 3
    assert moved(before, after, "labelgraph_labels_submitted_total") == 2
    assert moved(before, after, "labelgraph_decisions_total", method="CONSENSUS_ACCEPTED") == 1
    assert moved(before, after, "labelgraph_escalations_total", source="REVIEW") == 1
    assert moved(before, after, "labelgraph_errors_total", kind="payload", code="ALREADY_SUBMITTED") == 1
    assert moved(before, after, "labelgraph_errors_total", kind="graphql", code="GRAPHQL_VALIDATION_FAILED") == 1
    attempts = "labelgraph_webhook_attempts_total"
    assert moved(before, after, attempts, result="retrying", error="CONNECTION_FAILED") == 2
    assert moved(before, after, "labelgraph_webhook_attempt_duration_seconds_count") == 2
    assert moved(before, after, "labelgraph_audit_events_appended_total") == audits_after - audits_before > 0
    assert moved(before, after, "labelgraph_audit_append_duration_seconds_count") > 0

    requests = "labelgraph_graphql_request_duration_seconds_count"
    assert moved(before, after, requests, operation="claimNextTask", type="mutation") == 3
    assert moved(before, after, requests, operation="submitLabel", type="mutation") == 3  # one refused
    assert moved(before, after, requests, operation="reviewLabel", type="mutation") == 1
    assert moved(before, after, requests, operation="importItems", type="mutation") == 1
    assert moved(before, after, requests, operation="other", type="query") == 1  # the invalid document
    # Scrapes are no GraphQL request; nothing else was asked.
    total = sum(v for (name, _), v in after.items() if name == requests) - sum(
        v for (name, _), v in before.items() if name == requests
    )
    assert total == 1 + 1 + 3 + 3 + 1 + 1 + 1  # import, register, claims, submits, review, escalate, invalid


async def test_the_queue_figures_are_read_from_the_database_per_project_and_stage(api: Api) -> None:
    await work(api)  # m-1 FINAL, m-2 ESCALATED, m-3 QUEUED (held by ann1)

    after = await scrape(api)

    a, b = gid("Project", api.world.project_a), gid("Project", api.world.project_b)
    depth = {dict(labels)["status"]: v for (name, labels), v in after.items() if name == "labelgraph_queue_depth"}
    assert depth == {"QUEUED": 1, "ESCALATED": 1}
    assert {dict(labels)["project"] for (name, labels), _ in after.items() if name == "labelgraph_queue_depth"} == {a}
    assert value(after, "labelgraph_queue_oldest_waiting_seconds", project=a, status="QUEUED") >= 0
    assert not any("Project A" in dict(labels).values() for (_, labels) in after)  # ids only, never a name
    assert not any(dict(labels).get("project") == b for (_, labels) in after)  # nothing waits there
    assert value(after, "labelgraph_queue_projects_omitted") == 0
    # The dashboard's queue panel is the same reading (app/workflow/waiting.py).
    panel = await api.data(
        "query($id: ID!) { projectOperations(projectId: $id) { queue { stages { status count } } } }",
        {"id": a},
        as_="pm",
    )
    shown = {s["status"]: s["count"] for s in panel["projectOperations"]["queue"]["stages"] if s["count"]}
    assert shown == depth


async def test_at_most_the_projects_with_most_waiting_are_exported(api: Api) -> None:
    await import_items(api, gid("Project", api.world.project_a), ["q-1", "q-2"], as_="pm")
    await import_items(api, gid("Project", api.world.project_b), ["q-3"], as_="pm_b")

    async with api.runtime.sessions() as session:
        found = {family.name: family for family in await queue.families(session, max_projects=1)}

    depth = found["labelgraph_queue_depth"].samples
    assert [(s.labels["project"], s.labels["status"], s.value) for s in depth] == [
        (gid("Project", api.world.project_a), "QUEUED", 2)
    ]
    assert found["labelgraph_queue_projects_omitted"].samples[0].value == 1


async def test_no_label_value_names_an_item_or_a_person(api: Api) -> None:
    await work(api)

    after = await scrape(api)

    async with api.runtime.sessions() as session:
        items = list(await session.scalars(select(col(Item.id))))
    ids = [str(pk) for pk in [*items, *(user.id for user in api.world.users.values())]]
    ids += [gid("Item", pk) for pk in items] + [gid("User", user.id) for user in api.world.users.values()]
    names = set(api.world.users)
    values = {v for (_, labels) in after for _, v in labels}
    assert not [v for v in values if any(i in v for i in ids) or v in names]


async def test_operation_labels_are_the_schema_s_root_fields_whatever_clients_name_them(api: Api) -> None:
    before = await scrape(api)

    await api.gql("query MyDashboard_v2 { viewer { username } }", as_="ann1")
    await api.gql("query { ...Both } fragment Both on Query { viewer { username } }", as_="ann1")
    await api.gql("{ viewer { username } __typename projects(first: 1) { nodes { id } } }", as_="ann1")
    await api.gql("{ __schema { queryType { name } } }", as_="ann1")
    await api.client.post("/graphql", content=b"{ not json")
    unauthenticated = await api.client.post("/graphql", json={"query": "{ viewer { username } }"})
    assert unauthenticated.status_code == 401

    after = await scrape(api)
    requests = "labelgraph_graphql_request_duration_seconds_count"
    operations = {
        (dict(labels)["operation"], dict(labels)["type"]): v - value(before, requests, **dict(labels))
        for (name, labels), v in after.items()
        if name == requests and v != value(before, requests, **dict(labels))
    }
    assert operations == {
        ("viewer", "query"): 2,
        ("multiple", "query"): 1,
        ("introspection", "query"): 1,
        ("none", "none"): 2,
    }


async def test_only_holders_of_metrics_read_may_scrape(api: Api) -> None:
    unauthenticated = await api.client.get("/metrics")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for username in ("ann1", "pm", "compliance", "mlbot", "outsider"):
        refused = await api.client.get("/metrics", headers={"Authorization": f"Bearer {api.token(username)}"})
        assert refused.status_code == 403, username
        assert refused.json()["error"] == "forbidden"
        assert "labelgraph_" not in refused.text
    assert await scrape(api, as_="admin")
    assert await scrape(api, as_="metrics")


async def test_the_metrics_account_reads_nothing_else(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    body = await api.gql("query P($id: ID!) { project(id: $id) { id } }", {"id": project}, as_="metrics")
    assert body["data"] == {"project": None}
    export = await api.client.get(
        f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {api.token('metrics')}"}
    )
    assert export.status_code == 404


async def test_counts_wait_for_the_commit(api: Api) -> None:
    async with api.runtime.sessions() as session:
        metrics.count(session, lambda m: m.claims, "task")
        await session.rollback()
    rolled_back = await scrape(api)
    async with api.runtime.sessions() as session:
        metrics.count(session, lambda m: m.claims, "task")
        await session.commit()
    committed = await scrape(api)

    assert value(rolled_back, "labelgraph_claims_total", queue="task") == 0
    assert value(committed, "labelgraph_claims_total", queue="task") == 1


class Flaky(Periodic):
    """Ticks once fine, then fails, then waits for good (so exactly two ticks are counted)."""

    name = "flaky-test-job"

    def __init__(self) -> None:
        super().__init__(interval_s=0.001)
        self.ticks = 0
        self.failed = asyncio.Event()

    async def tick(self) -> None:
        self.ticks += 1
        if self.ticks == 2:
            self.failed.set()
            raise RuntimeError("a tick that fails")
        if self.ticks > 2:
            await asyncio.Event().wait()


async def test_background_job_ticks_are_counted_by_job_and_outcome(api: Api) -> None:
    job = Flaky()
    job.start(api.runtime.metrics)
    try:
        await asyncio.wait_for(job.failed.wait(), timeout=10)
    finally:
        await job.stop()  # cancels the third tick: not counted

    after = await scrape(api)
    assert value(after, "labelgraph_job_runs_total", job="flaky-test-job", outcome="ok") == 1
    assert value(after, "labelgraph_job_runs_total", job="flaky-test-job", outcome="failed") == 1
    assert value(after, "labelgraph_job_duration_seconds_count", job="flaky-test-job") == 2


def claims_in_another_process(directory: Path, claims: int) -> None:
    """A server process of its own (an interpreter with PROMETHEUS_MULTIPROC_DIR) counting claims."""
    probe = f"from app.metrics.registry import Metrics; Metrics().claims.labels('task').inc({claims})"
    env = {"PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": os.environ.get("PATH", "")}
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, check=True)  # noqa: S603  (a fixed program)


def test_multiprocess_mode_sums_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, each server process writes its counts there and any
    process's scrape answers the sum (here: two processes of two claims each)."""
    for _ in range(2):
        claims_in_another_process(tmp_path, 2)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    summed = parse(counted(Metrics()).decode())

    assert value(summed, "labelgraph_claims_total", queue="task") == 4


async def test_the_metrics_only_bind_answers_without_a_token_what_the_server_processes_counted(
    api: Api, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`labelgraph serve --metrics-port`: a separate app with /metrics alone, reading the server
    processes' counts from the multiprocess directory and the queue from the database."""
    directory = tmp_path / "multiprocess"  # apart from the test's SQLite file: the client reads every *.db
    directory.mkdir()
    claims_in_another_process(directory, 3)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    await import_items(api, gid("Project", api.world.project_a), ["s-1"], as_="pm")

    bind = metrics_only_app(settings)
    async with bind.router.lifespan_context(bind):
        transport = httpx.ASGITransport(app=bind)
        async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:
            scraped = await client.get("/metrics")
            elsewhere = await client.get("/graphql")

    assert scraped.status_code == 200
    samples = parse(scraped.text)
    assert value(samples, "labelgraph_claims_total", queue="task") == 3
    a = gid("Project", api.world.project_a)
    assert value(samples, "labelgraph_queue_depth", project=a, status="QUEUED") == 1
    assert elsewhere.status_code == 404


def test_serve_empties_the_multiprocess_directory_of_the_client_s_files_only(tmp_path: Path) -> None:
    for name in ("counter_999999.db", "histogram_12.db", "gauge_livesum_7.db", "labelgraph.db", "keep.txt"):
        (tmp_path / name).write_bytes(b"...")

    prepare_multiprocess_dir(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "labelgraph.db"]


def test_serve_turns_multiprocess_mode_on_for_several_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import _multiprocess_metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    _multiprocess_metrics(needed=False)  # one process, nothing asked: its own counts in memory
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ

    _multiprocess_metrics(needed=True)  # --workers 4, or --metrics-port

    chosen = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert chosen.is_dir()
    assert list(chosen.iterdir()) == []
    chosen.rmdir()
