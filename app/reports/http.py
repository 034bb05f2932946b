"""GET /reports/{project}/quality.html and .pdf?from=&to=: the quality report as a download.

The same permission as the projectQuality query (`quality read`): a project the caller cannot
read is 404, as a missing one; a readable one without the permission is 403; a bad period 400.
A download is audited (`report.download`, with its period and format) and noted in the access
history. The figures are read in one read transaction, the audit event written in a short one
after it; the rendering (CPU work) runs in a thread after both.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.clock import utcnow
from app.compliance import audit
from app.db import unit_of_work
from app.downloads import attachment
from app.downloads import refusal as error
from app.ids import id_from_path
from app.projects.reads import get_project
from app.reports import data as report_data
from app.runtime import Runtime

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@requires_actor
async def quality_html_endpoint(request: Request, actor: Actor) -> Response:
    return await _quality(request, actor, "html")


@requires_actor
async def quality_pdf_endpoint(request: Request, actor: Actor) -> Response:
    return await _quality(request, actor, "pdf")


async def _quality(request: Request, actor: Actor, fmt: str) -> Response:
    runtime: Runtime = request.app.state.runtime
    project_id = id_from_path(request.path_params["project"], "Project")
    now = utcnow()
    # The figures in a read transaction: on SQLite a write one would hold the process's write lock
    # (every claim and submit) for as long as a year's figures take. Then a short write for the audit.
    async with unit_of_work(runtime.sessions, write=False) as session:
        project = await get_project(session, actor, project_id) if project_id else None
        if project is None:
            return error(404, "not_found", "No such project.")
        if not actor.can("quality", "read", project.id):
            access.denied("quality", "You may not read its quality figures.")
            return error(403, "forbidden", "You may not read its quality figures.")
        try:
            period = report_data.parse_period(request.query_params.get("from"), request.query_params.get("to"), now)
        except report_data.PeriodError as exc:
            return error(400, "invalid_request", str(exc))
        access.read("Project", project.id)
        gathered = await report_data.gather(session, actor, project, period, now)
    shown = {"from": period.start.isoformat(), "to": period.end.isoformat(), "format": fmt}
    async with unit_of_work(runtime.sessions, write=True) as session:
        await audit.record(
            session,
            actor,
            "report.download",
            "Project",
            project.id,
            project_id=project.id,
            request=shown,
            details=shown,
        )
    body = await asyncio.to_thread(render, gathered, fmt)
    stem = f"{project.name} quality {period.start:%Y-%m-%d} {period.end:%Y-%m-%d}"
    return Response(body, media_type=MEDIA[fmt], headers=attachment(stem, fmt))


def render(gathered: report_data.ReportData, fmt: str) -> bytes:
    """The report in one format (run in a thread: ReportLab is CPU-bound and imported here lazily)."""
    from app.reports.quality import build

    document = build(gathered)
    if fmt == "pdf":
        from app.reports.pdf import render_pdf

        return render_pdf(document)
    from app.reports.html import render_html

    return render_html(document).encode()
