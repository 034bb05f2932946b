"""Review fixes of the built-in model's training, on both databases: a cross-field rule that refuses
some of its one-field suggestions leaves those out (counted) instead of failing the training; a
background retrain whose store fails records a FAILED run, so the project is not due forever;
decisions the model made itself (AUTO_ACCEPTED) do not make a project due."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select

from app.auth.models import User
from app.automation import training
from app.automation.models import Model, ModelKind, ModelVersion
from app.automation.training_models import TrainingRun
from app.ids import new_id
from tests.automation.test_auto_accept import policy_set
from tests.automation.test_training import (
    QUALITY,
    RUNS,
    a_project,
    import_corpus,
    label_next,
    suggestions_of,
    train,
)
from tests.conftest import SCHEMA, Api
from tests.workflow.flow import audit_events, claimed, create_project, pk, submit

# A negative review must name its topics: a model that gives only the sentiment cannot propose `neg`.
RULED = {
    **SCHEMA,
    "rules": [{"kind": "requires", "if": {"field": "sentiment", "class": "neg"}, "then": {"field": "topics"}}],
}


async def ruled_project(api: Api) -> tuple[str, dict[str, str]]:
    project = await create_project(api, "ruled learning", overlap=1, schema=RULED)
    payload = await api.data(QUALITY, {"input": {"projectId": project, "reviewRate": 0.0}}, as_="pm")
    assert payload["updateQualityPolicy"]["errors"] == []
    truth = await import_corpus(api, project, 24, 16)
    for _ in range(24):
        task = await claimed(api, project, as_="ann1")
        sentiment = truth[task["item"]["externalId"]]
        value: dict[str, Any] = {"sentiment": sentiment}
        if sentiment == "neg":
            value["topics"] = ["quality"]
        assert (await submit(api, task["id"], value, as_="ann1"))["errors"] == []
    return project, truth


async def test_suggestions_a_cross_field_rule_refuses_are_left_out_and_counted(api: Api) -> None:
    project, truth = await ruled_project(api)
    payload = await train(api, project)
    assert payload["errors"] == [], payload
    [run] = payload["runs"]
    undecided = {ext: t for ext, t in truth.items() if ext.startswith("u-")}
    negatives = sum(1 for t in undecided.values() if t == "neg")
    assert run["status"] == "SUCCEEDED"
    # The separable texts: the model proposes the truth; the rule refuses every `neg`, the rest is written.
    assert run["predicted"] == len(undecided) - negatives
    assert run["modelVersion"]["metrics"]["suggestionsRefused"] == negatives
    written = await suggestions_of(api, project)
    assert set(written) == {ext for ext, t in undecided.items() if t == "pos"}
    assert {cls for cls, _ in written.values()} == {"pos"}
    [event] = await audit_events(api, "automation.train", project)
    assert event["details"]["runs"][0]["suggestionsRefused"] == negatives


async def test_a_retrain_whose_store_fails_records_a_failed_run_and_is_not_due_again(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 30, 10)
    await label_next(api, project, truth, 20)
    assert (
        await api.data(
            """mutation L($input: UpdateActiveLearningPolicyInput!) {
             updateActiveLearningPolicy(input: $input) { errors { code } } }""",
            {"input": {"projectId": project, "retrainEvery": 2}},
            as_="pm",
        )
    )["updateActiveLearningPolicy"]["errors"] == []
    # The built-in model's name is taken by a model of another kind: store refuses (MODEL_KIND).
    async with api.runtime.sessions() as session:
        pm = await session.scalar(select(User.id).where(User.username == "pm"))
        assert pm is not None
        session.add(
            Model(
                id=new_id(), project_id=pk(project), name="builtin-sentiment", kind=ModelKind.EXTERNAL, registered_by=pm
            )
        )
        await session.commit()
    [done] = await api.runtime.retrainer.run_once()
    assert done.runs == [("", "FAILED", "MODEL_KIND")]
    assert await api.runtime.retrainer.run_once() == []  # the failed run reset the count
    runs = (await api.data(RUNS, {"id": project}, as_="pm"))["project"]["trainingRuns"]
    assert [(r["trigger"], r["status"], r["errorCode"]) for r in runs] == [("RETRAIN", "FAILED", "MODEL_KIND")]
    async with api.runtime.sessions() as session:
        versions = await session.scalar(select(func.count()).select_from(ModelVersion))
        assert versions == 0  # nothing of the failed store stands
    await label_next(api, project, truth, 2)
    [again] = await api.runtime.retrainer.run_once()
    assert again.runs == [("", "FAILED", "MODEL_KIND")]


async def test_decisions_the_model_made_do_not_make_a_project_due(api: Api) -> None:
    project = await a_project(api, "auto-accept and retraining")
    truth = await import_corpus(api, project, 24, 16)
    await label_next(api, project, truth, 24)
    await policy_set(api, project, autoAcceptConfidence={"sentiment": 0.5}, spotCheckRate=0.0)
    # Due after 10 decisions: the training's own store auto-accepts the 16 undecided items.
    assert (
        await api.data(
            """mutation L($input: UpdateActiveLearningPolicyInput!) {
             updateActiveLearningPolicy(input: $input) { errors { code } } }""",
            {"input": {"projectId": project, "retrainEvery": 10}},
            as_="pm",
        )
    )["updateActiveLearningPolicy"]["errors"] == []
    [run] = (await train(api, project))["runs"]
    assert (run["status"], run["predicted"]) == ("SUCCEEDED", 16)
    async with api.runtime.sessions() as session:
        assert pk(project) not in await training.due_projects(session)
        started = await session.scalar(
            select(func.count()).select_from(TrainingRun).where(col(TrainingRun.project_id) == pk(project))
        )
        assert started == 1
    assert await api.runtime.retrainer.run_once() == []
