"""The audit stage as a client drives it: documents and helpers shared by the audit tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.audits.models import QaAudit
from app.clock import utcnow
from tests.conftest import Api
from tests.workflow.flow import pk

UPDATE_POLICY = """
mutation Policy($input: UpdateQualityPolicyInput!) {
  updateQualityPolicy(input: $input) {
    project { qualityPolicy {
      reviewRate auditRate auditBelowConfidence highImpactClasses rareClassShare auditExpertDecisions
    } }
    errors { code field message }
  }
}
"""

ITEMS = """
query Items($id: ID!, $after: String) {
  project(id: $id) {
    items(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id externalId status
        finalLabel { version value method }
        decisions { version value method decidedBy { username } rationale supersededAt }
        audits {
          status reasons reasonDetail decisionVersion verdict comment auditor { username }
          findings { field class kind }
        }
      }
    }
  }
}
"""

CLAIM_AUDIT = """
mutation Claim($projectId: ID!) {
  claimNextAudit(input: {projectId: $projectId}) {
    resumed
    audit { status reasons decisionVersion auditor { username } }
    item { id externalId }
    errors { code field message }
  }
}
"""

SUBMIT_AUDIT = """
mutation Submit($input: SubmitAuditInput!) {
  submitAudit(input: $input) {
    audit { status verdict comment findings { field class kind } }
    decision { version value method decidedBy { username } rationale }
    item { status }
    errors { code field message }
  }
}
"""

ESCALATE = """
mutation Escalate($input: EscalateItemInput!) {
  escalateItem(input: $input) {
    escalation { reason item { externalId } }
    item { status }
    errors { code field message }
  }
}
"""

CLAIM_ESCALATION = """
mutation Claim($projectId: ID!) {
  claimNextEscalation(input: {projectId: $projectId}) {
    escalation { reason item { id externalId } }
    errors { code field message }
  }
}
"""

RESOLVE = """
mutation Resolve($input: ResolveEscalationInput!) {
  resolveEscalation(input: $input) {
    decision { version value method }
    item { status }
    errors { code field message }
  }
}
"""


async def set_policy(api: Api, project: str, **fields: Any) -> dict[str, Any]:
    data = await api.data(UPDATE_POLICY, {"input": {"projectId": project, **fields}}, as_="pm")
    payload: dict[str, Any] = data["updateQualityPolicy"]
    return payload


async def policy_set(api: Api, project: str, **fields: Any) -> None:
    payload = await set_policy(api, project, **fields)
    assert payload["errors"] == [], payload


async def items(api: Api, project: str) -> dict[str, dict[str, Any]]:
    """Every item of the project by external id, read by the manager, page by page."""
    found: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        data = await api.data(ITEMS, {"id": project, "after": after}, as_="pm")
        page = data["project"]["items"]
        found.update({node["externalId"]: node for node in page["nodes"]})
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def queued(seen: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """External id -> reasons of its pending audit, for the items in the audit queue."""
    return {
        name: audit["reasons"]
        for name, node in seen.items()
        for audit in node["audits"]
        if audit["status"] == "PENDING"
    }


async def claim_audit(api: Api, project: str, *, as_: str = "qa") -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(CLAIM_AUDIT, {"projectId": project}, as_=as_))["claimNextAudit"]
    return payload


async def submit_audit(api: Api, item: str, verdict: str, *, as_: str = "qa", **extra: Any) -> dict[str, Any]:
    variables = {"input": {"itemId": item, "verdict": verdict, **extra}}
    payload: dict[str, Any] = (await api.data(SUBMIT_AUDIT, variables, as_=as_))["submitAudit"]
    return payload


async def escalate(api: Api, item: str, reason: str, *, as_: str) -> dict[str, Any]:
    return await api.gql(ESCALATE, {"input": {"itemId": item, "reason": reason}}, as_=as_)


async def lapse_audit_lease(api: Api, item: str) -> None:
    """Move the pending audit's lease into the past: tests never sleep."""
    async with api.runtime.sessions() as session:
        await session.execute(
            update(QaAudit)
            .where(col(QaAudit.item_id) == pk(item), col(QaAudit.status) == "PENDING")
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
