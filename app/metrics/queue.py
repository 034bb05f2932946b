"""Queue figures per project, read from the database when /metrics is scraped: right in every
server process however many there are, and never counted by hand.

The stages of app/workflow/waiting.py (QUEUED, IN_REVIEW, ESCALATED items, AUDIT for pending QA
audits), as projectOperations shows them: how many wait in each and since when the oldest has. Projects with
nothing waiting are not exported, and at most `max_projects` are (those with the most waiting),
so a program of thousands of idle projects keeps a bounded exposition; the number left out is a
gauge of its own.
"""

from __future__ import annotations

import uuid

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import aware, utcnow
from app.ids import encode_global_id
from app.workflow.waiting import waiting


async def families(session: AsyncSession, max_projects: int) -> list[GaugeMetricFamily]:
    """The queue gauges as of now (one query). Projects by global id only: the `metrics` role reads
    no project, and the unauthenticated --metrics-port bind answers anyone who reaches it, so a
    project's name (user content) stays out; a dashboard maps ids to names through the API."""
    stages = await waiting(session)
    depth: dict[uuid.UUID, int] = {}
    for stage in stages:
        depth[stage.project_id] = depth.get(stage.project_id, 0) + stage.count
    shown = sorted(depth, key=lambda p: (-depth[p], str(p)))[: max(max_projects, 0)]
    now = utcnow()
    depth_family = GaugeMetricFamily(
        "labelgraph_queue_depth",
        "Work waiting per project and stage (QUEUED, IN_REVIEW, ESCALATED items; AUDIT: pending QA audits).",
        labels=("project", "status"),
    )
    oldest_family = GaugeMetricFamily(
        "labelgraph_queue_oldest_waiting_seconds",
        "Age of the oldest waiting per project and stage (since its item's import; an audit's creation).",
        labels=("project", "status"),
    )
    omitted = GaugeMetricFamily(
        "labelgraph_queue_projects_omitted",
        "Projects with undecided items left out of the queue figures (beyond LABELGRAPH_METRICS_MAX_PROJECTS).",
        value=max(len(depth) - len(shown), 0),
    )
    ids = {p: encode_global_id("Project", p) for p in shown}
    for stage in sorted(stages, key=lambda s: (str(s.project_id), s.status)):
        if stage.project_id not in ids:
            continue
        labels = [ids[stage.project_id], stage.status]
        depth_family.add_metric(labels, stage.count)
        if stage.oldest is not None:
            oldest_family.add_metric(labels, max((now - aware(stage.oldest)).total_seconds(), 0.0))
    return [depth_family, oldest_family, omitted]


class Fixed(Collector):
    """Families computed beforehand (the database is read asynchronously; collect() is not)."""

    def __init__(self, found: list[GaugeMetricFamily]) -> None:
        self.found = found

    def collect(self) -> list[GaugeMetricFamily]:
        return self.found
