"""importItems: all rows or none.

Covers a valid batch (counted, audited), the 10,000-row ceiling sent as variables, one bad row
rejecting the whole call with an error per row, duplicate externalIds inside a batch and
against earlier imports, wrongly typed rows, and unknown or malformed project ids.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import Api, gid
from tests.workflow.flow import IMPORT_ITEMS, audit_events, codes, import_items, item_counts, project_a, rows

EMPTY = {"queued": 0, "inReview": 0, "final": 0, "total": 0}


async def test_a_valid_batch_is_queued_and_audited(api: Api) -> None:
    project = project_a(api)

    payload = await import_items(api, project, rows(3))

    assert payload == {"importedCount": 3, "errors": []}
    assert await item_counts(api, project) == {"queued": 3, "inReview": 0, "final": 0, "total": 3}
    [event] = await audit_events(api, "item.import", project)
    assert event["actor"] == {"username": "pm"}
    assert event["details"]["count"] == 3


async def test_ten_thousand_rows_in_one_call_are_accepted(api: Api) -> None:
    project = project_a(api)

    payload = await import_items(api, project, rows(10_000))

    assert payload == {"importedCount": 10_000, "errors": []}
    assert (await item_counts(api, project))["total"] == 10_000


async def test_ten_thousand_and_one_rows_are_refused_whole(api: Api) -> None:
    project = project_a(api)

    payload = await import_items(api, project, rows(10_001))

    assert codes(payload) == [("BATCH_TOO_LARGE", "items")]
    assert payload["importedCount"] == 0
    assert await item_counts(api, project) == EMPTY


async def test_bad_rows_reject_the_whole_call_with_an_error_per_row(api: Api) -> None:
    project = project_a(api)
    batch = rows(6)
    batch[1]["data"] = ["not", "an", "object"]
    batch[3]["data"] = "just text"
    batch[4]["data"] = {}
    batch[5]["metadata"] = "not an object"

    payload = await import_items(api, project, batch)

    assert codes(payload) == [
        ("INVALID_DATA", "items.1.data"),
        ("INVALID_DATA", "items.3.data"),
        ("INVALID_DATA", "items.4.data"),
        ("INVALID_METADATA", "items.5.metadata"),
    ]
    assert payload["importedCount"] == 0
    # The four good rows were not written either, and nothing was audited.
    assert await item_counts(api, project) == EMPTY
    assert await audit_events(api, "item.import", project) == []


async def test_an_empty_or_blank_external_id_is_a_row_error(api: Api) -> None:
    project = project_a(api)
    batch = rows(3)
    batch[0]["externalId"] = ""
    batch[2]["externalId"] = "   "

    payload = await import_items(api, project, batch)

    assert codes(payload) == [
        ("INVALID_EXTERNAL_ID", "items.0.externalId"),
        ("INVALID_EXTERNAL_ID", "items.2.externalId"),
    ]
    assert await item_counts(api, project) == EMPTY


async def test_an_empty_batch_is_refused(api: Api) -> None:
    payload = await import_items(api, project_a(api), [])

    assert codes(payload) == [("EMPTY_BATCH", "items")]


async def test_a_repeated_external_id_inside_a_batch_is_refused(api: Api) -> None:
    project = project_a(api)
    batch = rows(3)
    batch[2]["externalId"] = batch[0]["externalId"]

    payload = await import_items(api, project, batch)

    assert codes(payload) == [("DUPLICATE_IN_BATCH", "items.2.externalId")]
    assert await item_counts(api, project) == EMPTY


async def test_reimporting_an_external_id_is_refused_not_duplicated(api: Api) -> None:
    project = project_a(api)
    await import_items(api, project, rows(2))
    again = rows(4)  # item-0 and item-1 exist already; item-2 and item-3 are new

    payload = await import_items(api, project, again)

    assert codes(payload) == [
        ("EXTERNAL_ID_EXISTS", "items.0.externalId"),
        ("EXTERNAL_ID_EXISTS", "items.1.externalId"),
    ]
    assert (await item_counts(api, project))["total"] == 2
    assert len(await audit_events(api, "item.import", project)) == 1


async def test_external_ids_are_unique_per_project_only(api: Api) -> None:
    await import_items(api, project_a(api), rows(2))

    payload = await import_items(api, gid("Project", api.world.project_b), rows(2), as_="pm_b")

    assert payload == {"importedCount": 2, "errors": []}


@pytest.mark.parametrize("priority", ["Infinity", "-Infinity", "NaN", "1e999"])
async def test_a_non_finite_priority_is_a_clear_error(api: Api, priority: str) -> None:
    project = project_a(api)
    # A JSON encoder refuses these, but a body on the wire can carry them; Python's parser reads them.
    body = (
        f'{{"query": {json.dumps(IMPORT_ITEMS)}, "variables": {{"input": {{"projectId": "{project}", '
        f'"items": [{{"externalId": "a", "data": {{"text": "a"}}, "priority": {priority}}}]}}}}}}'
    )

    response = await api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token('pm')}", "Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["data"] is None
    [error] = result["errors"]
    assert "priority" in error["message"]
    assert "non numeric" in error["message"]
    assert await item_counts(api, project) == EMPTY


async def test_a_priority_of_the_wrong_type_is_a_clear_error(api: Api) -> None:
    project = project_a(api)
    batch = rows(2)
    batch[1]["priority"] = "high"

    body = await api.gql(IMPORT_ITEMS, {"input": {"projectId": project, "items": batch}}, as_="pm")

    assert body["data"] is None
    [error] = body["errors"]
    assert "items[1].priority" in error["message"]
    assert await item_counts(api, project) == EMPTY


@pytest.mark.parametrize(
    ("project_id", "code"),
    [
        (gid("Project", uuid.uuid4()), "NOT_FOUND"),
        ("not-an-id", "INVALID_ID"),
        (gid("Item", uuid.uuid4()), "INVALID_ID"),
        (str(uuid.uuid4()), "INVALID_ID"),
    ],
    ids=["unknown", "malformed", "wrong-type", "bare-uuid"],
)
async def test_an_unknown_or_malformed_project_id_is_refused(api: Api, project_id: str, code: str) -> None:
    payload = await import_items(api, project_id, rows(1), as_="admin")

    assert codes(payload) == [(code, "projectId")]
    assert await item_counts(api, project_a(api)) == EMPTY


async def test_an_annotator_may_not_import(api: Api) -> None:
    project = project_a(api)

    body = await api.gql(IMPORT_ITEMS, {"input": {"projectId": project, "items": rows(1)}}, as_="ann1")

    assert body["data"] == {"importItems": None}
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", ["importItems"])]
    assert await item_counts(api, project) == EMPTY
