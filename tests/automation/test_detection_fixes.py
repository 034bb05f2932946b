"""Review fixes of label-issue detection, on both databases: store flags only the decision the run
judged (one decided anew since `prepare` is NOT_FLAGGED), an audit queued since `prepare` gives
ALREADY_PENDING; and a run's model version reads as name, version and kind only."""

from __future__ import annotations

from sqlmodel import col, select

from app.audits import service as audits
from app.auth.actor import Actor
from app.auth.models import User
from app.automation import detection
from app.automation.models import LabelIssue
from app.db import unit_of_work
from tests.audits.support import claim_audit, submit_audit
from tests.automation.test_detection import detect, planted_project
from tests.conftest import Api, gid
from tests.workflow.flow import pk


async def actor_of(api: Api, username: str) -> Actor:
    async with api.runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
        assert user is not None
        return Actor(user.id, user.username, user.kind, api.runtime.authorizer)


async def test_store_flags_only_the_decision_it_judged_and_sees_audits_queued_meanwhile(api: Api) -> None:
    planted = await planted_project(api, n=40, flips=4, seed=8)
    pm = await actor_of(api, "pm")
    async with unit_of_work(api.runtime.sessions, write=False) as session:
        plan = await detection.prepare(session, pm, detection.Detect(project_id=pk(planted.project), top=5))
    fitted = await detection.fit_in_thread(plan)
    heads = [plan.ranked[issue.index].item_id for issue in fitted.issues[:5]]
    assert len(heads) == 5
    redecided, queued = heads[0], heads[1]

    # Between prepare and store: an auditor overturns one head (a new decision in force, audit DONE) ...
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await audits.flag_for_audit(session, redecided, "another reason")
    claim = await claim_audit(api, planted.project)
    assert claim["errors"] == []
    assert claim["item"]["id"] == gid("Item", redecided)
    issue = fitted.issues[0]
    verdict = await submit_audit(
        api, gid("Item", redecided), "OVERTURN", value={"sentiment": plan.kept[issue.suggested]}, comment="No."
    )
    assert verdict["errors"] == [], verdict
    # ... and another head is queued for an audit of its own.
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await audits.flag_for_audit(session, queued, "another reason")

    async with unit_of_work(api.runtime.sessions, write=True) as session:
        stored = await detection.store(session, pm, plan, fitted)
    async with api.runtime.sessions() as session:
        rows = {
            r.item_id: r.outcome.value
            for r in await session.scalars(select(LabelIssue).where(col(LabelIssue.run_id) == stored.run.id))
        }
    assert rows[redecided] == "NOT_FLAGGED"
    assert rows[queued] == "ALREADY_PENDING"
    assert [rows[i] for i in heads[2:]] == ["FLAGGED"] * 3
    assert stored.run.flagged == 3


RUN = """
query Runs($id: ID!) { project(id: $id) { labelIssues(first: 1) { run { modelVersion { modelName } } } } }
"""


async def test_a_reviewer_reads_the_runs_model_by_name_only(api: Api) -> None:
    planted = await planted_project(api, n=20, flips=2, seed=3)
    push = """
    mutation Push($input: SubmitSuggestionsInput!) { submitSuggestions(input: $input) { errors { code } } }
    """
    rows = [{"externalId": n, "value": {"sentiment": t}, "confidence": 0.9} for n, t in planted.truth.items()]
    variables = {"projectId": planted.project, "modelName": "oracle", "modelVersion": "1", "suggestions": rows}
    assert (await api.data(push, {"input": variables}, as_="pm"))["submitSuggestions"]["errors"] == []
    assert (await detect(api, planted.project, modelName="oracle", modelVersion="1"))["errors"] == []
    shown = await api.data(RUN, {"id": planted.project}, as_="reviewer")
    assert shown["project"]["labelIssues"]["run"]["modelVersion"] == {"modelName": "oracle"}
    # The registry's own shape (metrics, parameters) is not reachable from a run.
    refused = await api.gql(
        """query R($id: ID!) { project(id: $id) { labelIssues(first: 1) { run { modelVersion { metrics } } } } }""",
        {"id": planted.project},
        as_="reviewer",
    )
    assert refused.get("errors"), refused
    assert "metrics" in refused["errors"][0]["message"]
