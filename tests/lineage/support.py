"""Lineage as its clients drive it: exports, snapshots, their diffs and an item's provenance."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.audits.support import claim_audit, policy_set, submit_audit
from tests.conftest import Api
from tests.workflow.flow import POSITIVE, labeled, review

SNAPSHOT = """
query Snapshot($id: ID!, $after: String, $previous: ID) {
  datasetSnapshot(id: $id) {
    id projectId purpose filters format itemCount contentDigest activeSchemaVersion withItemContent withLabels
    downloadPath contentErased createdBy { username }
    items(first: 100, after: $after) {
      nodes { itemId decisionId decisionVersion schemaVersion }
      pageInfo { hasNextPage endCursor }
    }
    changesSince(previous: $previous) {
      olderId newerId addedCount removedCount changedCount unchangedCount
      added { itemId before after } removed { itemId before after } changed { itemId before after }
    }
  }
}
"""
SNAPSHOTS = """
query Snapshots($projectId: ID!, $itemId: ID, $first: Int = 50, $after: String) {
  datasetSnapshots(projectId: $projectId, itemId: $itemId, first: $first, after: $after) {
    nodes { id itemCount purpose }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DIFF = """
query Diff($id: ID!, $other: ID!) {
  datasetSnapshot(id: $id) {
    diff(other: $other) { addedCount removedCount changedCount added { itemId } removed { itemId } changed { itemId } }
  }
}
"""
LINEAGE = """
query Lineage($itemId: ID!) {
  lineage(itemId: $itemId) {
    entities { id kind label attributes }
    activities { id kind label attributes }
    agents { id kind label attributes }
    relations { kind from to }
  }
}
"""

ANONYMIZATION_POLICY = """
mutation Policy($input: UpdateAnonymizationPolicyInput!) {
  updateAnonymizationPolicy(input: $input) {
    project { anonymizationPolicy { enabled anonymizer version } }
    errors { code field message }
  }
}
"""
ITEM_ANONYMIZATION = """
query Item($id: ID!) {
  node(id: $id) { ... on Item { contentHash anonymization { anonymizer version redactions { kind count } } } }
}
"""


async def export(api: Api, project: str, *, as_: str = "pm", purpose: str | None = None) -> httpx.Response:
    params = {"purpose": purpose} if purpose else {}
    response = await api.client.get(
        f"/export/{project}.jsonl", params=params, headers={"Authorization": f"Bearer {api.token(as_)}"}
    )
    assert response.status_code == 200, response.text
    return response


async def get(api: Api, path: str, *, as_: str) -> httpx.Response:
    return await api.client.get(path, headers={"Authorization": f"Bearer {api.token(as_)}"})


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


async def snapshot(api: Api, snapshot_id: str, *, as_: str = "pm", previous: str | None = None) -> dict[str, Any]:
    data = await api.data(SNAPSHOT, {"id": snapshot_id, "previous": previous}, as_=as_)
    found: dict[str, Any] = data["datasetSnapshot"]
    return found


async def decided(api: Api, project: str, n: int) -> list[dict[str, Any]]:
    """n more items of the project labeled by ann1 and accepted by the reviewer (decision v1 each)."""
    out = []
    for _ in range(n):
        label = await labeled(api, project, POSITIVE, as_="ann1")
        accepted = await review(api, label["id"], "ACCEPT")
        assert accepted["errors"] == [], accepted
        out.append(label)
    return out


async def audit_everything(api: Api, project: str) -> None:
    """Every decision from now on is queued for a QA audit, so qa can overturn it (a new decision version)."""
    await policy_set(api, project, auditRate=1.0)


async def overturn(api: Api, project: str, value: dict[str, Any]) -> str:
    """qa claims the next audit and overturns its decision; returns the item's global id."""
    claimed = await claim_audit(api, project)
    assert claimed["errors"] == [], claimed
    item: str = claimed["item"]["id"]
    result = await submit_audit(api, item, "OVERTURN", value=value, comment="The text is negative.")
    assert result["errors"] == [], result
    return item


async def anonymize_imports(api: Api, project: str, **fields: Any) -> dict[str, Any]:
    """Turn the project's anonymization on (as the manager); returns the policy (anonymizer name and version)."""
    data = await api.data(ANONYMIZATION_POLICY, {"input": {"projectId": project, "enabled": True, **fields}}, as_="pm")
    payload: dict[str, Any] = data["updateAnonymizationPolicy"]
    assert payload["errors"] == [], payload
    policy: dict[str, Any] = payload["project"]["anonymizationPolicy"]
    return policy


def assert_prov_json(document: dict[str, Any]) -> None:
    """W3C PROV-JSON as we write it: the prefixes, one map per node kind and per relation kind, every
    relation's roles naming nodes of the right kind, every attribute qualified by a declared prefix
    and a literal (or a list of literals)."""
    assert set(document) == {
        "prefix",
        "entity",
        "activity",
        "agent",
        "used",
        "wasGeneratedBy",
        "wasAssociatedWith",
        "wasDerivedFrom",
    }
    assert document["prefix"]["prov"] == "http://www.w3.org/ns/prov#"
    ids = {kind: set(document[kind]) for kind in ("entity", "activity", "agent")}
    roles = {
        "used": {"prov:activity": "activity", "prov:entity": "entity"},
        "wasGeneratedBy": {"prov:entity": "entity", "prov:activity": "activity"},
        "wasAssociatedWith": {"prov:activity": "activity", "prov:agent": "agent"},
        "wasDerivedFrom": {"prov:generatedEntity": "entity", "prov:usedEntity": "entity"},
    }
    for relation, expected in roles.items():
        assert document[relation], relation
        for key, record in document[relation].items():
            assert key.startswith("_:")
            assert set(record) == set(expected)
            for role, kind in expected.items():
                assert record[role] in ids[kind], (relation, role, record[role])
    literal = (str, int, float, bool)
    for kind in ("entity", "activity", "agent"):
        for node_id, record in document[kind].items():
            assert node_id.split(":", 1)[0] in document["prefix"], node_id
            for key, value in record.items():
                assert key.split(":", 1)[0] in document["prefix"], (node_id, key)
                values = value if isinstance(value, list) else [value]
                assert all(isinstance(v, literal) for v in values), (node_id, key, value)
