"""Escalating to an expert from review (item IN_REVIEW) and from audit (item FINAL), and the expert
deciding what was escalated."""

from __future__ import annotations

from typing import Any

from tests.audits.support import (
    CLAIM_ESCALATION,
    RESOLVE,
    claim_audit,
    escalate,
    items,
    policy_set,
)
from tests.conftest import Api
from tests.workflow.flow import audit_events, codes, create_project, grant, imported, labeled, review


def refused_as_forbidden(body: dict[str, Any]) -> bool:
    return body["data"]["escalateItem"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def resolve(api: Api, project: str, value: dict[str, Any]) -> dict[str, Any]:
    claimed = (await api.data(CLAIM_ESCALATION, {"projectId": project}, as_="expert"))["claimNextEscalation"]
    assert claimed["errors"] == [], claimed
    item = claimed["escalation"]["item"]["id"]
    variables = {"input": {"itemId": item, "value": value, "rationale": "Settled."}}
    resolved: dict[str, Any] = (await api.data(RESOLVE, variables, as_="expert"))["resolveEscalation"]
    assert resolved["errors"] == [], resolved
    return resolved


async def test_reviewers_escalate_items_in_review_and_auditors_final_ones(api: Api) -> None:
    project = await create_project(api, "Escalate", overlap=1)
    await grant(api, "qa", "QA_AUDITOR", project)
    await grant(api, "expert", "EXPERT", project)
    await grant(api, "ann1", "REVIEWER", project)
    await policy_set(api, project, reviewRate=1.0, auditRate=1.0)
    await imported(api, project, rows_of(3))
    label0 = await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
    label1 = await labeled(api, project, {"sentiment": "pos"}, as_="ann2")
    seen = await items(api, project)
    item0, item1, item2 = (seen[f"x-{i}"]["id"] for i in range(3))
    # The reviewer decides x-1 first: its audit is the oldest in the queue.
    assert (await review(api, label1["id"], "ACCEPT"))["errors"] == []

    # From review: a reason is required; not on one's own label; not by an auditor; not a queued item.
    assert codes((await escalate(api, item0, " ", as_="reviewer"))["data"]["escalateItem"]) == [("REQUIRED", "reason")]
    assert codes((await escalate(api, item0, "Unsure", as_="ann1"))["data"]["escalateItem"]) == [
        ("SELF_REVIEW", "itemId")
    ]
    assert refused_as_forbidden(await escalate(api, item0, "Unsure", as_="qa"))
    assert codes((await escalate(api, item2, "Unsure", as_="reviewer"))["data"]["escalateItem"]) == [
        ("INVALID_TRANSITION", "itemId")
    ]
    done = (await escalate(api, item0, "Sarcasm or praise?", as_="reviewer"))["data"]["escalateItem"]
    assert done["errors"] == []
    assert done["item"] == {"status": "ESCALATED"}
    assert done["escalation"] == {"reason": "Sarcasm or praise?", "item": {"externalId": "x-0"}}
    resolved = await resolve(api, project, {"sentiment": "neg"})
    assert resolved["decision"] == {"version": 1, "value": {"sentiment": "neg"}, "method": "EXPERT_RESOLVED"}
    assert resolved["item"] == {"status": "FINAL"}

    # From audit: the auditor holding x-1's audit escalates it; a reviewer may not escalate a FINAL item.
    assert refused_as_forbidden(await escalate(api, item1, "Doubt", as_="reviewer"))
    claimed = await claim_audit(api, project)
    assert claimed["item"]["externalId"] == "x-1"
    done = (await escalate(api, item1, "The guideline is silent here.", as_="qa"))["data"]["escalateItem"]
    assert done["errors"] == []
    assert done["item"] == {"status": "ESCALATED"}
    assert [a["status"] for a in (await items(api, project))["x-1"]["audits"]] == ["ESCALATED"]
    # The audit gave way; the expert's decision on x-0 is next in the audit queue.
    assert (await claim_audit(api, project))["item"]["externalId"] == "x-0"

    resolved = await resolve(api, project, {"sentiment": "neu"})
    assert resolved["decision"] == {"version": 2, "value": {"sentiment": "neu"}, "method": "EXPERT_RESOLVED"}
    node = (await items(api, project))["x-1"]
    assert node["status"] == "FINAL"
    assert [(d["version"], d["method"]) for d in node["decisions"]] == [
        (1, "CONSENSUS_ACCEPTED"),
        (2, "EXPERT_RESOLVED"),
    ]
    events = await audit_events(api, "item.escalate", project)
    assert sorted((e["actor"]["username"], e["details"]["from"]) for e in events) == [
        ("qa", "FINAL"),
        ("reviewer", "IN_REVIEW"),
    ]
    assert label0["author"] == {"username": "ann1"}


def rows_of(n: int) -> list[dict[str, Any]]:
    return [{"externalId": f"x-{i}", "data": {"text": f"x {i}"}} for i in range(n)]
