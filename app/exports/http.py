"""GET /export/{project}.jsonl: authenticated, authorised, audited, and streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.compliance import audit
from app.db import unit_of_work
from app.downloads import attachment
from app.exports.jsonl import Reader, accepted_purposes, export_lines
from app.ids import id_from_path
from app.projects.reads import get_project
from app.runtime import Runtime


@requires_actor
async def export_endpoint(request: Request, actor: Actor) -> Response:
    runtime: Runtime = request.app.state.runtime
    project_id = id_from_path(request.path_params["project"], "Project")
    async with unit_of_work(runtime.sessions, write=True) as session:
        project = await get_project(session, actor, project_id) if project_id else None
        if project is None:
            return JSONResponse({"error": "not_found", "error_description": "No such project."}, status_code=404)
        if not actor.can("export", "read", project.id):
            access.denied("export", "You may not export it.")
            return JSONResponse({"error": "forbidden", "error_description": "You may not export it."}, status_code=403)
        access.read("Project", project.id)
        purpose = request.query_params.get("purpose")
        if purpose is not None and purpose not in accepted_purposes(project):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "purpose is not one this project accepts."},
                status_code=400,
            )
        await audit.record(
            session,
            actor,
            "export.download",
            "Project",
            project.id,
            project_id=project.id,
            request={"purpose": purpose},
            details={"purpose": purpose} if purpose else None,
        )

    # Shaped by what the caller may read: an ml_service account exports no person and no single label.
    reader = Reader(
        labels=actor.can("label", "read", project.id),
        items=actor.can("item", "read", project.id),
        purpose=purpose,
        consent_required=project.consent_required,
    )

    async def body() -> AsyncIterator[bytes]:
        async with runtime.sessions() as session:
            async for chunk in export_lines(session, project.id, reader):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="application/x-ndjson",
        headers=attachment(project.name, "jsonl"),
    )
