"""What a revocation does at once, on both databases: the subject's items are WITHDRAWN and leave
every queue (claims, reviews, audits, escalations), their open tasks are CANCELLED (submitting
on one is ASSIGNMENT_CANCELLED), and exports leave out items whose consent does not cover their
purpose at export time."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from app.audits import service as audits
from app.consent.models import ConsentRecord
from app.ingestion.models import Item
from app.workflow import lifecycle
from app.workflow.lifecycle import Move
from app.workflow.models import Escalation
from tests.conftest import Api
from tests.consent.support import consent, import_with, item, recorded, require_consent, revoke
from tests.workflow.flow import POSITIVE, claim, claimed, codes, pk, project_a, review, submit

NODE_ASSIGNMENT = "query A($id: ID!) { node(id: $id) { ... on Assignment { status } } }"
COUNTS = "query C($id: ID!) { project(id: $id) { itemCounts { queued withdrawn total } } }"
CLAIM_ESCALATION = """
mutation E($input: ClaimNextEscalationInput!) { claimNextEscalation(input: $input) { errors { code } } }
"""
CLAIM_AUDIT = "mutation Q($input: ClaimNextAuditInput!) { claimNextAudit(input: $input) { errors { code } } }"


async def subjects(api: Api, *names: str) -> dict[str, str]:
    ids = await recorded(api, *[consent(name) for name in names])
    return dict(zip(names, ids, strict=True))


async def test_the_subject_s_items_leave_the_queue(api: Api) -> None:
    c = await subjects(api, "subj-x", "subj-y")
    imported = await import_with(
        api, [item("x-1", c["subj-x"], priority=9), item("x-2", c["subj-x"], priority=8), item("y-1", c["subj-y"])]
    )
    assert imported["errors"] == []

    revoked = await revoke(api, subjectRef="subj-x")

    assert revoked["itemsWithdrawn"] == 2
    first = await claimed(api, project_a(api), as_="ann1")
    assert first["item"]["externalId"] == "y-1"
    assert codes(await claim(api, project_a(api), as_="ann2")) == [("QUEUE_EMPTY", "projectId")]
    counts = await api.data(COUNTS, {"id": project_a(api)}, as_="pm")
    assert counts["project"]["itemCounts"] == {"queued": 1, "withdrawn": 2, "total": 3}


async def test_open_tasks_on_them_are_cancelled(api: Api) -> None:
    c = await subjects(api, "subj-x")
    assert (await import_with(api, [item("x-1", c["subj-x"])]))["errors"] == []
    task = await claimed(api, project_a(api), as_="ann1")

    revoked = await revoke(api, consentIds=[c["subj-x"]], as_="ingest")

    assert (revoked["itemsWithdrawn"], revoked["assignmentsCancelled"]) == (1, 1)
    shown = await api.data(NODE_ASSIGNMENT, {"id": task["id"]}, as_="pm")
    assert shown["node"]["status"] == "CANCELLED"
    assert codes(await submit(api, task["id"], POSITIVE, as_="ann1")) == [("ASSIGNMENT_CANCELLED", "assignmentId")]
    # Its next claim is not the cancelled task resumed.
    assert codes(await claim(api, project_a(api), as_="ann1")) == [("QUEUE_EMPTY", "projectId")]


async def test_a_withdrawn_item_leaves_the_review_queue(api: Api) -> None:
    c = await subjects(api, "subj-x")
    assert (await import_with(api, [item("x-1", c["subj-x"])]))["errors"] == []
    task = await claimed(api, project_a(api), as_="ann1")
    label = await submit(api, task["id"], POSITIVE, as_="ann1")
    assert label["errors"] == []

    assert (await revoke(api, subjectRef="subj-x"))["itemsWithdrawn"] == 1

    reviewed = await review(api, label["label"]["id"], "ACCEPT")
    assert codes(reviewed) == [("ITEM_WITHDRAWN", "labelId")]


async def test_a_withdrawn_item_leaves_the_escalation_queue(api: Api) -> None:
    c = await subjects(api, "subj-e")
    assert (await import_with(api, [item("e-1", c["subj-e"])]))["errors"] == []
    async with api.runtime.sessions() as session:
        escalated = await session.scalar(select(Item).where(Item.external_id == "e-1"))
        assert escalated is not None
        escalated.labels_required = 0
        await session.flush()
        await lifecycle.move(session, escalated.id, Move.ESCALATE)
        session.add(Escalation(project_id=escalated.project_id, item_id=escalated.id, reason="split", confidence=0.5))
        await session.commit()

    assert (await revoke(api, consentIds=[c["subj-e"]]))["itemsWithdrawn"] == 1

    escalation = await api.data(CLAIM_ESCALATION, {"input": {"projectId": project_a(api)}}, as_="expert")
    assert escalation["claimNextEscalation"]["errors"] == [{"code": "QUEUE_EMPTY"}]


async def test_a_withdrawn_item_leaves_the_audit_queue(api: Api) -> None:
    c = await subjects(api, "subj-a")
    await final_items(api, [item("a-1", c["subj-a"])])
    async with api.runtime.sessions() as session:
        audited = await session.scalar(select(Item.id).where(Item.external_id == "a-1"))
        assert audited is not None
        await audits.flag_for_audit(session, audited, "suspected label issue")
        await session.commit()

    assert (await revoke(api, subjectRef="subj-a"))["itemsWithdrawn"] == 1

    audit = await api.data(CLAIM_AUDIT, {"input": {"projectId": project_a(api)}}, as_="qa")
    assert audit["claimNextAudit"]["errors"] == [{"code": "QUEUE_EMPTY"}]


async def final_items(api: Api, rows: list[dict[str, Any]]) -> None:
    """Import the rows and decide each: labeled by ann1, accepted by the reviewer."""
    assert (await import_with(api, rows))["errors"] == []
    for _ in rows:
        task = await claimed(api, project_a(api), as_="ann1")
        label = await submit(api, task["id"], POSITIVE, as_="ann1")
        assert (await review(api, label["label"]["id"], "ACCEPT"))["errors"] == []


async def exported(api: Api, purpose: str | None = None, *, as_: str = "mlbot") -> list[str]:
    url = f"/export/{project_a(api)}.jsonl" + (f"?purpose={purpose}" if purpose else "")
    response = await api.client.get(url, headers={"Authorization": f"Bearer {api.token(as_)}"})
    assert response.status_code == 200, response.text
    return sorted(json.loads(line)["external_id"] for line in response.text.splitlines())


async def test_exports_follow_consent_at_export_time(api: Api) -> None:
    both, annotation_only, later_revoked, later_expired = await recorded(
        api,
        consent("subj-both"),
        consent("subj-ann", purposes=["annotation"]),
        consent("subj-rev"),
        consent("subj-exp", expiresAt="2999-01-01T00:00:00Z"),
    )
    await final_items(
        api,
        [
            item("both", both),
            item("annotation-only", annotation_only),
            item("revoked", later_revoked),
            item("expired", later_expired),
            item("no-consent"),  # the project does not require consent
        ],
    )
    # annotation-only does not cover model training.
    assert await exported(api, "model_training") == ["both", "expired", "no-consent", "revoked"]

    assert (await revoke(api, consentIds=[later_revoked]))["errors"] == []
    # Time passes for one record: its expiry is now behind us (records are never edited by the API).
    async with api.runtime.sessions() as session:
        await session.execute(
            update(ConsentRecord)
            .where(col(ConsentRecord.id) == pk(later_expired))
            .values(expires_at=ConsentRecord.granted_at)
        )
        await session.commit()

    assert await exported(api, "model_training") == ["both", "no-consent"]
    assert await exported(api, "annotation") == ["annotation-only", "both", "no-consent"]
    assert await exported(api) == ["annotation-only", "both", "no-consent"]
    assert await exported(api, as_="pm") == ["annotation-only", "both", "no-consent"]


async def test_an_export_purpose_must_be_known_to_the_project(api: Api) -> None:
    url = f"/export/{project_a(api)}.jsonl?purpose=marketing"
    response = await api.client.get(url, headers={"Authorization": f"Bearer {api.token('mlbot')}"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"

    await require_consent(api, required=False, purposes=["marketing"])
    assert await exported(api, "marketing") == []


async def test_where_consent_is_required_an_item_without_it_stays_out(api: Api) -> None:
    (both,) = await recorded(api, consent("subj-both"))
    await final_items(api, [item("with", both), item("before-the-rule")])

    await require_consent(api)

    assert await exported(api, "model_training") == ["with"]
    assert await exported(api) == ["with"]
