"""GET /export/{project}/{format} and /export/snapshots/{snapshot}/{format} (and the older
/export/{project}.jsonl and /export/snapshots/{snapshot}.jsonl): authenticated, authorised,
audited, recorded as a dataset snapshot, and streamed in any format of exports/formats.py.
GET /export/snapshots/{snapshot}/label-studio-config: the Label Studio labeling config for it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.access import note as access
from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.compliance import audit
from app.db import unit_of_work
from app.downloads import attachment, refusal
from app.exports import label_studio
from app.exports.formats import ExportRefused, Format, choose_field, lookup
from app.exports.jsonl import Reader, accepted_purposes
from app.exports.source import Source
from app.ids import encode_global_id, id_from_path
from app.lineage import reads as lineage_reads
from app.lineage import service as lineage
from app.lineage.models import DatasetSnapshot
from app.projects.models import Project
from app.projects.reads import get_project
from app.runtime import Runtime
from app.taxonomy.schema_language import FieldSpec, LabelSchema
from app.taxonomy.versions import version_chain, version_chain_at


def _content_forbidden(fmt: Format) -> JSONResponse:
    access.denied("export", f"The {fmt.name} format needs item content.")
    return refusal(403, "forbidden", f"The {fmt.name} format carries item content, which you may not read here.")


@requires_actor
async def export_endpoint(request: Request, actor: Actor) -> Response:
    """GET /export/{project}.jsonl, as GET /export/{project}/jsonl."""
    return await _export(request, actor, "jsonl")


@requires_actor
async def export_format_endpoint(request: Request, actor: Actor) -> Response:
    return await _export(request, actor, request.path_params["format"])


async def _export(request: Request, actor: Actor, format_name: str) -> Response:
    runtime: Runtime = request.app.state.runtime
    project_id = id_from_path(request.path_params["project"], "Project")
    async with unit_of_work(runtime.sessions, write=True) as session:
        project = await get_project(session, actor, project_id) if project_id else None
        if project is None:
            return refusal(404, "not_found", "No such project.")
        if not actor.can("export", "read", project.id):
            access.denied("export", "You may not export it.")
            return refusal(403, "forbidden", "You may not export it.")
        access.read("Project", project.id)
        purpose = request.query_params.get("purpose")
        if purpose is not None and purpose not in accepted_purposes(project):
            return refusal(400, "invalid_request", "purpose is not one this project accepts.")
        schema = (await version_chain(session, project)).active.schema
        try:
            fmt = lookup(format_name)
            field = choose_field(fmt, schema, request.query_params.get("field"))
        except ExportRefused as refused:
            return refusal(400, "invalid_request", str(refused))
        # Shaped by what the caller may read: an ml_service account exports no person and no single label.
        reader = Reader(
            labels=actor.can("label", "read", project.id),
            items=actor.can("item", "read", project.id),
            purpose=purpose,
            consent_required=project.consent_required,
        )
        if fmt.needs_items and not reader.items:
            return _content_forbidden(fmt)
        # The dataset snapshot: the exact rows this export streams, stored before the first byte.
        snapshot = await lineage.create_snapshot(session, actor, project, reader, format=fmt.name)
        details: dict[str, object] = {"snapshot": str(snapshot.id), "items": snapshot.item_count, "format": fmt.name}
        if purpose:
            details["purpose"] = purpose
        if field is not None:
            details["field"] = field.name
        await audit.record(
            session,
            actor,
            "export.download",
            "Project",
            project.id,
            project_id=project.id,
            request={"purpose": purpose, "format": fmt.name, "field": field.name if field else None},
            details=details,
        )
    return _stream(runtime, Target(snapshot, reader, schema, field), fmt, project.name, first=True)


@requires_actor
async def snapshot_endpoint(request: Request, actor: Actor) -> Response:
    """GET /export/snapshots/{snapshot}.jsonl, as GET /export/snapshots/{snapshot}/jsonl."""
    return await _snapshot(request, actor, "jsonl")


@requires_actor
async def snapshot_format_endpoint(request: Request, actor: Actor) -> Response:
    """A snapshot again, in any format, rendered from its stored decision versions (byte for byte
    for the same format, except tombstones for content that may not go out again)."""
    return await _snapshot(request, actor, request.path_params["format"])


@dataclass(frozen=True)
class Target:
    """What is rendered: a snapshot for a reader, in the terms of its schema, one field or all."""

    snapshot: DatasetSnapshot
    reader: Reader
    schema: LabelSchema
    field: FieldSpec | None = None


async def _readable_snapshot(
    request: Request, actor: Actor, runtime: Runtime
) -> tuple[DatasetSnapshot, Project, Reader, LabelSchema] | JSONResponse:
    """The snapshot named by the path, if the actor may download it, with what it may read of it now."""
    snapshot_id = id_from_path(request.path_params["snapshot"], "DatasetSnapshot")
    async with runtime.sessions() as session:
        snapshot = await lineage_reads.get_snapshot(session, actor, snapshot_id) if snapshot_id else None
        if snapshot is None:
            return refusal(404, "not_found", "No such snapshot.")
        if not actor.can("export", "read", snapshot.project_id):
            access.denied("export", "You may not download it.")
            return refusal(403, "forbidden", "You may not download it.")
        project = await session.get(Project, snapshot.project_id)
        assert project is not None
        schema = (await version_chain_at(session, snapshot.project_id, snapshot.active_schema_version)).active.schema
    # Never more than the caller may read now, nor more than the snapshot held.
    reader = Reader(
        labels=snapshot.with_labels and actor.can("label", "read", snapshot.project_id),
        items=snapshot.with_items and actor.can("item", "read", snapshot.project_id),
        purpose=snapshot.purpose,
        consent_required=project.consent_required,
    )
    return snapshot, project, reader, schema


async def _snapshot(request: Request, actor: Actor, format_name: str) -> Response:
    runtime: Runtime = request.app.state.runtime
    found = await _readable_snapshot(request, actor, runtime)
    if isinstance(found, JSONResponse):
        return found
    snapshot, project, reader, schema = found
    try:
        fmt = lookup(format_name)
        field = choose_field(fmt, schema, request.query_params.get("field"))
    except ExportRefused as refused:
        return refusal(400, "invalid_request", str(refused))
    if fmt.needs_items and not reader.items:
        return _content_forbidden(fmt)
    access.read("DatasetSnapshot", snapshot.id)
    async with unit_of_work(runtime.sessions, write=True) as session:
        details: dict[str, object] = {"format": fmt.name}
        if field is not None:
            details["field"] = field.name
        await audit.record(
            session,
            actor,
            "export.snapshot_download",
            "DatasetSnapshot",
            snapshot.id,
            project_id=snapshot.project_id,
            request={"snapshot": str(snapshot.id), "format": fmt.name, "field": field.name if field else None},
            details=details,
        )
    return _stream(runtime, Target(snapshot, reader, schema, field), fmt, project.name, first=False)


@requires_actor
async def label_studio_config_endpoint(request: Request, actor: Actor) -> Response:
    """The labeling config a Label Studio project needs to load the snapshot's label-studio export."""
    runtime: Runtime = request.app.state.runtime
    found = await _readable_snapshot(request, actor, runtime)
    if isinstance(found, JSONResponse):
        return found
    snapshot, project, reader, schema = found
    access.read("DatasetSnapshot", snapshot.id)
    async with runtime.sessions() as session:
        first_text = await label_studio.first_text_key(Source(session, snapshot, reader, schema))
    return Response(
        label_studio.label_config(schema, first_text),
        media_type="application/xml",
        headers=attachment(f"{project.name}-label-studio-config", "xml"),
    )


def _stream(runtime: Runtime, target: Target, fmt: Format, name: str, *, first: bool) -> Response:
    snapshot = target.snapshot

    async def body() -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        async with runtime.sessions() as session:
            source = Source(session, snapshot, target.reader, target.schema, target.field)
            async for chunk in fmt.render(source):
                digest.update(chunk)
                yield chunk
        if first:  # streamed whole: what the snapshot's bytes are
            async with unit_of_work(runtime.sessions, write=True) as session:
                await lineage.record_digest(session, snapshot.id, digest.hexdigest())

    gid = encode_global_id("DatasetSnapshot", snapshot.id)
    headers = {**attachment(fmt.file_stem(name), fmt.extension), "Labelgraph-Snapshot": gid}
    if fmt.name == "label-studio":
        headers["Labelgraph-Label-Config"] = f"/export/snapshots/{gid}/label-studio-config"
    return StreamingResponse(body(), media_type=fmt.media_type, headers=headers)
