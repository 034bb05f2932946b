"""Authorization tests: who may do what, in which project; and that a refusal writes nothing.

Helpers shared by the security and policy tests live here: the GraphQL documents a client
sends to move items through the loop, a snapshot of the database, the shape of a refusal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.db import metadata
from tests.conftest import Api

IMPORT = """
mutation Import($input: ImportItemsInput!) {
  importItems(input: $input) { importedCount errors { code field message } }
}
"""
CLAIM = """
mutation Claim($input: ClaimNextTaskInput!) {
  claimNextTask(input: $input) { resumed assignment { id item { id externalId } } errors { code field message } }
}
"""
SUBMIT = """
mutation Submit($input: SubmitLabelInput!) {
  submitLabel(input: $input) { label { id status author { username } } errors { code field message } }
}
"""
REVIEW = """
mutation Review($input: ReviewLabelInput!) {
  reviewLabel(input: $input) {
    review { id verdict reviewer { username } }
    finalLabel { method value }
    item { status }
    errors { code field message }
  }
}
"""
GRANT = """
mutation Grant($input: RoleInput!) {
  grantRole(input: $input) { user { username } errors { code field message } }
}
"""
REVOKE = """
mutation Revoke($input: RoleInput!) {
  revokeRole(input: $input) { user { username } errors { code field message } }
}
"""

State = dict[str, list[tuple[str, ...]]]


async def import_items(api: Api, project: str, external_ids: list[str], *, as_: str) -> None:
    """Items handed out in the order given: the first gets the highest priority."""
    items = [
        {"externalId": ext, "data": {"text": f"text of {ext}"}, "priority": len(external_ids) - n}
        for n, ext in enumerate(external_ids)
    ]
    data = await api.data(IMPORT, {"input": {"projectId": project, "items": items}}, as_=as_)
    assert data["importItems"] == {"importedCount": len(items), "errors": []}


async def claim_and_submit(api: Api, project: str, annotator: str, sentiment: str) -> dict[str, str]:
    """The annotator's next task, labeled: the global ids of its task, item and label."""
    claim = await api.data(CLAIM, {"input": {"projectId": project}}, as_=annotator)
    task = claim["claimNextTask"]["assignment"]
    value = {"sentiment": sentiment}
    submit = await api.data(SUBMIT, {"input": {"assignmentId": task["id"], "value": value}}, as_=annotator)
    assert submit["submitLabel"]["errors"] == []
    return {"task": task["id"], "item": task["item"]["id"], "label": submit["submitLabel"]["label"]["id"]}


ACCESS_HISTORY = {"access_event", "access_resource"}


async def database_state(api: Api) -> State:
    """Every row of every table, in a stable order: equal states mean nothing was written.
    Access history is left out: it records every request, refused ones above all."""
    state: State = {}
    async with api.runtime.sessions() as session:
        for table in metadata.sorted_tables:
            if table.name in ACCESS_HISTORY:
                continue
            rows = (await session.execute(select(table))).all()
            state[table.name] = sorted(tuple(repr(value) for value in row) for row in rows)
    return state


def assert_forbidden(body: dict[str, Any]) -> None:
    """A refusal of what the caller can read but may not do: a FORBIDDEN GraphQL error on the
    refused field's path, the rest of the response standing. Any other code (or a masked 500)
    is a failure."""
    errors = body.get("errors")
    assert errors, f"expected FORBIDDEN, got {body}"
    codes = {(error.get("extensions") or {}).get("code") for error in errors}
    assert codes == {"FORBIDDEN"}, body
    assert all(error.get("path") for error in errors), body
    assert body.get("data") is not None, "a refusal nulls its own field, not the whole response"


def assert_not_found(body: dict[str, Any], field: str | None = None) -> None:
    """What the caller may not read does not exist for it: the mutation answers the NOT_FOUND
    payload error a missing id gets, with no GraphQL error."""
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert [error["code"] for error in payload["errors"]] == ["NOT_FOUND"], body
    if field is not None:
        assert payload["errors"][0]["field"] == field, body


def payload_codes(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return [error["code"] for error in payload["errors"]]
