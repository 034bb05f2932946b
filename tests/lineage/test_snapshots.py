"""Dataset snapshots: every export records exactly what it streams; a snapshot downloads again byte for
byte after the current state moved on; which snapshots hold an item; what changed since D-1."""

from __future__ import annotations

import hashlib
import uuid

from tests.conftest import Api, gid
from tests.consent.support import consent, import_with, item, recorded, revoke
from tests.erasure.support import erase
from tests.lineage.support import (
    DIFF,
    SNAPSHOTS,
    audit_everything,
    decided,
    export,
    get,
    lines,
    overturn,
    snapshot,
)
from tests.workflow.flow import NEGATIVE, audit_events, imported, pk, project_a, rows


def contents(found: dict[str, object]) -> list[tuple[str, int]]:
    nodes = found["items"]["nodes"]  # type: ignore[index]
    return [(str(pk(n["itemId"])), n["decisionVersion"]) for n in nodes]


async def test_an_export_records_exactly_the_decisions_it_streams(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(3))
    await decided(api, project, 2)  # item-2 stays queued

    response = await export(api, project)

    snapshot_id = response.headers["Labelgraph-Snapshot"]
    exported = [(line["item_id"], line["decision_version"]) for line in lines(response)]
    assert len(exported) == 2
    found = await snapshot(api, snapshot_id)
    assert contents(found) == exported
    assert found["itemCount"] == 2
    assert found["contentDigest"] == hashlib.sha256(response.content).hexdigest()
    assert found["createdBy"] == {"username": "pm"}
    assert (found["purpose"], found["format"], found["activeSchemaVersion"]) == (None, "jsonl", 1)
    assert (found["withItemContent"], found["withLabels"], found["contentErased"]) == (True, True, False)
    assert [n["schemaVersion"] for n in found["items"]["nodes"]] == [1, 1]
    assert found["changesSince"] is None  # the project's first snapshot: no D-1
    [event] = await audit_events(api, "export.download", project)
    assert event["details"] == {"snapshot": str(pk(snapshot_id)), "items": 2, "format": "jsonl"}


async def test_a_snapshot_downloads_again_byte_for_byte_after_a_redecision(api: Api) -> None:
    project = project_a(api)
    await audit_everything(api, project)
    await imported(api, project, rows(2))
    await decided(api, project, 2)
    first = await export(api, project)
    found = await snapshot(api, first.headers["Labelgraph-Snapshot"])

    # The current state moves on: item-0 is re-decided (v2), a new item is labeled and decided.
    overturned = await overturn(api, project, NEGATIVE)
    await imported(api, project, rows(1, prefix="late"))
    await decided(api, project, 1)
    current = await export(api, project)
    assert {(line["item_id"], line["decision_version"]) for line in lines(current)} >= {(str(pk(overturned)), 2)}
    assert current.content != first.content

    again = await get(api, found["downloadPath"], as_="pm")

    assert again.status_code == 200, again.text
    assert again.headers["Labelgraph-Snapshot"] == found["id"]
    assert again.content == first.content
    assert hashlib.sha256(again.content).hexdigest() == found["contentDigest"]
    # Downloading again is audited; it records no new snapshot.
    [event] = await audit_events(api, "export.snapshot_download", project)
    assert event["entityId"] == str(pk(found["id"]))
    listed = await api.data(SNAPSHOTS, {"projectId": project}, as_="pm")
    assert len(listed["datasetSnapshots"]["nodes"]) == 2

    # An ML service downloads what it may read: no labels, no people, even of a manager's snapshot.
    narrow = lines(await get(api, found["downloadPath"], as_="mlbot"))
    assert all("decided_by" not in line and "annotator" not in line["labels"][0] for line in narrow)


async def test_changes_since_the_previous_snapshot_and_diff_between_two(api: Api) -> None:
    project = project_a(api)
    await audit_everything(api, project)
    [consent_id] = await recorded(api, consent("subj-lineage"))
    assert (await import_with(api, [item("c-0", consent_id), item("c-1"), item("c-2")]))["errors"] == []
    await decided(api, project, 3)
    older = await export(api, project)
    older_id = older.headers["Labelgraph-Snapshot"]
    by_name = {line["external_id"]: line["item_id"] for line in lines(older)}

    overturned = await overturn(api, project, NEGATIVE)  # c-0's decision: v2
    assert str(pk(overturned)) == by_name["c-0"]
    await imported(api, project, rows(1, prefix="late"))
    await decided(api, project, 1)
    late = {line["external_id"]: line["item_id"] for line in lines(await export(api, project))}["late-0"]
    # c-0's subject withdraws consent: the item is withdrawn and leaves the next export.
    assert (await revoke(api, consentIds=[consent_id]))["errors"] == []
    newer_id = (await export(api, project)).headers["Labelgraph-Snapshot"]

    changes = (await snapshot(api, newer_id, previous=older_id))["changesSince"]

    assert (changes["olderId"], changes["newerId"]) == (older_id, newer_id)
    assert (changes["addedCount"], changes["removedCount"], changes["changedCount"]) == (1, 1, 0)
    assert changes["unchangedCount"] == 2
    assert [str(pk(c["itemId"])) for c in changes["added"]] == [late]
    assert [(str(pk(c["itemId"])), c["before"], c["after"]) for c in changes["removed"]] == [(by_name["c-0"], 1, None)]
    # D-1 by default: the export just before (it held c-0 at v2 and late-0).
    default = (await snapshot(api, newer_id))["changesSince"]
    assert (default["addedCount"], default["removedCount"], default["changedCount"]) == (0, 1, 0)
    # diff(other) reads from this snapshot to the other; c-0's v1 -> v2 shows between the first and second.
    second_id = (await snapshot(api, newer_id))["changesSince"]["olderId"]
    diff = (await api.data(DIFF, {"id": older_id, "other": second_id}, as_="compliance"))["datasetSnapshot"]["diff"]
    assert (diff["addedCount"], diff["removedCount"], diff["changedCount"]) == (1, 0, 1)
    assert [str(pk(c["itemId"])) for c in diff["changed"]] == [by_name["c-0"]]

    # The oldest snapshot held c-0, whose content may not go out again: tombstone, digest differs.
    found = await snapshot(api, older_id)
    assert found["contentErased"] is True
    again = lines(await get(api, found["downloadPath"], as_="pm"))
    before = {line["item_id"]: line for line in lines(older)}
    assert [line["item_id"] for line in again] == list(before)
    for line in again:
        if line["item_id"] == by_name["c-0"]:
            assert line == {"item_id": by_name["c-0"], "decision_version": 1, "tombstone": "WITHDRAWN"}
        else:
            assert line == before[line["item_id"]]


async def test_which_snapshots_contain_an_item(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    await decided(api, project, 1)
    first = (await export(api, project)).headers["Labelgraph-Snapshot"]
    await imported(api, project, rows(1, prefix="late"))
    await decided(api, project, 1)
    second_response = await export(api, project)
    second = second_response.headers["Labelgraph-Snapshot"]
    ids = {line["external_id"]: gid("Item", uuid.UUID(line["item_id"])) for line in lines(second_response)}

    async def holding(name: str) -> list[str]:
        data = await api.data(SNAPSHOTS, {"projectId": project, "itemId": ids[name]}, as_="compliance")
        return [n["id"] for n in data["datasetSnapshots"]["nodes"]]

    assert await holding("item-0") == [second, first]  # newest first
    assert await holding("late-0") == [second]
    # Paged: one at a time.
    page = (await api.data(SNAPSHOTS, {"projectId": project, "first": 1}, as_="pm"))["datasetSnapshots"]
    assert [n["id"] for n in page["nodes"]] == [second]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = await api.data(SNAPSHOTS, {"projectId": project, "first": 1, "after": after}, as_="pm")
    assert [n["id"] for n in rest["datasetSnapshots"]["nodes"]] == [first]


async def test_an_erased_item_comes_back_from_a_snapshot_as_a_tombstone(api: Api) -> None:
    """Erasure keeps a decided item's decision, so its line stays in the snapshot, without content."""
    project = project_a(api)
    [consent_id] = await recorded(api, consent("subj-erased"))
    assert (await import_with(api, [item("e-0", consent_id), item("e-1")]))["errors"] == []
    await decided(api, project, 2)
    first = await export(api, project)
    by_name = {line["external_id"]: line for line in lines(first)}
    assert (await erase(api, "subj-erased"))["errors"] == []

    found = await snapshot(api, first.headers["Labelgraph-Snapshot"])
    assert found["contentErased"] is True
    again = {line["item_id"]: line for line in lines(await get(api, found["downloadPath"], as_="pm"))}
    erased = by_name["e-0"]["item_id"]
    assert again[erased] == {"item_id": erased, "decision_version": 1, "tombstone": "ERASED"}
    assert again[by_name["e-1"]["item_id"]] == by_name["e-1"]
