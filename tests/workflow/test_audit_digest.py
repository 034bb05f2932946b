"""The audit event's input digest covers the operation's whole validated input.

A compliance officer checks an event against the request a client says it sent: the digest is
SHA-256 of the canonical JSON of {"operation", "input"}, the input as the client wrote it
(camelCase, every field, defaults filled in), so nothing a service leaves out of its details
(a label's timeSpentMs, a project's description) escapes it. Secrets in an input (a refresh
token being revoked) are blanked before digesting.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from app.compliance.audit import digest
from app.compliance.models import AuditEvent
from tests.conftest import PASSWORD, SCHEMA, Api
from tests.workflow.flow import CREATE_PROJECT, POSITIVE, claimed, imported, project_a, rows, submit


async def digests(api: Api, action: str) -> list[str]:
    async with api.runtime.sessions() as session:
        found = await session.scalars(
            select(AuditEvent.input_digest).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        )
        return list(found)


async def test_a_label_event_digests_the_whole_input_time_spent_included(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(2))
    first = await claimed(api, project, as_="ann1")
    await submit(api, first["id"], POSITIVE, as_="ann1", timeSpentMs=1200)
    second = await claimed(api, project, as_="ann1")
    await submit(api, second["id"], POSITIVE, as_="ann1", timeSpentMs=3400)

    expected = [
        digest(
            {
                "operation": "submitLabel",
                "input": {"assignmentId": task["id"], "value": POSITIVE, "rationale": "", "timeSpentMs": spent},
            }
        )
        for task, spent in ((first, 1200), (second, 3400))
    ]
    assert await digests(api, "label.submit") == expected


async def test_a_project_event_digests_every_field_it_was_created_with(api: Api) -> None:
    given: dict[str, Any] = {"name": "Digested", "labelSchema": SCHEMA, "description": "All of it counts."}
    created = await api.data(CREATE_PROJECT, {"input": given}, as_="admin")
    assert created["createProject"]["errors"] == []

    whole = {
        **given,
        "overlap": 1,
        "leaseSeconds": 600,
        "guideline": None,
        "guidelineContent": None,
    }
    assert (await digests(api, "project.create"))[-1] == digest({"operation": "createProject", "input": whole})


REVOKE = """
mutation SignOut($input: RevokeTokenInput!) { revokeToken(input: $input) { revokedCount errors { code } } }
"""


async def sign_in(api: Api) -> str:
    response = await api.client.post(
        "/auth/token", data={"grant_type": "password", "username": "ann1", "password": PASSWORD}
    )
    token: str = response.json()["refresh_token"]
    return token


async def test_a_revoked_token_never_reaches_the_digest(api: Api) -> None:
    for _ in range(2):
        token = await sign_in(api)
        revoked = await api.data(REVOKE, {"input": {"refreshToken": token}}, as_="ann1")
        assert revoked["revokeToken"] == {"revokedCount": 1, "errors": []}

    first, second = await digests(api, "auth.refresh.revoke")
    # Two different tokens, the same digest: the token was blanked before digesting.
    assert (
        first == second == digest({"operation": "revokeToken", "input": {"refreshToken": "<redacted>", "all": False}})
    )


IMPORT = """
mutation Import($input: ImportItemsInput!) { importItems(input: $input) { importedCount errors { code } } }
"""


async def test_json_values_keep_their_own_keys_in_the_digest(api: Api) -> None:
    """Only input field names are the API's (camelCase); item data is digested as it was sent."""
    row = {"externalId": "snake-1", "data": {"snake_key": "v", "text": "t"}, "metadata": {"source_id": 7}}
    imported = await api.data(IMPORT, {"input": {"projectId": project_a(api), "items": [row]}}, as_="pm")
    assert imported["importItems"] == {"importedCount": 1, "errors": []}

    whole = {"projectId": project_a(api), "items": [{**row, "priority": 0.0, "gold": None, "consentId": None}]}
    assert await digests(api, "item.import") == [digest({"operation": "importItems", "input": whole})]
