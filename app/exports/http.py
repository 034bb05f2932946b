"""GET /export/{project}.jsonl and /export/snapshots/{snapshot}.jsonl: authenticated, authorised,
audited, recorded as a dataset snapshot, and streamed."""

from __future__ import annotations

import hashlib
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
from app.ids import encode_global_id, id_from_path
from app.lineage import reads as lineage_reads
from app.lineage import service as lineage
from app.lineage.models import DatasetSnapshot
from app.projects.models import Project
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
        # Shaped by what the caller may read: an ml_service account exports no person and no single label.
        reader = Reader(
            labels=actor.can("label", "read", project.id),
            items=actor.can("item", "read", project.id),
            purpose=purpose,
            consent_required=project.consent_required,
        )
        # The dataset snapshot: the exact rows this export streams, stored before the first byte.
        snapshot = await lineage.create_snapshot(session, actor, project, reader)
        await audit.record(
            session,
            actor,
            "export.download",
            "Project",
            project.id,
            project_id=project.id,
            request={"purpose": purpose},
            details={"purpose": purpose, "snapshot": str(snapshot.id), "items": snapshot.item_count}
            if purpose
            else {"snapshot": str(snapshot.id), "items": snapshot.item_count},
        )
    return _stream(runtime, snapshot, reader, project.name, first=True)


@requires_actor
async def snapshot_endpoint(request: Request, actor: Actor) -> Response:
    """GET /export/snapshots/{snapshot}.jsonl: a snapshot again, rendered from its stored decision
    versions (byte for byte, except tombstones for content that may not go out again)."""
    runtime: Runtime = request.app.state.runtime
    snapshot_id = id_from_path(request.path_params["snapshot"], "DatasetSnapshot")
    async with unit_of_work(runtime.sessions, write=True) as session:
        snapshot = await lineage_reads.get_snapshot(session, actor, snapshot_id) if snapshot_id else None
        if snapshot is None:
            return JSONResponse({"error": "not_found", "error_description": "No such snapshot."}, status_code=404)
        if not actor.can("export", "read", snapshot.project_id):
            access.denied("export", "You may not download it.")
            return JSONResponse(
                {"error": "forbidden", "error_description": "You may not download it."}, status_code=403
            )
        project = await session.get(Project, snapshot.project_id)
        assert project is not None
        access.read("DatasetSnapshot", snapshot.id)
        await audit.record(
            session,
            actor,
            "export.snapshot_download",
            "DatasetSnapshot",
            snapshot.id,
            project_id=snapshot.project_id,
            request={"snapshot": str(snapshot.id)},
        )
    # Never more than the caller may read now, nor more than the snapshot held.
    reader = Reader(
        labels=snapshot.with_labels and actor.can("label", "read", snapshot.project_id),
        items=snapshot.with_items and actor.can("item", "read", snapshot.project_id),
        purpose=snapshot.purpose,
        consent_required=project.consent_required,
    )
    return _stream(runtime, snapshot, reader, project.name, first=False)


def _stream(runtime: Runtime, snapshot: DatasetSnapshot, reader: Reader, name: str, *, first: bool) -> Response:
    async def body() -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        async with runtime.sessions() as session:
            async for chunk in export_lines(session, snapshot, reader):
                digest.update(chunk)
                yield chunk
        if first:  # streamed whole: what the snapshot's bytes are
            async with unit_of_work(runtime.sessions, write=True) as session:
                await lineage.record_digest(session, snapshot.id, digest.hexdigest())

    return StreamingResponse(
        body(),
        media_type="application/x-ndjson",
        headers={**attachment(name, "jsonl"), "Labelgraph-Snapshot": encode_global_id("DatasetSnapshot", snapshot.id)},
    )
