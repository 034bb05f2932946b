"""Consent as its clients drive it: the documents, a valid record, and the steps the tests share."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.workflow.flow import IMPORT_ITEMS, project_a

RECORD = """
mutation Record($input: RecordConsentInput!) {
  recordConsent(input: $input) { recordedCount consentIds errors { code field message } }
}
"""
REVOKE = """
mutation Revoke($input: RevokeConsentInput!) {
  revokeConsent(input: $input) {
    revoked { id status revokedAt revocationReason }
    itemsWithdrawn assignmentsCancelled
    errors { code field message }
  }
}
"""
POLICY = """
mutation Policy($input: UpdateConsentPolicyInput!) {
  updateConsentPolicy(input: $input) { project { consentPolicy { required purposes } } errors { code field message } }
}
"""
RECORDS = """
query Records($subject: String, $after: String, $first: Int!) {
  consentRecords(subjectRef: $subject, first: $first, after: $after) {
    nodes { id subjectRef purposes legalBasis status grantedAt expiresAt jurisdiction revokedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ONE = "query One($id: ID!) { consentRecord(id: $id) { id subjectRef purposes status revokedAt } }"


def consent(subject: str = "subj-1", **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "subjectRef": subject,
        "purposes": ["annotation", "model_training"],
        "legalBasis": "CONSENT",
        "grantedAt": "2026-01-01T00:00:00Z",
        "jurisdiction": "DE",
        "collector": "intake-app",
        "evidenceRef": f"evidence/{subject}",
        "noticeVersion": "v3",
    }
    row.update(changes)
    return row


async def record(api: Api, rows: list[dict[str, Any]], *, as_: str = "compliance") -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(RECORD, {"input": {"records": rows}}, as_=as_))["recordConsent"]
    return payload


async def recorded(api: Api, *rows: dict[str, Any], as_: str = "compliance") -> list[str]:
    payload = await record(api, list(rows), as_=as_)
    assert payload["errors"] == [], payload
    ids: list[str] = payload["consentIds"]
    return ids


async def revoke(api: Api, *, as_: str = "compliance", reason: str = "Withdrawn.", **target: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(REVOKE, {"input": {"reason": reason, **target}}, as_=as_))[
        "revokeConsent"
    ]
    return payload


async def require_consent(api: Api, project: str | None = None, *, required: bool = True, **more: Any) -> None:
    variables = {"input": {"projectId": project or project_a(api), "required": required, **more}}
    payload = (await api.data(POLICY, variables, as_="pm"))["updateConsentPolicy"]
    assert payload["errors"] == [], payload


async def import_with(
    api: Api, items: list[dict[str, Any]], *, project: str | None = None, as_: str = "pm"
) -> dict[str, Any]:
    variables = {"input": {"projectId": project or project_a(api), "items": items}}
    payload: dict[str, Any] = (await api.data(IMPORT_ITEMS, variables, as_=as_))["importItems"]
    return payload


def item(external_id: str, consent_id: str | None = None, *, priority: float = 0.0) -> dict[str, Any]:
    row: dict[str, Any] = {"externalId": external_id, "data": {"text": external_id}, "priority": priority}
    if consent_id is not None:
        row["consentId"] = consent_id
    return row
