"""Qualification and certification through the API: the practice loop with feedback, pass and
certificate, fail and cool-down, expiry, re-qualifying out of a suspension, prerequisites from
another project, and the policy's checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.expertise.models import Certificate, QualificationAttempt
from tests.conftest import Api
from tests.expertise.test_gold import ITEMS, SET_GOLD, gold_project
from tests.workflow.flow import acknowledge, audit_events, codes, create_project, grant, imported, rows

POLICY = """
mutation Policy($input: UpdateCertificationPolicyInput!) {
  updateCertificationPolicy(input: $input) {
    project { certificationPolicy { required size passMark field certificateDays cooldownMinutes
      prerequisites { field stage project { name } } } }
    errors { code field message }
  }
}
"""
CLAIM = """
mutation Claim($projectId: ID!) {
  claimNextTask(input: {projectId: $projectId}) {
    assignment { id item { id externalId } qualification { size answered passMark } }
    errors { code field message }
  }
}
"""
SUBMIT = """
mutation Submit($input: SubmitLabelInput!) {
  submitLabel(input: $input) {
    label { id }
    qualification {
      score fields { field score } correctValue definitions { field className definition }
      qualification { answered size score passed retryAfter finishedAt }
    }
    errors { code field }
  }
}
"""
START = """
mutation Start($input: StartQualificationInput!) {
  startQualification(input: $input) { qualification { size answered passed } errors { code field message } }
}
"""
STANDING = """
query($id: ID!) { project(id: $id) { annotators {
  user { username } goldAnswers suspension { reason }
  certification {
    standing attempts certificate { score issuedAt expiresAt field } qualification { answered retryAfter }
  }
} } }
"""
SHOWN_POLICY = """
query($id: ID!) { project(id: $id) { certificationPolicy { required size passMark prerequisites { field } } } }
"""
GUIDELINE = {
    "definitions": [
        {"field": "sentiment", "class": "pos", "definition": "The writer is pleased."},
        {"field": "sentiment", "class": "neg", "definition": "The writer is displeased."},
    ]
}


async def certification_project(api: Api, *, gold: int, work: int = 3, **policy: Any) -> tuple[str, dict[str, str]]:
    """A project with `gold` gold items answered 'pos', `work` ordinary items, a guideline (v2) defining
    the sentiment classes acknowledged by the annotators, and the certification policy given."""
    project = await create_project(api, f"Certified {gold} {sorted(policy.items())}", overlap=1)
    await imported(api, project, rows(gold, prefix="gold") + rows(work, prefix="work"))
    nodes = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    ids = {n["externalId"]: n["id"] for n in nodes}
    answers = [{"itemId": ids[f"gold-{i}"], "value": {"sentiment": "pos"}} for i in range(gold)]
    if answers:
        marked = await api.data(SET_GOLD, {"input": {"projectId": project, "answers": answers}}, as_="pm")
        assert marked["setGoldAnswers"]["errors"] == []
    saved = await api.data(
        "mutation($input: SaveGuidelineDraftInput!) { saveGuidelineDraft(input: $input) { errors { code field } } }",
        {"input": {"projectId": project, "content": GUIDELINE}},
        as_="pm",
    )
    assert saved["saveGuidelineDraft"]["errors"] == []
    published = await api.data(
        "mutation($input: PublishGuidelineInput!) { publishGuideline(input: $input) { errors { code } } }",
        {"input": {"projectId": project, "changelog": "Definitions."}},
        as_="pm",
    )
    assert published["publishGuideline"]["errors"] == []
    for username in ("ann1", "ann2", "ann3"):
        await acknowledge(api, project, 2, as_=username)
    if policy:
        result = await api.data(POLICY, {"input": {"projectId": project, **policy}}, as_="pm")
        assert result["updateCertificationPolicy"]["errors"] == [], result
    return project, ids


async def claim(api: Api, project: str, *, as_: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(CLAIM, {"projectId": project}, as_=as_))["claimNextTask"]
    return payload


async def answer(api: Api, project: str, value: str, *, as_: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Claim and answer; (the assignment, the submit payload)."""
    claimed = await claim(api, project, as_=as_)
    assert claimed["errors"] == [], claimed
    task = claimed["assignment"]
    submitted = await api.data(SUBMIT, {"input": {"assignmentId": task["id"], "value": {"sentiment": value}}}, as_=as_)
    payload = submitted["submitLabel"]
    assert payload["errors"] == [], payload
    return task, payload


async def standing(api: Api, project: str) -> dict[str, dict[str, Any]]:
    found = (await api.data(STANDING, {"id": project}, as_="pm"))["project"]["annotators"]
    return {a["user"]["username"]: a for a in found}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_an_uncertified_annotator_practices_with_feedback_then_passes_and_works(api: Api) -> None:
    project, ids = await certification_project(api, gold=4, required=True, size=3, passMark=0.6, certificateDays=30)
    gold_ids = {v for k, v in ids.items() if k.startswith("gold")}

    served, feedback = [], []
    for value in ("pos", "neg", "pos"):
        task, submitted = await answer(api, project, value, as_="ann1")
        assert task["item"]["id"] in gold_ids
        assert task["qualification"]["size"] == 3
        served.append(task["item"]["id"])
        feedback.append(submitted["qualification"])
    assert len(set(served)) == 3  # a set never repeats a question

    # Each answer is answered at once with the correct value and what its class means.
    right, wrong, last = feedback
    assert (right["score"], right["fields"]) == (1.0, [{"field": "sentiment", "score": 1.0}])
    assert wrong["score"] == 0.0
    assert wrong["correctValue"] == {"sentiment": "pos"}
    assert wrong["definitions"] == [{"field": "sentiment", "className": "pos", "definition": "The writer is pleased."}]
    assert (wrong["qualification"]["answered"], wrong["qualification"]["passed"]) == (2, None)
    assert last["qualification"]["answered"] == 3
    assert abs(last["qualification"]["score"] - 2 / 3) < 1e-9
    assert last["qualification"]["passed"] is True

    # Certified: the next claim is work, an ordinary task with no qualification.
    task = (await claim(api, project, as_="ann1"))["assignment"]
    assert task["item"]["id"] not in gold_ids
    assert task["qualification"] is None
    people = await standing(api, project)
    ann1 = people["ann1"]["certification"]
    assert (ann1["standing"], ann1["attempts"], ann1["qualification"]) == ("CERTIFIED", 1, None)
    certificate = ann1["certificate"]
    assert when(certificate["expiresAt"]) - when(certificate["issuedAt"]) == timedelta(days=30)
    assert people["ann1"]["goldAnswers"] == 0  # qualification answers are not blind gold answers
    assert people["ann2"]["certification"]["standing"] == "UNCERTIFIED"
    [started] = await audit_events(api, "qualification.start", project)
    [passed] = await audit_events(api, "qualification.pass", project)
    assert started["actor"]["username"] == passed["actor"]["username"] == "ann1"
    assert when(passed["details"]["expiresAt"]) == when(certificate["expiresAt"])


async def test_a_failed_attempt_waits_out_its_cool_down_then_a_fresh_set_can_pass(api: Api) -> None:
    project, _ = await certification_project(api, gold=4, required=True, size=2, passMark=1.0, cooldownMinutes=60)
    first = []
    for value in ("pos", "neg"):
        task, submitted = await answer(api, project, value, as_="ann2")
        first.append(task["item"]["id"])
    outcome = submitted["qualification"]["qualification"]
    assert outcome["passed"] is False
    assert when(outcome["retryAfter"]) - when(outcome["finishedAt"]) == timedelta(minutes=60)

    refused = await claim(api, project, as_="ann2")
    assert codes(refused) == [("QUALIFICATION_COOLDOWN", "projectId")]
    assert outcome["retryAfter"][:16] in refused["errors"][0]["message"]
    assert (await standing(api, project))["ann2"]["certification"]["standing"] == "COOLDOWN"
    [failed] = await audit_events(api, "qualification.fail", project)
    assert failed["details"]["score"] == 0.5

    async with api.runtime.sessions() as session:  # the clock moves on: the cool-down is over
        await session.execute(
            update(QualificationAttempt)
            .where(col(QualificationAttempt.user_id) == api.world.id("ann2"))
            .values(retry_after=datetime(2000, 1, 1, tzinfo=UTC))
        )
        await session.commit()
    second = []
    for _ in range(2):
        task, submitted = await answer(api, project, "pos", as_="ann2")
        second.append(task["item"]["id"])
    assert set(second).isdisjoint(first)  # questions not seen before come first
    assert submitted["qualification"]["qualification"]["passed"] is True
    certification = (await standing(api, project))["ann2"]["certification"]
    assert (certification["standing"], certification["attempts"]) == ("CERTIFIED", 2)


async def test_an_expired_certificate_sends_the_annotator_back_to_qualification(api: Api) -> None:
    project, _ = await certification_project(api, gold=3, required=True, size=1, passMark=1.0)
    await answer(api, project, "pos", as_="ann1")
    async with api.runtime.sessions() as session:
        await session.execute(
            update(Certificate)
            .where(col(Certificate.user_id) == api.world.id("ann1"))
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
        await session.commit()
    assert (await standing(api, project))["ann1"]["certification"]["standing"] == "EXPIRED"
    task = (await claim(api, project, as_="ann1"))["assignment"]
    assert task["qualification"] == {"size": 1, "answered": 0, "passMark": 1.0}
    assert (await standing(api, project))["ann1"]["certification"]["standing"] == "QUALIFYING"


async def test_a_suspended_annotator_re_qualifies_and_the_suspension_lifts(api: Api) -> None:
    project, ids = await gold_project(api, rate=1.0, floor=0.6)
    blind = []
    for value in ("neg", "neg"):
        claimed = await claim(api, project, as_="ann1")
        blind.append(claimed["assignment"]["item"]["id"])
        data = {"input": {"assignmentId": claimed["assignment"]["id"], "value": {"sentiment": value}}}
        assert (await api.data(SUBMIT, data, as_="ann1"))["submitLabel"]["qualification"] is None  # blind: no feedback
    refused = await claim(api, project, as_="ann1")
    assert codes(refused) == [("SUSPENDED", "projectId")]
    assert "startQualification" in refused["errors"][0]["message"]

    policy = {"projectId": project, "size": 2, "passMark": 1.0}
    assert (await api.data(POLICY, {"input": policy}, as_="pm"))["updateCertificationPolicy"]["errors"] == []
    started = (await api.data(START, {"input": {"projectId": project}}, as_="ann1"))["startQualification"]
    assert started == {"qualification": {"size": 2, "answered": 0, "passed": None}, "errors": []}
    again = (await api.data(START, {"input": {"projectId": project}}, as_="ann1"))["startQualification"]
    assert again["errors"] == []  # the open attempt, not a second one
    for _ in range(2):
        task, submitted = await answer(api, project, "pos", as_="ann1")
        assert task["item"]["id"] not in blind
    assert submitted["qualification"]["qualification"]["passed"] is True

    person = (await standing(api, project))["ann1"]
    assert person["suspension"] is None
    assert person["certification"]["standing"] == "CERTIFIED"
    [passed] = await audit_events(api, "qualification.pass", project)
    assert passed["details"]["liftedSuspension"]
    assert len(await audit_events(api, "qualification.start", project)) == 1
    # Back to blind work: gold questions it saw in the set never come back to it.
    back = await claim(api, project, as_="ann1")
    assert back["errors"] == []
    seen = set(blind) | {task["item"]["id"]}
    assert back["assignment"]["item"]["id"] not in seen
    assert back["assignment"]["item"]["id"] in {v for k, v in ids.items() if k.startswith("gold")}


async def test_a_gold_question_is_held_by_as_many_annotators_as_ask(api: Api) -> None:
    project, ids = await certification_project(api, gold=1, required=True, size=1, passMark=1.0)
    held = {(await claim(api, project, as_=who))["assignment"]["item"]["id"] for who in ("ann1", "ann2", "ann3")}
    assert held == {ids["gold-0"]}  # overlap 1 does not limit a question nobody decides


async def test_prerequisites_from_another_project_gate_tasks_and_escalations(api: Api) -> None:
    source, _ = await certification_project(api, gold=2, size=1, passMark=1.0)
    target = await create_project(api, "Needs the source's certificate", overlap=1)
    await imported(api, target, rows(2))
    await grant(api, "expert", "EXPERT", target)
    await grant(api, "expert", "ANNOTATOR", source)
    await acknowledge(api, source, 2, as_="expert")
    prerequisites = [{"projectId": source}, {"projectId": source, "field": "sentiment", "stage": "ESCALATION"}]
    set_up = await api.data(POLICY, {"input": {"projectId": target, "prerequisites": prerequisites}}, as_="admin")
    policy = set_up["updateCertificationPolicy"]["project"]["certificationPolicy"]
    assert [(p["stage"], p["field"]) for p in policy["prerequisites"]] == [
        ("ESCALATION", "sentiment"),
        ("LABELING", ""),
    ]

    refused = await claim(api, target, as_="ann1")
    assert codes(refused) == [("CERTIFICATE_REQUIRED", "projectId")]
    assert "Certified 2" in refused["errors"][0]["message"]  # it may read the source: it is named
    await api.data(START, {"input": {"projectId": source}}, as_="ann1")
    await answer(api, source, "pos", as_="ann1")
    assert (await claim(api, target, as_="ann1"))["errors"] == []

    escalation = "mutation($p: ID!) { claimNextEscalation(input: {projectId: $p}) { errors { code } } }"
    assert (await api.data(escalation, {"p": target}, as_="expert"))["claimNextEscalation"]["errors"] == [
        {"code": "CERTIFICATE_REQUIRED"}
    ]
    # A whole-schema certificate is not one for the sentiment label set.
    await api.data(START, {"input": {"projectId": source}}, as_="expert")
    await answer(api, source, "pos", as_="expert")
    assert (await api.data(escalation, {"p": target}, as_="expert"))["claimNextEscalation"]["errors"] == [
        {"code": "CERTIFICATE_REQUIRED"}
    ]
    scoped = {"projectId": source, "field": "sentiment"}
    assert (await api.data(POLICY, {"input": scoped}, as_="pm"))["updateCertificationPolicy"]["errors"] == []
    await api.data(START, {"input": {"projectId": source}}, as_="expert")
    await answer(api, source, "pos", as_="expert")
    assert (await api.data(escalation, {"p": target}, as_="expert"))["claimNextEscalation"]["errors"] == [
        {"code": "QUEUE_EMPTY"}  # through the gate: nothing is escalated yet
    ]


async def test_a_bad_policy_is_refused_whole_and_writes_nothing(api: Api) -> None:
    project, _ = await certification_project(api, gold=2)
    hidden = (
        await api.data(
            "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }",
            {"input": {"name": "Not the pm's", "labelSchema": {"fields": [{"name": "x", "kind": "text"}]}}},
            as_="admin",
        )
    )["createProject"]["project"]["id"]
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"required": True, "size": 3}, [("NOT_ENOUGH_GOLD", "required")]),
        ({"size": 0, "passMark": 0.0}, [("OUT_OF_RANGE", "size"), ("OUT_OF_RANGE", "passMark")]),
        (
            {"certificateDays": 0, "cooldownMinutes": -1},
            [("OUT_OF_RANGE", "certificateDays"), ("OUT_OF_RANGE", "cooldownMinutes")],
        ),
        ({"field": "colour"}, [("UNKNOWN_FIELD", "field")]),
        ({"prerequisites": [{"projectId": project}]}, [("SELF_REQUIREMENT", "prerequisites.0.projectId")]),
        ({"prerequisites": [{"projectId": hidden}]}, [("NOT_FOUND", "prerequisites.0.projectId")]),
        ({"prerequisites": [{"projectId": "nope"}]}, [("INVALID_ID", "prerequisites.0.projectId")]),
    ]
    for change, expected in cases:
        result = (await api.data(POLICY, {"input": {"projectId": project, **change}}, as_="pm"))[
            "updateCertificationPolicy"
        ]
        assert codes(result) == expected, change
        assert result["project"] is None
    shown = await api.data(SHOWN_POLICY, {"id": project}, as_="pm")
    assert shown["project"]["certificationPolicy"] == {
        "required": False,
        "size": 10,
        "passMark": 0.8,
        "prerequisites": [],
    }
    assert await audit_events(api, "certification.policy", project) == []
    refused = await api.gql(POLICY, {"input": {"projectId": project, "size": 2}}, as_="ann1")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Two gold items are enough for a set of two: the pass then holds.
    ok = (await api.data(POLICY, {"input": {"projectId": project, "required": True, "size": 2}}, as_="pm"))[
        "updateCertificationPolicy"
    ]
    assert ok["errors"] == []
    [event] = await audit_events(api, "certification.policy", project)
    assert event["details"]["changed"] == {"required": True, "size": 2}
