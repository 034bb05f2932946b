"""The background jobs in a process of their own: a server started with LABELGRAPH_BACKGROUND=0
runs none of them, and `labelgraph worker` runs them (a webhook delivered, a lapsed consent swept)
until SIGTERM, then exits 0. The worker is the installed console script in a subprocess, as
compose runs it; the test's event loop keeps answering as the webhook receiver meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.runtime import Runtime
from app.settings import Settings
from tests.conftest import SECRET_KEY, Api, gid
from tests.consent.test_expiry import CHEAP, expiring, lapse
from tests.events.support import deliveries, receiver, register
from tests.security import import_items
from tests.workflow.flow import audit_events, project_a

LABELGRAPH = str(Path(sys.executable).with_name("labelgraph"))
JOBS = {"consent-lapse", "automation-retrain", "events-dispatcher"}


def background_tasks() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task.get_name() in JOBS}


async def started_jobs(settings: Settings) -> set[str]:
    """The names of the background tasks a Runtime with these settings starts (the test's own
    server, the api fixture's, runs some already: only the new ones count)."""
    before = background_tasks()
    runtime = await Runtime.start(settings)
    try:
        return {task.get_name() for task in background_tasks() - before}
    finally:
        await runtime.stop()


async def test_a_server_without_background_starts_none_of_the_jobs(api: Api) -> None:
    every_job = dataclasses.replace(
        api.runtime.settings, events_dispatch=True, consent_sweep_s=60.0, retrain_poll_s=60.0
    )

    assert await started_jobs(every_job) == JOBS  # the default: one process is a whole server
    assert await started_jobs(dataclasses.replace(every_job, background=False)) == set()


def test_the_setting_comes_from_labelgraph_background(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELGRAPH_SECRET_KEY", SECRET_KEY)
    assert Settings.from_env().background is True
    monkeypatch.setenv("LABELGRAPH_BACKGROUND", "0")
    assert Settings.from_env().background is False


async def until(check: Callable[[], Awaitable[bool]], worker: asyncio.subprocess.Process) -> None:
    """Wait for the worker to have done something (bounded: 60 s at most), failing at once if it exited."""
    for _ in range(1200):
        if await check():
            return
        assert worker.returncode is None, "the worker exited early"
        await asyncio.sleep(0.05)
    pytest.fail("the worker did not do it within 60 s")


async def test_the_worker_delivers_webhooks_sweeps_consent_and_stops_on_sigterm(api: Api, tmp_path: Path) -> None:
    project = gid("Project", api.world.project_a)
    consent_id = await expiring(api, "subj-w", "w-1")
    await lapse(api, consent_id)
    env = {
        **os.environ,
        **CHEAP,
        "LABELGRAPH_DATABASE_URL": api.runtime.settings.database_url,
        "LABELGRAPH_SECRET_KEY": SECRET_KEY,  # webhook secrets are derived from it, as in the server
        "LABELGRAPH_DATA_DIR": str(tmp_path),
        "LABELGRAPH_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LABELGRAPH_EVENTS_POLL_S": "0.05",
        "LABELGRAPH_CONSENT_SWEEP_S": "1",
        # As compose sets it for every service: the worker runs its jobs all the same.
        "LABELGRAPH_BACKGROUND": "0",
    }
    async with receiver() as hook:
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        hook.secret = registered["signingSecret"]
        await import_items(api, project, ["a-1"], as_="pm")  # the test's server dispatches nothing

        with socket.socket() as probe:  # a port the kernel picked for the worker's /metrics
            probe.bind(("127.0.0.1", 0))
            metrics_port = probe.getsockname()[1]
        worker = await asyncio.create_subprocess_exec(
            LABELGRAPH,
            "worker",
            "--metrics-port",
            str(metrics_port),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:

            async def delivered() -> bool:
                return len(hook.received) == 1

            async def swept() -> bool:
                return bool(await audit_events(api, "consent.expire", project_a(api)))

            await until(delivered, worker)
            await until(swept, worker)
            samples = await worker_metrics(metrics_port, worker)
            worker.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(worker.communicate(), timeout=60)
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()

    log = stderr.decode()
    assert worker.returncode == 0, log
    assert "Traceback" not in log
    assert "worker started: consent sweep every 1s" in log
    assert "labelgraph.worker: worker stopped" in log
    assert [r.verified for r in hook.received] == [True]
    assert {d["status"] for d in await deliveries(api, project)} == {"SUCCEEDED"}
    [event] = await audit_events(api, "consent.expire", project_a(api))
    assert event["details"] == {"items": 1, "itemsWithdrawn": 1, "assignmentsCancelled": 0}
    # Its own /metrics counted what it did: the delivery, and the sweep among its job's ticks.
    assert samples[("labelgraph_webhook_attempts_total", (("error", "none"), ("result", "succeeded")))] == 1
    assert samples[("labelgraph_job_runs_total", (("job", "consent-lapse"), ("outcome", "ok")))] >= 1
    assert not any(name.startswith("labelgraph_queue") for name, _ in samples)  # the servers' to give


async def worker_metrics(port: int, worker: asyncio.subprocess.Process) -> dict[tuple[str, Any], float]:
    """The worker's /metrics, parsed with the Prometheus text parser: (sample, labels) -> value."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(1200):
            try:
                response = await client.get("/metrics")
                break
            except httpx.TransportError:
                assert worker.returncode is None, "the worker exited early"
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker's /metrics did not answer within 60 s")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
