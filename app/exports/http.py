"""GET /export/{project}.jsonl: authenticated, authorised, audited, and streamed."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.auth.bearer import actor_from_headers, unauthenticated_response
from app.compliance import audit
from app.db import unit_of_work
from app.errors import Unauthenticated
from app.exports.jsonl import export_lines
from app.projects.models import Project
from app.runtime import Runtime
from app.schema.node import parse_global_id


def _project_id(raw: str) -> uuid.UUID | None:
    """The path takes the project's global id, or its bare UUID."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        pass
    try:
        type_name, pk = parse_global_id(raw)
    except Exception:
        return None
    return pk if type_name == "Project" else None


async def export_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        actor = await actor_from_headers(runtime, request.headers)
    except Unauthenticated:
        return unauthenticated_response()
    project_id = _project_id(request.path_params["project"])
    async with unit_of_work(runtime.sessions, write=True) as session:
        project = await session.get(Project, project_id) if project_id else None
        if project is None:
            return JSONResponse({"error": "not_found", "error_description": "No such project."}, status_code=404)
        if not actor.can("export", "read", project.id):
            return JSONResponse({"error": "forbidden", "error_description": "You may not export it."}, status_code=403)
        await audit.record(session, actor, "export.download", "Project", project.id, project_id=project.id, request={})

    async def body() -> AsyncIterator[bytes]:
        async with runtime.sessions() as session:
            async for chunk in export_lines(session, project.id):
                yield chunk

    filename = re.sub(r"[^A-Za-z0-9._-]+", "-", project.name).strip("-") or "export"
    return StreamingResponse(
        body(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}.jsonl"'},
    )
