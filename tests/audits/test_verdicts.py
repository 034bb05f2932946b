"""Claiming and submitting audits: leases, duty separation, verdicts and findings, overturns as new
decision versions, stale audits, bad input that writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import func, select

from app.audits.models import AuditFinding
from app.projects.models import Project
from app.workflow import decisions
from app.workflow.models import DecisionMethod
from tests.audits.support import claim_audit, items, lapse_audit_lease, policy_set, submit_audit
from tests.conftest import Api, gid
from tests.workflow.flow import audit_events, codes, create_project, grant, imported, labeled, pk, rows


async def audited_project(api: Api, n: int = 3) -> tuple[str, dict[str, dict[str, Any]]]:
    """n items labeled pos by ann1 and decided by the aggregation; every decision is audited."""
    project = await create_project(api, "Audits", overlap=1)
    for username in ("qa", "expert"):
        await grant(api, username, "QA_AUDITOR", project)
    await policy_set(api, project, reviewRate=0.0, auditRate=1.0)
    await imported(api, project, rows(n))
    for _ in range(n):
        await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
    return project, await items(api, project)


async def test_claims_lease_resume_and_respect_duty_separation(api: Api) -> None:
    project, seen = await audited_project(api)
    await grant(api, "ann1", "QA_AUDITOR", project)
    # ann1 labeled every item: nothing for it to audit, and no submitting either.
    assert codes(await claim_audit(api, project, as_="ann1")) == [("QUEUE_EMPTY", "projectId")]

    first = await claim_audit(api, project)
    assert first["errors"] == []
    assert (first["resumed"], first["item"]["externalId"]) == (False, "item-0")
    assert first["audit"] == {
        "status": "PENDING",
        "reasons": ["SAMPLED"],
        "decisionVersion": 1,
        "auditor": {"username": "qa"},
    }
    again = await claim_audit(api, project)
    assert (again["resumed"], again["item"]["externalId"]) == (True, "item-0")

    item0, item1 = seen["item-0"]["id"], seen["item-1"]["id"]
    assert codes(await submit_audit(api, item0, "CONFIRM", as_="ann1")) == [("SELF_REVIEW", "itemId")]
    assert codes(await submit_audit(api, item0, "CONFIRM", as_="expert")) == [("NOT_ASSIGNEE", "itemId")]
    assert codes(await submit_audit(api, item1, "CONFIRM", as_="expert")) == [("NOT_CLAIMED", "itemId")]
    unknown = gid("Item", uuid.uuid4())
    assert codes(await submit_audit(api, unknown, "CONFIRM")) == [("NOT_FOUND", "itemId")]

    # The expert-auditor gets the next one; once qa's lease lapses, item-0 is free again.
    assert (await claim_audit(api, project, as_="expert"))["item"]["externalId"] == "item-1"
    await lapse_audit_lease(api, item0)
    fresh = await claim_audit(api, project)
    assert (fresh["resumed"], fresh["item"]["externalId"]) == (False, "item-0")
    assert len(await audit_events(api, "qa_audit.claim", project)) == 3


async def test_bad_verdicts_write_nothing(api: Api) -> None:
    project, seen = await audited_project(api, 1)
    item = seen["item-0"]["id"]
    await claim_audit(api, project)
    pos = {"sentiment": "pos"}
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"verdict": "OVERTURN", "comment": "why"}, [("REQUIRED", "value")]),
        ({"verdict": "OVERTURN", "value": {"sentiment": "neg"}}, [("REQUIRED", "comment")]),
        (
            {"verdict": "OVERTURN", "value": {"sentiment": "meh"}, "comment": "x"},
            [("UNKNOWN_CLASS", "value.sentiment")],
        ),
        ({"verdict": "OVERTURN", "value": pos, "comment": "x"}, [("INVALID_VALUE", "value")]),
        ({"verdict": "CONFIRM", "value": pos}, [("UNEXPECTED", "value")]),
        ({"verdict": "CONFIRM", "comment": "x" * 10_001}, [("TOO_LONG", "comment")]),
        (
            {"verdict": "CONFIRM", "findings": [{"field": "mood", "class": "x", "kind": "OTHER"}]},
            [("INVALID_VALUE", "findings.0.field")],
        ),
        (
            {"verdict": "CONFIRM", "findings": [{"field": "sentiment", "class": "meh", "kind": "WRONG_CLASS"}]},
            [("INVALID_VALUE", "findings.0.class")],
        ),
        (
            {
                "verdict": "CONFIRM",
                "findings": [
                    {"field": "topics", "class": "price", "kind": "MISSED_CLASS"},
                    {"field": "topics", "class": "price", "kind": "OTHER"},
                ],
            },
            [("INVALID_VALUE", "findings.1")],
        ),
    ]
    for extra, expected in cases:
        payload = await submit_audit(api, item, **extra)
        assert codes(payload) == expected, extra
        assert payload["audit"] is None
    node = (await items(api, project))["item-0"]
    assert [d["version"] for d in node["decisions"]] == [1]
    assert [a["status"] for a in node["audits"]] == ["PENDING"]
    assert await audit_events(api, "qa_audit.submit", project) == []
    async with api.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditFinding)) == 0


async def test_confirm_records_findings_and_an_overturn_adds_a_decision_version(api: Api) -> None:
    project, seen = await audited_project(api, 2)
    await claim_audit(api, project)
    findings = [
        {"field": "topics", "class": "price", "kind": "MISSED_CLASS"},
        {"field": "sentiment", "class": "pos", "kind": "GUIDELINE_UNCLEAR"},
    ]
    confirmed = await submit_audit(api, seen["item-0"]["id"], "CONFIRM", findings=findings, comment="Fine.")
    assert confirmed["errors"] == []
    assert confirmed["decision"] is None
    assert confirmed["audit"]["status"] == "DONE"
    assert confirmed["audit"]["verdict"] == "CONFIRM"

    await claim_audit(api, project)
    overturned = await submit_audit(
        api,
        seen["item-1"]["id"],
        "OVERTURN",
        value={"sentiment": "neg"},
        comment="Irony: the praise is sarcastic.",
        findings=[{"field": "sentiment", "class": "pos", "kind": "WRONG_CLASS"}],
    )
    assert overturned["errors"] == []
    assert overturned["decision"] == {
        "version": 2,
        "value": {"sentiment": "neg"},
        "method": "AUDIT_OVERTURNED",
        "decidedBy": {"username": "qa"},
        "rationale": "Irony: the praise is sarcastic.",
    }
    assert overturned["item"] == {"status": "FINAL"}

    after = await items(api, project)
    # Findings per (field, class), in field then class order.
    assert after["item-0"]["audits"][0]["findings"] == [
        {"field": "sentiment", "class": "pos", "kind": "GUIDELINE_UNCLEAR"},
        {"field": "topics", "class": "price", "kind": "MISSED_CLASS"},
    ]
    assert [d["version"] for d in after["item-0"]["decisions"]] == [1]
    old, new = after["item-1"]["decisions"]
    assert (old["version"], old["method"], old["value"]) == (1, "AGGREGATED", {"sentiment": "pos"})
    assert old["supersededAt"] is not None
    assert (new["version"], new["method"], new["supersededAt"]) == (2, "AUDIT_OVERTURNED", None)
    assert after["item-1"]["finalLabel"] == {"version": 2, "value": {"sentiment": "neg"}, "method": "AUDIT_OVERTURNED"}
    # The overturn itself is not audited again: one audit, done.
    [audit] = after["item-1"]["audits"]
    assert (audit["status"], audit["verdict"], audit["auditor"], audit["decisionVersion"]) == (
        "DONE",
        "OVERTURN",
        {"username": "qa"},
        1,
    )
    events = await audit_events(api, "qa_audit.submit", project)
    assert sorted(e["details"]["verdict"] for e in events) == ["CONFIRM", "OVERTURN"]
    # Nothing left to audit.
    assert codes(await claim_audit(api, project)) == [("QUEUE_EMPTY", "projectId")]


async def test_an_audit_of_a_superseded_decision_is_stale(api: Api) -> None:
    project, seen = await audited_project(api, 1)
    item = seen["item-0"]["id"]
    await claim_audit(api, project)
    # Meanwhile the item is decided again (as a re-estimate does, through decisions.record).
    async with api.runtime.sessions() as session:
        row = await session.get(Project, pk(project))
        assert row is not None
        labels = await decisions.labels_behind(session, pk(item))
        values = await decisions.current_values(session, row, labels)
        await decisions.record(
            session,
            row,
            pk(item),
            value={"sentiment": "neu"},
            method=DecisionMethod.AGGREGATED,
            confidence=0.9,
            labels=labels,
            values=values,
        )
        await session.commit()

    stale = await submit_audit(api, item, "OVERTURN", value={"sentiment": "neg"}, comment="x")
    assert codes(stale) == [("STALE", "itemId")]
    node = (await items(api, project))["item-0"]
    # The new version replaced the pending audit of the old one, and is audited itself.
    assert [(a["status"], a["decisionVersion"]) for a in node["audits"]] == [("SUPERSEDED", 1), ("PENDING", 2)]
    assert [d["version"] for d in node["decisions"]] == [1, 2]
    renewed = await claim_audit(api, project)
    assert (renewed["resumed"], renewed["audit"]["decisionVersion"]) == (False, 2)
    assert (await submit_audit(api, item, "CONFIRM"))["errors"] == []
