"""GET /lineage/{item}.prov.json: an item's provenance as W3C PROV-JSON, for download."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.auth.actor import Actor
from app.auth.middleware import requires_actor
from app.downloads import attachment
from app.ids import encode_global_id, id_from_path
from app.lineage import service
from app.runtime import Runtime


@requires_actor
async def prov_json_endpoint(request: Request, actor: Actor) -> Response:
    runtime: Runtime = request.app.state.runtime
    item_id = id_from_path(request.path_params["item"], "Item")
    async with runtime.sessions() as session:
        graph = await service.lineage(session, actor, item_id) if item_id else None
    if graph is None:  # missing, or its project's lineage is not the caller's to read: the same answer
        return JSONResponse({"error": "not_found", "error_description": "No such item."}, status_code=404)
    assert item_id is not None
    return JSONResponse(
        service.prov_json(graph),
        media_type="application/json",
        headers=attachment(f"lineage-{encode_global_id('Item', item_id)}", "prov.json"),
    )
