"""The built-in model and auto-accept together, on both databases: a trained model's confident
suggestions decide the undecided items as a pushed model's would (AUTO_ACCEPTED, the built-in
version as agent), and the next training learns from the people's decisions only, never from
the model's own."""

from __future__ import annotations

from tests.automation.test_auto_accept import items, policy_set
from tests.automation.test_training import a_project, import_corpus, label_next, train
from tests.conftest import Api


async def test_the_built_in_model_s_confident_suggestions_auto_accept_and_are_not_learnt_from(api: Api) -> None:
    project = await a_project(api, "learning and auto-accept")
    truth = await import_corpus(api, project, 24, 16)
    await label_next(api, project, truth, 24)
    await policy_set(api, project, autoAcceptConfidence={"sentiment": 0.5}, spotCheckRate=0.0)

    first = await train(api, project)
    assert first["errors"] == []
    [run] = first["runs"]
    assert (run["status"], run["trainingSize"], run["predicted"]) == ("SUCCEEDED", 24, 16)

    seen = await items(api, project)
    undecided = {ext for ext in truth if ext.startswith("u-")}
    for ext in undecided:
        final = seen[ext]["finalLabel"]
        assert seen[ext]["status"] == "FINAL", ext
        assert final["method"] == "AUTO_ACCEPTED"
        assert final["decidedBy"] is None
        assert final["decidedByModel"] == {
            "modelName": "builtin-sentiment",
            "modelVersion": "1",
            "modelKind": "BUILT_IN",
        }
    # The separable texts: the model's decisions are the truth.
    assert {ext: seen[ext]["finalLabel"]["value"]["sentiment"] for ext in undecided} == {
        ext: truth[ext] for ext in undecided
    }

    # 40 items are decided now, 16 of them by the model: the next version learns from the 24.
    second = await train(api, project)
    [again] = second["runs"]
    assert (again["status"], again["trainingSize"], again["predicted"]) == ("SUCCEEDED", 24, 0)
    assert again["modelVersion"]["version"] == "2"
