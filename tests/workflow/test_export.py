"""GET /export/{projectId}.jsonl: final items with their provenance, for training pipelines.

Covers one line per FINAL item (value, method, labels with annotators, reviewer, schema and
guideline versions) and nothing for items still queued or in review; 401 without a valid
token, 403 for an annotator, 404 for an unknown project; and the export.download audit event.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Api, gid
from tests.workflow.flow import POSITIVE, audit_events, imported, labeled, pk, project_a, review, rows


async def download(api: Api, project: str, *, as_: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token(as_)}"} if as_ else {}
    return await api.client.get(f"/export/{project}.jsonl", headers=headers)


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


async def labeled_program(api: Api) -> dict[str, str]:
    """Project A with four items: accepted, corrected, awaiting review, never claimed.

    Returns the label id of each labeled item by externalId.
    """
    project = project_a(api)
    await imported(api, project, rows(4))
    accepted = await labeled(api, project, POSITIVE, as_="ann1")
    corrected = await labeled(api, project, {"sentiment": "neg"}, as_="ann2")
    waiting = await labeled(api, project, {"sentiment": "neu"}, as_="ann3")
    await review(api, accepted["id"], "ACCEPT")
    await review(api, corrected["id"], "CORRECT", corrected_value={"sentiment": "neu"}, comment="neutral tone")
    return {"item-0": accepted["id"], "item-1": corrected["id"], "item-2": waiting["id"]}


async def test_each_final_item_is_one_line_with_its_provenance(api: Api) -> None:
    labels = await labeled_program(api)

    response = await download(api, project_a(api), as_="pm")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    exported = {line["external_id"]: line for line in lines(response)}
    # Only the decided items: item-2 awaits review, item-3 was never claimed.
    assert sorted(exported) == ["item-0", "item-1"]

    accepted = exported["item-0"]
    assert accepted["value"] == POSITIVE
    assert accepted["method"] == "CONSENSUS_ACCEPTED"
    assert accepted["data"] == {"text": "item 0"}
    assert (accepted["schema_version"], accepted["guideline_version"]) == (1, 1)
    assert accepted["decided_by"] == "reviewer"
    assert accepted["review"]["verdict"] == "ACCEPT"
    [label] = accepted["labels"]
    assert label["id"] == str(pk(labels["item-0"]))
    assert (label["annotator"], label["value"], label["status"]) == ("ann1", POSITIVE, "ACCEPTED")
    assert (label["schema_version"], label["guideline_version"]) == (1, 1)

    corrected = exported["item-1"]
    assert corrected["value"] == {"sentiment": "neu"}
    assert corrected["method"] == "CORRECTED"
    assert corrected["review"] == {
        "id": corrected["review"]["id"],
        "verdict": "CORRECT",
        "comment": "neutral tone",
    }
    assert [(lb["annotator"], lb["value"]) for lb in corrected["labels"]] == [("ann2", {"sentiment": "neg"})]


async def test_a_project_with_nothing_final_exports_no_lines(api: Api) -> None:
    await imported(api, project_a(api), rows(2))

    response = await download(api, project_a(api), as_="pm")

    assert response.status_code == 200
    assert lines(response) == []


async def test_the_bare_uuid_names_the_project_too(api: Api) -> None:
    await labeled_program(api)

    response = await download(api, str(api.world.project_a), as_="pm")

    assert response.status_code == 200
    assert len(lines(response)) == 2


async def test_a_download_is_audited(api: Api) -> None:
    await labeled_program(api)

    await download(api, project_a(api), as_="pm")

    [event] = await audit_events(api, "export.download", project_a(api))
    assert event["actor"] == {"username": "pm"}
    assert (event["entityType"], event["entityId"]) == ("Project", str(api.world.project_a))


async def test_without_a_token_it_is_401(api: Api) -> None:
    response = await download(api, project_a(api), as_=None)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_with_a_forged_token_it_is_401(api: Api) -> None:
    response = await api.client.get(f"/export/{project_a(api)}.jsonl", headers={"Authorization": "Bearer not.a.token"})

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("username", "status"),
    [("ann1", 403), ("reviewer", 403), ("compliance", 403), ("pm_b", 404), ("outsider", 404)],
)
async def test_whoever_may_not_export_is_refused_and_nothing_is_audited(api: Api, username: str, status: int) -> None:
    """403 for those who see the project but may not export it; 404, as for a missing project,
    for those who hold no role in it."""
    await labeled_program(api)

    response = await download(api, project_a(api), as_=username)

    assert response.status_code == status
    assert "labels" not in response.text
    assert await audit_events(api, "export.download") == []


@pytest.mark.parametrize(
    "project",
    [gid("Project", uuid.uuid4()), gid("Item", uuid.uuid4()), "no-such-project"],
    ids=["unknown", "not-a-project-id", "malformed"],
)
async def test_an_unknown_project_is_404(api: Api, project: str) -> None:
    response = await download(api, project, as_="admin")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_an_ml_service_account_may_pull_training_data(api: Api) -> None:
    await labeled_program(api)

    response = await download(api, project_a(api), as_="mlbot")

    assert response.status_code == 200
    assert len(lines(response)) == 2
