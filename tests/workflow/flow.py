"""The steps of the labeling loop as a client drives them, shared by the workflow tests.

GraphQL documents are literal strings, as a front end would send them; helpers that must
succeed assert so, helpers named after the mutation return its payload for the test to judge.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from app.schema.node import parse_global_id
from app.workflow.models import Assignment
from tests.conftest import SCHEMA, Api, gid

CREATE_PROJECT = """
mutation CreateProject($input: CreateProjectInput!) {
  createProject(input: $input) {
    project { id overlap leaseSeconds }
    errors { code field message }
  }
}
"""

GRANT_ROLE = """
mutation GrantRole($input: RoleInput!) {
  grantRole(input: $input) {
    user { username }
    errors { code field message }
  }
}
"""

IMPORT_ITEMS = """
mutation ImportItems($input: ImportItemsInput!) {
  importItems(input: $input) {
    importedCount
    errors { code field message }
  }
}
"""

CLAIM_NEXT_TASK = """
mutation ClaimNextTask($projectId: ID!) {
  claimNextTask(input: {projectId: $projectId}) {
    resumed
    assignment { id status item { id externalId priority } }
    errors { code field message }
  }
}
"""

ACKNOWLEDGE_GUIDELINE = """
mutation AcknowledgeGuideline($input: AcknowledgeGuidelineInput!) {
  acknowledgeGuideline(input: $input) {
    acknowledgement { version acknowledgedAt user { username } }
    errors { code field message }
  }
}
"""

SUBMIT_LABEL = """
mutation SubmitLabel($input: SubmitLabelInput!) {
  submitLabel(input: $input) {
    label { id value status schemaVersion guidelineVersion author { username } }
    errors { code field message }
  }
}
"""

REVIEW_LABEL = """
mutation ReviewLabel($input: ReviewLabelInput!) {
  reviewLabel(input: $input) {
    review { id verdict comment correctedValue reviewer { username } }
    label { id status }
    item { id status }
    finalLabel {
      value method agreement sourceLabelIds schemaVersion guidelineVersion
      decidedBy { username }
    }
    errors { code field message }
  }
}
"""

ITEM_COUNTS = """
query ItemCounts($id: ID!) {
  project(id: $id) { itemCounts { queued inReview final total } }
}
"""

AUDIT_EVENTS = """
query AuditEvents($action: String!, $projectId: ID) {
  auditEvents(action: $action, projectId: $projectId, first: 100) {
    nodes { action entityType entityId actor { username } details }
  }
}
"""

POSITIVE = {"sentiment": "pos", "topics": ["price"]}
NEGATIVE = {"sentiment": "neg"}


def project_a(api: Api) -> str:
    return gid("Project", api.world.project_a)


def pk(global_id: str) -> uuid.UUID:
    """The database key behind a global id."""
    return parse_global_id(global_id)[1]


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A payload's UserErrors as (code, field), the part clients branch on."""
    return [(e["code"], e["field"]) for e in payload["errors"]]


def rows(n: int, *, prefix: str = "item", priority: float = 0.0) -> list[dict[str, Any]]:
    return [{"externalId": f"{prefix}-{i}", "data": {"text": f"{prefix} {i}"}, "priority": priority} for i in range(n)]


async def create_project(
    api: Api, name: str, *, overlap: int, lease_seconds: int = 600, schema: dict[str, Any] | None = None
) -> str:
    """A project made by the admin, with pm, ann1..ann3 and reviewer granted their roles in it;
    the annotators have acknowledged its guideline."""
    data = await api.data(
        CREATE_PROJECT,
        {
            "input": {
                "name": name,
                "labelSchema": schema or SCHEMA,
                "overlap": overlap,
                "leaseSeconds": lease_seconds,
                "guideline": f"# {name}",
            }
        },
        as_="admin",
    )
    payload = data["createProject"]
    assert payload["errors"] == [], payload
    project: str = payload["project"]["id"]
    cast = {"pm": "PROJECT_MANAGER", "ann1": "ANNOTATOR", "ann2": "ANNOTATOR", "ann3": "ANNOTATOR"}
    for username, role in {**cast, "reviewer": "REVIEWER"}.items():
        await grant(api, username, role, project)
    for username in ("ann1", "ann2", "ann3"):
        await acknowledge(api, project, 1, as_=username)
    return project


async def grant(api: Api, username: str, role: str, project: str) -> None:
    data = await api.data(
        GRANT_ROLE,
        {"input": {"userId": gid("User", api.world.id(username)), "role": role, "projectId": project}},
        as_="admin",
    )
    assert data["grantRole"]["errors"] == [], data


async def import_items(api: Api, project: str, items: list[dict[str, Any]], *, as_: str = "pm") -> dict[str, Any]:
    data = await api.data(IMPORT_ITEMS, {"input": {"projectId": project, "items": items}}, as_=as_)
    payload: dict[str, Any] = data["importItems"]
    return payload


async def imported(api: Api, project: str, items: list[dict[str, Any]]) -> None:
    payload = await import_items(api, project, items)
    assert payload["errors"] == [], payload
    assert payload["importedCount"] == len(items)


async def claim(api: Api, project: str, *, as_: str) -> dict[str, Any]:
    data = await api.data(CLAIM_NEXT_TASK, {"projectId": project}, as_=as_)
    payload: dict[str, Any] = data["claimNextTask"]
    return payload


async def claimed(api: Api, project: str, *, as_: str) -> dict[str, Any]:
    """The assignment a claim must hand out."""
    payload = await claim(api, project, as_=as_)
    assert payload["errors"] == [], payload
    assignment: dict[str, Any] = payload["assignment"]
    return assignment


async def submit(api: Api, assignment: str, value: Any, *, as_: str, **extra: Any) -> dict[str, Any]:
    data = await api.data(SUBMIT_LABEL, {"input": {"assignmentId": assignment, "value": value, **extra}}, as_=as_)
    payload: dict[str, Any] = data["submitLabel"]
    return payload


async def labeled(api: Api, project: str, value: Any, *, as_: str) -> dict[str, Any]:
    """Claim the next task and label it; returns the label."""
    assignment = await claimed(api, project, as_=as_)
    payload = await submit(api, assignment["id"], value, as_=as_)
    assert payload["errors"] == [], payload
    label: dict[str, Any] = payload["label"]
    return label


async def review(
    api: Api,
    label: str,
    verdict: str,
    *,
    as_: str = "reviewer",
    comment: str = "",
    corrected_value: Any = None,
) -> dict[str, Any]:
    review_input = {"labelId": label, "verdict": verdict, "comment": comment, "correctedValue": corrected_value}
    data = await api.data(REVIEW_LABEL, {"input": review_input}, as_=as_)
    payload: dict[str, Any] = data["reviewLabel"]
    return payload


async def item_counts(api: Api, project: str) -> dict[str, int]:
    data = await api.data(ITEM_COUNTS, {"id": project}, as_="admin")
    counts: dict[str, int] = data["project"]["itemCounts"]
    return counts


async def audit_events(api: Api, action: str, project: str | None = None) -> list[dict[str, Any]]:
    """Events of one action, read as the compliance officer would."""
    data = await api.data(AUDIT_EVENTS, {"action": action, "projectId": project}, as_="compliance")
    events: list[dict[str, Any]] = data["auditEvents"]["nodes"]
    return events


async def expire_lease(api: Api, assignment: str) -> None:
    """Move a lease into the past: tests never sleep, they change the clock's reading in the row."""
    async with api.runtime.sessions() as session:
        row = await session.get(Assignment, pk(assignment))
        assert row is not None
        await session.execute(
            update(Assignment)
            .where(col(Assignment.id) == row.id)
            .values(lease_expires_at=row.claimed_at - timedelta(seconds=1))
        )
        await session.commit()


async def assignments(api: Api, project: str) -> list[Assignment]:
    """Every assignment of the project, straight from the table."""
    async with api.runtime.sessions() as session:
        found = await session.scalars(select(Assignment).where(Assignment.project_id == pk(project)))
        return list(found)


async def acknowledge(api: Api, project_id: str, version: int, *, as_: str) -> None:
    """The reader's acknowledgement of the guideline in force, which claims wait for."""
    variables = {"input": {"projectId": project_id, "version": version}}
    payload = (await api.data(ACKNOWLEDGE_GUIDELINE, variables, as_=as_))["acknowledgeGuideline"]
    assert payload["errors"] == [], payload
