"""GET /guidelines/{project}/{version}.md: a guideline version as a downloadable Markdown document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.downloads import attachment
from app.guidelines import content, service
from app.guidelines.render import render_markdown
from app.ids import id_from_path
from app.projects.reads import get_project
from app.runtime import Runtime


@requires_actor
async def guideline_markdown_endpoint(request: Request, actor: Actor) -> Response:
    runtime: Runtime = request.app.state.runtime
    project_id = id_from_path(request.path_params["project"], "Project")
    async with runtime.sessions() as session:
        project = await get_project(session, actor, project_id) if project_id else None
        if project is None:
            return _not_found("No such project.")
        if not actor.can("guideline", "read", project.id):
            access.denied("guideline", "You may not read it.")
            return JSONResponse({"error": "forbidden", "error_description": "You may not read it."}, status_code=403)
        row = await service.get_version(session, actor, project.id, request.path_params["version"])
    if row is None:
        return _not_found("No such guideline version.")
    access.read("GuidelineVersion", row.id)
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


def _not_found(message: str) -> Response:
    return JSONResponse({"error": "not_found", "error_description": message}, status_code=404)
