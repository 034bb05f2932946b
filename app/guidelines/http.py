"""GET /guidelines/{project}/{version}.md and .pdf: a guideline version as a downloadable Markdown
document, or as a PDF with its decision tree drawn (rendered in a thread: CPU work)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.downloads import attachment, refusal
from app.guidelines import content, service
from app.guidelines.models import GuidelineVersion
from app.guidelines.render import render_markdown
from app.ids import id_from_path
from app.projects.models import Project
from app.projects.reads import get_project
from app.runtime import Runtime


@requires_actor
async def guideline_markdown_endpoint(request: Request, actor: Actor) -> Response:
    found = await _version(request, actor)
    if isinstance(found, Response):
        return found
    project, row = found
    document = render_markdown(
        project=project.name,
        version=row.version,
        status=row.status.value,
        published_at=row.published_at,
        changelog=row.changelog,
        body=row.body,
        content=content.parse(row.content),
    )
    return Response(
        document,
        media_type="text/markdown; charset=utf-8",
        headers=attachment(f"{project.name} guideline v{row.version}", "md"),
    )


@requires_actor
async def guideline_pdf_endpoint(request: Request, actor: Actor) -> Response:
    found = await _version(request, actor)
    if isinstance(found, Response):
        return found
    project, row = found
    document = await asyncio.to_thread(_pdf, project.name, row)
    return Response(
        document,
        media_type="application/pdf",
        headers=attachment(f"{project.name} guideline v{row.version}", "pdf"),
    )


def _pdf(project: str, row: GuidelineVersion) -> bytes:
    from app.guidelines.pdf import guideline_document
    from app.reports.pdf import render_pdf

    return render_pdf(
        guideline_document(
            project=project,
            version=row.version,
            status=row.status.value,
            published_at=row.published_at,
            changelog=row.changelog,
            body=row.body,
            content=content.parse(row.content),
        )
    )


async def _version(request: Request, actor: Actor) -> tuple[Project, GuidelineVersion] | Response:
    """The project and version the path names, or the response that says why not."""
    runtime: Runtime = request.app.state.runtime
    project_id = id_from_path(request.path_params["project"], "Project")
    async with runtime.sessions() as session:
        project = await get_project(session, actor, project_id) if project_id else None
        if project is None:
            return _not_found("No such project.")
        if not actor.can("guideline", "read", project.id):
            access.denied("guideline", "You may not read it.")
            return refusal(403, "forbidden", "You may not read it.")
        row = await service.get_version(session, actor, project.id, request.path_params["version"])
    if row is None:
        return _not_found("No such guideline version.")
    access.read("GuidelineVersion", row.id)
    return project, row


def _not_found(message: str) -> Response:
    return refusal(404, "not_found", message)
