"""projectOperations through the API: the figures of a small scripted program (two annotators on
overlapping items, a gold question answered right and wrong, a review rejection, an audit
overturn), what an annotator sees of them (its own), who sees nothing, and bad arguments."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.clock import utcnow
from app.expertise.models import Certificate, QualificationAttempt
from app.workflow.models import Assignment, Label
from tests.audits.support import claim_audit, policy_set, submit_audit
from tests.conftest import Api
from tests.statements import counted
from tests.workflow.flow import claimed, create_project, grant, imported, pk, review, rows, submit

OPERATIONS = """
query Ops($id: ID!, $from: DateTime, $to: DateTime, $bucketHours: Int) {
  projectOperations(projectId: $id, from: $from, to: $to, bucketHours: $bucketHours) {
    scope from to bucketHours
    throughput { start labels decisions }
    annotators {
      annotator { username } labels labelsPerHour reviewRejections rejectionRate goldAnswered goldAccuracy
      medianClaimToSubmitSeconds
    }
    errors {
      reviews reviewRejections rejectionRate audits auditOverturns overturnRate goldAnswered goldMisses goldMissRate
      classes { field value labels reviewRejections auditOverturns goldMisses }
    }
    latency {
      claimToSubmit { count medianSeconds p90Seconds }
      importToDecision { count medianSeconds p90Seconds }
    }
    drift { start decisions agreement distribution { field value share } divergenceFromFirst }
    queue { depth oldestWaitingSeconds stages { status count oldestWaitingSeconds } }
    attention { annotator { username } reasons detail }
  }
}
"""
SET_GOLD = """
mutation Gold($input: SetGoldAnswersInput!) { setGoldAnswers(input: $input) { goldItems errors { code field } } }
"""
GOLD_POLICY = """
mutation Policy($input: UpdateGoldPolicyInput!) { updateGoldPolicy(input: $input) { errors { code field } } }
"""
# The project, its schema in force, six reads of figures, queue and attention, users, BEGIN: far below one per label.
MAX_STATEMENTS = 14
ITEMS = "query($id: ID!) { project(id: $id) { items(first: 50) { nodes { id externalId } } } }"


async def label(api: Api, project: str, value: dict[str, Any], *, as_: str, took: float) -> dict[str, Any]:
    """Claim, submit, then move the claim `took` seconds before the label (tests never sleep)."""
    assignment = await claimed(api, project, as_=as_)
    payload = await submit(api, assignment["id"], value, as_=as_)
    assert payload["errors"] == [], payload
    async with api.runtime.sessions() as session:
        made = await session.get(Label, pk(payload["label"]["id"]))
        assert made is not None
        await session.execute(
            update(Assignment)
            .where(col(Assignment.id) == pk(assignment["id"]))
            .values(claimed_at=made.created_at - timedelta(seconds=took))
        )
        await session.commit()
    return {"item": assignment["item"]["externalId"], "label": payload["label"]["id"]}


async def program(api: Api) -> str:
    """gold-0 (answer pos): ann1 answers neg, ann2 pos. work-0: both pos, accepted, then overturned
    to neu by QA. work-1: ann1 pos, ann2 neg, ann2's label rejected (back in the queue)."""
    project = await create_project(api, "Ops", overlap=2)
    await grant(api, "qa", "QA_AUDITOR", project)
    await imported(api, project, rows(1, prefix="gold") + rows(2, prefix="work"))
    ids = {
        n["externalId"]: n["id"]
        for n in (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    }
    gold = {"input": {"projectId": project, "answers": [{"itemId": ids["gold-0"], "value": {"sentiment": "pos"}}]}}
    assert (await api.data(SET_GOLD, gold, as_="pm"))["setGoldAnswers"] == {"goldItems": 1, "errors": []}
    policy = {"projectId": project, "goldRate": 1.0, "goldFloor": 0.0}
    assert (await api.data(GOLD_POLICY, {"input": policy}, as_="pm"))["updateGoldPolicy"]["errors"] == []
    await policy_set(api, project, auditRate=1.0)

    made = [
        await label(api, project, {"sentiment": "neg"}, as_="ann1", took=10),  # gold: a miss
        await label(api, project, {"sentiment": "pos"}, as_="ann2", took=10),  # gold: right
        await label(api, project, {"sentiment": "pos"}, as_="ann1", took=30),
        await label(api, project, {"sentiment": "pos"}, as_="ann1", took=50),
        await label(api, project, {"sentiment": "pos"}, as_="ann2", took=20),
        await label(api, project, {"sentiment": "neg"}, as_="ann2", took=40),
    ]
    assert [m["item"] for m in made] == ["gold-0", "gold-0", "work-0", "work-1", "work-0", "work-1"]
    accepted = await review(api, made[2]["label"], "ACCEPT")
    assert accepted["errors"] == []
    assert accepted["item"]["status"] == "FINAL"
    rejected = await review(api, made[5]["label"], "REJECT", comment="not negative")
    assert rejected["errors"] == []
    assert rejected["item"]["status"] == "QUEUED"
    assert (await claim_audit(api, project))["errors"] == []
    overturned = await submit_audit(api, ids["work-0"], "OVERTURN", value={"sentiment": "neu"}, comment="neutral")
    assert overturned["errors"] == [], overturned
    # Now a floor ann1's gold answers fall under (set after them: no suspension, only attention).
    policy = {"projectId": project, "goldFloor": 0.6, "goldMinAnswers": 1}
    assert (await api.data(GOLD_POLICY, {"input": policy}, as_="pm"))["updateGoldPolicy"]["errors"] == []
    return project


def period() -> dict[str, Any]:
    """One bucket holding the whole program: no hour boundary to fall across."""
    now = utcnow()
    return {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
        "bucketHours": 2,
    }


async def operations(api: Api, project: str, *, as_: str, **variables: Any) -> dict[str, Any] | None:
    data = await api.data(OPERATIONS, {"id": project, **period(), **variables}, as_=as_)
    found: dict[str, Any] | None = data["projectOperations"]
    return found


async def test_a_manager_sees_the_whole_programs_figures(api: Api) -> None:
    project = await program(api)
    ops = await operations(api, project, as_="pm")
    assert ops is not None
    assert (ops["scope"], ops["bucketHours"]) == ("PROJECT", 2)
    assert ops["throughput"] == [{"start": ops["from"], "labels": 4, "decisions": 2}]

    rows_by = {a["annotator"]["username"]: a for a in ops["annotators"]}
    assert set(rows_by) == {"ann1", "ann2"}
    assert rows_by["ann1"] == {
        "annotator": {"username": "ann1"},
        "labels": 2,
        "labelsPerHour": 1.0,  # 2 labels over the 2 hours
        "reviewRejections": 0,
        "rejectionRate": 0.0,
        "goldAnswered": 1,
        "goldAccuracy": 0.0,
        "medianClaimToSubmitSeconds": 40.0,
    }
    assert rows_by["ann2"] == {
        "annotator": {"username": "ann2"},
        "labels": 2,
        "labelsPerHour": 1.0,
        "reviewRejections": 1,
        "rejectionRate": 1.0,
        "goldAnswered": 1,
        "goldAccuracy": 1.0,
        "medianClaimToSubmitSeconds": 30.0,
    }

    errors = ops["errors"]
    classes = {(c["field"], c["value"]): c for c in errors.pop("classes")}
    assert errors == {
        "reviews": 2,
        "reviewRejections": 1,
        "rejectionRate": 0.5,
        "audits": 1,
        "auditOverturns": 1,
        "overturnRate": 1.0,
        "goldAnswered": 2,
        "goldMisses": 1,
        "goldMissRate": 0.5,
    }
    assert classes == {
        ("sentiment", '"pos"'): {
            "field": "sentiment", "value": '"pos"', "labels": 3, "reviewRejections": 0, "auditOverturns": 1,
            "goldMisses": 0,
        },
        ("sentiment", '"neg"'): {
            "field": "sentiment", "value": '"neg"', "labels": 1, "reviewRejections": 1, "auditOverturns": 0,
            "goldMisses": 1,
        },
    }  # fmt: skip

    claim_to_submit = ops["latency"]["claimToSubmit"]
    assert claim_to_submit == {"count": 4, "medianSeconds": 35.0, "p90Seconds": 47.0}  # 20 30 40 50
    assert ops["latency"]["importToDecision"]["count"] == 2

    [drift] = ops["drift"]
    assert (drift["decisions"], drift["agreement"], drift["divergenceFromFirst"]) == (2, 1.0, 0.0)
    assert {(s["field"], s["value"]): s["share"] for s in drift["distribution"]} == {
        ("sentiment", '"neu"'): 0.5,
        ("sentiment", '"pos"'): 0.5,
    }

    queue = ops["queue"]
    assert queue["depth"] == 1
    assert [(s["status"], s["count"]) for s in queue["stages"]] == [
        ("QUEUED", 1),
        ("IN_REVIEW", 0),
        ("ESCALATED", 0),
        ("AUDIT", 0),
    ]
    assert queue["oldestWaitingSeconds"] is not None
    assert queue["oldestWaitingSeconds"] >= 0

    [attention] = ops["attention"]
    assert (attention["annotator"], attention["reasons"]) == ({"username": "ann1"}, ["LOW_GOLD_ACCURACY"])
    assert "0.00" in attention["detail"]
    assert "0.60" in attention["detail"]


async def test_an_annotator_sees_only_its_own_figures_and_no_queue(api: Api) -> None:
    project = await program(api)
    ops = await operations(api, project, as_="ann2")
    assert ops is not None
    assert ops["scope"] == "SELF"
    assert [a["annotator"]["username"] for a in ops["annotators"]] == ["ann2"]
    assert ops["queue"] is None
    assert ops["attention"] == []
    assert ops["throughput"][0]["labels"] == 2
    errors = ops["errors"]
    classes = {
        (c["field"], c["value"]): (c["labels"], c["reviewRejections"], c["auditOverturns"]) for c in errors["classes"]
    }
    assert classes == {("sentiment", '"pos"'): (1, 0, 1), ("sentiment", '"neg"'): (1, 1, 0)}
    assert (errors["reviews"], errors["reviewRejections"], errors["goldAnswered"], errors["goldMisses"]) == (1, 1, 1, 0)
    assert (errors["audits"], errors["auditOverturns"]) == (1, 1)
    assert ops["latency"]["claimToSubmit"] == {"count": 2, "medianSeconds": 30.0, "p90Seconds": 38.0}
    # Drift from its own labels only: its one label behind the bucket's decisions gave pos.
    for bucket in ops["drift"]:
        assert {(s["field"], s["value"]) for s in bucket["distribution"]} <= {("sentiment", '"pos"')}

    mine = await operations(api, project, as_="ann1")
    assert mine is not None
    assert [(a["annotator"]["username"], a["reasons"]) for a in mine["attention"]] == [("ann1", ["LOW_GOLD_ACCURACY"])]


async def test_a_certificate_about_to_lapse_needs_attention(api: Api) -> None:
    project = await program(api)
    ann3 = api.world.id("ann3")
    async with api.runtime.sessions() as session:
        attempt = QualificationAttempt(project_id=pk(project), user_id=ann3, size=1, pass_mark=0.5, passed=True)
        session.add(attempt)
        await session.flush()
        session.add(
            Certificate(
                project_id=pk(project),
                user_id=ann3,
                attempt_id=attempt.id,
                score=1.0,
                expires_at=utcnow() + timedelta(days=3),
            )
        )
        await session.commit()
    ops = await operations(api, project, as_="pm")
    assert ops is not None
    reasons = {a["annotator"]["username"]: a for a in ops["attention"]}
    assert reasons["ann3"]["reasons"] == ["CERTIFICATE_EXPIRING"]
    assert "expires in 3.0 days" in reasons["ann3"]["detail"] or "expires in 2.9 days" in reasons["ann3"]["detail"]
    # Not its own: an annotator never sees another's attention.
    mine = await operations(api, project, as_="ann2")
    assert mine is not None
    assert mine["attention"] == []


async def test_who_cannot_read_the_project_gets_null_and_other_roles_forbidden(api: Api) -> None:
    project = await program(api)
    assert await operations(api, project, as_="ann_b") is None
    assert await operations(api, project, as_="outsider") is None
    missing = await api.data(OPERATIONS, {"id": gid_of_nothing(), **period()}, as_="pm")
    assert missing["projectOperations"] is None
    await grant(api, "expert", "EXPERT", project)
    refused = await api.gql(OPERATIONS, {"id": project, **period()}, as_="expert")
    assert refused["data"]["projectOperations"] is None
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]


def gid_of_nothing() -> str:
    from tests.conftest import gid

    return gid("Project", uuid.uuid4())


async def test_bad_periods_and_buckets_are_bad_input(api: Api) -> None:
    project = await create_project(api, "Ops bad", overlap=1)
    now = utcnow()
    cases = [
        {"bucketHours": 0},
        {"bucketHours": 9000},
        {"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()},
        {"from": (now - timedelta(hours=1001)).isoformat(), "to": now.isoformat(), "bucketHours": 1},
        {"from": (now - timedelta(days=367)).isoformat(), "to": now.isoformat(), "bucketHours": 24 * 30},
    ]
    for variables in cases:
        body = await api.gql(OPERATIONS, {"id": project, **variables}, as_="pm")
        assert body["data"]["projectOperations"] is None, variables
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (variables, body)
    fine = await api.data(OPERATIONS, {"id": project, "bucketHours": 24}, as_="pm")
    assert len(fine["projectOperations"]["throughput"]) == 7  # the default: the last 7 days
    hourly = await api.data(OPERATIONS, {"id": project, "bucketHours": None}, as_="pm")
    assert len(hourly["projectOperations"]["throughput"]) == 7 * 24  # null reads as the default hour


async def test_the_figures_cost_the_same_statements_for_more_work(api: Api) -> None:
    project = await program(api)

    async def cost() -> int:
        async with counted(api) as statements:
            assert await operations(api, project, as_="pm") is not None
        return len(statements)

    before = await cost()
    await imported(api, project, rows(6, prefix="more"))
    for _ in range(6):
        await label(api, project, {"sentiment": "pos", "topics": ["price"]}, as_="ann3", took=5)
    assert before == await cost()
    assert before <= MAX_STATEMENTS, before


async def test_labels_imported_from_label_studio_are_not_throughput_or_latency(api: Api) -> None:
    from tests.interop.test_label_studio import ANNOTATORS, EXPORT, _import, _project, _set_email

    project = await _project(api)
    await _set_email(api, "ann2", "ann2@example.org")
    result = await _import(api, project, EXPORT, annotators=ANNOTATORS)
    assert (result["errors"], result["labelCount"]) == ([], 2)

    figures = (await api.data(OPERATIONS, {"id": project, "bucketHours": 24}, as_="pm"))["projectOperations"]

    # Two labels arrived this hour, made in Label Studio at other times: no instant labels here.
    assert sum(bucket["labels"] for bucket in figures["throughput"]) == 0
    assert figures["latency"]["claimToSubmit"]["count"] == 0
    assert [row["labels"] for row in figures["annotators"]] in ([], [0], [0, 0])
