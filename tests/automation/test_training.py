"""The built-in model through the API on both databases: trainModel from real decided labels (an
annotator labels, the aggregation decides), its suggestions and metrics, typed errors with the
failed run recorded, the background retrain after N decisions, and the queue handing out the most
uncertain items first once the sampling strategy says so."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, select

from app.automation import classifier
from app.automation import error_codes as area_codes
from app.automation.models import Model, ModelVersion, Suggestion
from app.automation.training_models import ItemUncertainty, TrainingRun
from app.ingestion.models import Item
from tests.conftest import Api, gid
from tests.workflow.flow import audit_events, claimed, codes, create_project, imported, pk, submit

TRAIN = """
mutation Train($input: TrainModelInput!) {
  trainModel(input: $input) {
    runs {
      field status trigger errorCode errorMessage trainingSize predicted
      modelVersion { modelName modelKind version metrics suggestionCount }
    }
    errors { code field message }
  }
}
"""
LEARNING = """
mutation Learning($input: UpdateActiveLearningPolicyInput!) {
  updateActiveLearningPolicy(input: $input) {
    project { retrainEvery samplingStrategy uncertaintyMeasure }
    errors { code field message }
  }
}
"""
RUNS = """
query Runs($id: ID!) {
  project(id: $id) {
    trainingRuns { field status trigger errorCode trainingSize modelVersion { version } }
  }
}
"""
QUALITY = """
mutation Q($input: UpdateQualityPolicyInput!) { updateQualityPolicy(input: $input) { errors { code field } } }
"""

POSITIVE = ["great", "wonderful", "excellent", "love", "fantastic", "happy", "perfect", "superb"]
NEGATIVE = ["terrible", "awful", "broken", "hate", "refund", "horrible", "angry", "useless"]


def text(sentiment: str, i: int) -> str:
    words = POSITIVE if sentiment == "pos" else NEGATIVE
    return f"{words[i % 8]} {words[(i + 3) % 8]} product, {words[(i + 5) % 8]} experience"


async def a_project(api: Api, name: str = "learning") -> str:
    """overlap 1, no review: one label decides an item (AGGREGATED)."""
    project = await create_project(api, name, overlap=1)
    payload = await api.data(QUALITY, {"input": {"projectId": project, "reviewRate": 0.0}}, as_="pm")
    assert payload["updateQualityPolicy"]["errors"] == []
    return project


async def import_corpus(api: Api, project: str, decided: int, undecided: int, *, prefix: str = "") -> dict[str, str]:
    """`decided` items first in the queue (higher priority), alternating pos and neg; their truth by external id."""
    truth: dict[str, str] = {}
    rows = []
    for i in range(decided + undecided):
        sentiment = "pos" if i % 2 == 0 else "neg"
        ext = f"{prefix}{'d' if i < decided else 'u'}-{i}"
        truth[ext] = sentiment
        rows.append({"externalId": ext, "data": {"text": text(sentiment, i)}, "priority": 1.0 if i < decided else 0.0})
    await imported(api, project, rows)
    return truth


async def label_next(api: Api, project: str, truth: dict[str, str], n: int, *, as_: str = "ann1") -> list[str]:
    done = []
    for _ in range(n):
        task = await claimed(api, project, as_=as_)
        ext = task["item"]["externalId"]
        payload = await submit(api, task["id"], {"sentiment": truth[ext]}, as_=as_)
        assert payload["errors"] == [], payload
        done.append(ext)
    return done


async def train(api: Api, project: str, *, as_: str = "pm", field: str | None = "sentiment") -> dict[str, Any]:
    variables: dict[str, Any] = {"input": {"projectId": project, "field": field}}
    payload: dict[str, Any] = (await api.data(TRAIN, variables, as_=as_))["trainModel"]
    return payload


async def learning(api: Api, project: str, as_: str = "pm", **policy: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(LEARNING, {"input": {"projectId": project, **policy}}, as_=as_))[
        "updateActiveLearningPolicy"
    ]
    return payload


async def suggestions_of(api: Api, project: str, version: str = "1") -> dict[str, tuple[str, float]]:
    """External id -> (class, confidence) of builtin-sentiment's version."""
    async with api.runtime.sessions() as session:
        rows = await session.execute(
            select(Item.external_id, Suggestion.value, Suggestion.confidence)
            .join(Suggestion, col(Suggestion.item_id) == col(Item.id))
            .join(ModelVersion, col(ModelVersion.id) == col(Suggestion.model_version_id))
            .join(Model, col(Model.id) == col(ModelVersion.model_id))
            .where(
                col(Item.project_id) == pk(project),
                col(Model.name) == "builtin-sentiment",
                col(ModelVersion.version) == version,
            )
        )
        return {ext: (value["sentiment"], confidence) for ext, value, confidence in rows.all()}


def test_the_error_codes_name_every_training_code() -> None:
    assert {c.value for c in classifier.TrainingCode} == {c.value for c in area_codes.TrainingCode}
    assert {c.value for c in classifier.TrainingCode} <= {c.value for c in area_codes.AutomationErrorCode}


async def test_training_on_decided_labels_suggests_the_obvious_class_with_metrics(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 24, 16)
    labeled = await label_next(api, project, truth, 24)
    assert all(ext.startswith("d-") for ext in labeled)

    payload = await train(api, project)

    assert payload["errors"] == []
    [run] = payload["runs"]
    assert (run["field"], run["status"], run["trigger"], run["errorCode"]) == ("sentiment", "SUCCEEDED", "MANUAL", None)
    assert (run["trainingSize"], run["predicted"]) == (24, 16)
    version = run["modelVersion"]
    assert (version["modelName"], version["modelKind"], version["version"]) == ("builtin-sentiment", "BUILT_IN", "1")
    assert version["suggestionCount"] == 16
    metrics = version["metrics"]
    assert metrics["trainingSize"] == 24
    assert metrics["classCounts"] == {"pos": 12, "neg": 12, "neu": 0}
    assert metrics["cvAccuracy"] >= 0.9
    assert 0.0 <= metrics["ece"] <= 0.5
    assert 0.0 <= metrics["brier"] < 0.5

    suggested = await suggestions_of(api, project)
    undecided = {ext: s for ext, s in truth.items() if ext.startswith("u-")}
    assert {ext: cls for ext, (cls, _) in suggested.items()} == undecided
    assert all(p > 0.5 for _, p in suggested.values())

    # The fitted model is stored and reads back to the same predictions.
    async with api.runtime.sessions() as session:
        stored = (await session.scalars(select(TrainingRun))).one()
        scores = (await session.scalars(select(ItemUncertainty))).all()
    assert stored.artifact is not None
    model = classifier.loads(stored.artifact)
    assert model.classes == ("pos", "neg", "neu")
    assert model.predict_proba([text("pos", 3)]).argmax() == 0
    assert len(scores) == 16
    assert all(0 <= s.least_confidence <= 1 and 0 <= s.margin <= 1 and 0 <= s.entropy <= 1 for s in scores)
    assert sorted(s.diverse_rank for s in scores) == list(range(16))

    [event] = await audit_events(api, "automation.train")
    assert event["details"]["runs"][0]["status"] == "SUCCEEDED"
    assert event["actor"] == {"username": "pm"}

    # Trained again: version 2, the same suggestions under it.
    again = await train(api, project)
    assert again["runs"][0]["modelVersion"]["version"] == "2"
    assert {ext: cls for ext, (cls, _) in (await suggestions_of(api, project, "2")).items()} == undecided


async def test_too_few_labels_is_a_typed_error_with_the_failed_run_recorded(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 4, 4)
    await label_next(api, project, dict.fromkeys(truth, "pos"), 3)  # one class only

    payload = await train(api, project)

    assert codes(payload) == [("TOO_FEW_CLASSES", "field")]
    [run] = payload["runs"]
    assert (run["status"], run["errorCode"], run["modelVersion"], run["trainingSize"]) == (
        "FAILED",
        "TOO_FEW_CLASSES",
        None,
        3,
    )
    runs = (await api.data(RUNS, {"id": project}, as_="pm"))["project"]["trainingRuns"]
    assert runs == [
        {
            "field": "sentiment",
            "status": "FAILED",
            "trigger": "MANUAL",
            "errorCode": "TOO_FEW_CLASSES",
            "trainingSize": 3,
            "modelVersion": None,
        }
    ]
    async with api.runtime.sessions() as session:
        assert (await session.scalars(select(ModelVersion))).all() == []
        assert (await session.scalars(select(Suggestion))).all() == []
        assert (await session.scalars(select(ItemUncertainty))).all() == []

    # One pos and one neg: each class has too few examples to hold one out.
    other = await a_project(api, "tiny")
    small = await import_corpus(api, other, 2, 0, prefix="t")
    await label_next(api, other, small, 2)
    assert codes(await train(api, other)) == [("TOO_FEW_EXAMPLES", "field")]


async def test_bad_input_writes_nothing(api: Api) -> None:
    project = await a_project(api)
    assert codes(await train(api, project, field="topics")) == [("NOT_SINGLE_CHOICE", "field")]
    assert codes(await train(api, project, field="nope")) == [("UNKNOWN_FIELD", "field")]
    assert codes(await learning(api, project, retrainEvery=0)) == [("OUT_OF_RANGE", "retrainEvery")]
    runs = (await api.data(RUNS, {"id": project}, as_="pm"))["project"]["trainingRuns"]
    assert runs == []
    assert await audit_events(api, "automation.policy") == []
    # An annotator may not train.
    response = await api.gql(TRAIN, {"input": {"projectId": project}}, as_="ann1")
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_background_retrain_runs_after_n_new_decisions(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 30, 10)
    await label_next(api, project, truth, 20)
    assert (await train(api, project))["errors"] == []

    policy = await learning(api, project, retrainEvery=3)
    assert policy["errors"] == []
    assert policy["project"]["retrainEvery"] == 3
    [event] = await audit_events(api, "automation.policy")
    assert event["details"]["changed"] == {"retrainEvery": 3}

    await label_next(api, project, truth, 2)
    assert await api.runtime.retrainer.run_once() == []  # 2 decisions since the last run
    await label_next(api, project, truth, 1)
    [done] = await api.runtime.retrainer.run_once()
    assert done.runs == [("sentiment", "SUCCEEDED", None)]
    assert await api.runtime.retrainer.run_once() == []  # counted again from this run

    runs = (await api.data(RUNS, {"id": project}, as_="pm"))["project"]["trainingRuns"]
    assert [(r["trigger"], r["status"], r["modelVersion"]["version"], r["trainingSize"]) for r in runs] == [
        ("RETRAIN", "SUCCEEDED", "2", 23),
        ("MANUAL", "SUCCEEDED", "1", 20),
    ]
    events = await audit_events(api, "automation.train")
    assert [e["details"]["trigger"] for e in events] == ["MANUAL", "RETRAIN"] or [
        e["details"]["trigger"] for e in events
    ] == ["RETRAIN", "MANUAL"]

    # Off again: nothing more runs, however many decisions come.
    assert (await learning(api, project, retrainEvery=None))["project"]["retrainEvery"] is None
    await label_next(api, project, truth, 4)
    assert await api.runtime.retrainer.run_once() == []


async def test_uncertainty_sampling_hands_out_the_most_uncertain_first(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 20, 0)
    await label_next(api, project, truth, 20)
    # Undecided items from clear to mixed: the mixed ones are what the model knows least.
    mixed = []
    for i in range(12):
        pos_words, neg_words = POSITIVE[: 12 - i], NEGATIVE[:i]
        words = list(pos_words[:6]) + list(neg_words[:6])
        mixed.append({"externalId": f"m-{i}", "data": {"text": " ".join(words) or "great"}})
    await imported(api, project, mixed)
    assert (await train(api, project))["errors"] == []
    # Imported after training: no score, so after every scored item.
    await imported(api, project, [{"externalId": "late", "data": {"text": "fantastic superb"}}])

    sequential = await claimed(api, project, as_="ann2")
    assert sequential["item"]["externalId"] == "m-0"  # today's order: oldest first
    await submit(api, sequential["id"], {"sentiment": "pos"}, as_="ann2")

    changed = await learning(api, project, samplingStrategy="UNCERTAINTY", uncertaintyMeasure="MARGIN")
    assert changed["project"] == {
        "retrainEvery": None,
        "samplingStrategy": "UNCERTAINTY",
        "uncertaintyMeasure": "MARGIN",
    }
    [event] = await audit_events(api, "automation.policy")
    assert event["details"] == {
        "changed": {"samplingStrategy": "UNCERTAINTY", "uncertaintyMeasure": "MARGIN"},
        "before": {"samplingStrategy": "SEQUENTIAL", "uncertaintyMeasure": "LEAST_CONFIDENCE"},
    }

    async with api.runtime.sessions() as session:
        rows = await session.execute(
            select(Item.external_id, ItemUncertainty.margin)
            .join(ItemUncertainty, col(ItemUncertainty.item_id) == col(Item.id))
            .where(col(Item.external_id) != "m-0")
        )
        margins = dict(rows.all())
    expected = sorted(margins, key=lambda ext: -margins[ext])
    assert expected != [f"m-{i}" for i in range(1, 12)]  # not the import order: the test can fail
    handed = []
    for _ in range(len(expected) + 1):
        task = await claimed(api, project, as_="ann2")
        handed.append(task["item"]["externalId"])
        await submit(api, task["id"], {"sentiment": "pos"}, as_="ann2")
    assert handed == [*expected, "late"]
    assert margins[handed[0]] > margins[handed[-2]]


async def test_diverse_sampling_follows_the_diverse_rank(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 16, 10)
    await label_next(api, project, truth, 16)
    assert (await train(api, project))["errors"] == []
    assert (await learning(api, project, samplingStrategy="DIVERSE_UNCERTAINTY"))["errors"] == []
    async with api.runtime.sessions() as session:
        rows = await session.execute(
            select(Item.external_id, ItemUncertainty.diverse_rank).join(
                ItemUncertainty, col(ItemUncertainty.item_id) == col(Item.id)
            )
        )
        ranks = dict(rows.all())
    first = await claimed(api, project, as_="ann2")
    assert first["item"]["externalId"] == min(ranks, key=lambda ext: ranks[ext])


def run_cli(url: str) -> Any:
    from typer.testing import CliRunner

    from app.cli import cli
    from tests.test_cli import CHEAP

    return CliRunner().invoke(cli, ["automation", "train"], env={**CHEAP, "LABELGRAPH_DATABASE_URL": url})


async def test_the_command_retrains_what_is_due(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 12, 4)
    assert (await learning(api, project, retrainEvery=10))["errors"] == []
    await label_next(api, project, truth, 9)
    url = api.runtime.settings.database_url
    nothing = await asyncio.to_thread(run_cli, url)
    assert (nothing.exit_code, nothing.stdout.strip()) == (0, "no project is due a retrain")

    await label_next(api, project, truth, 1)
    done = await asyncio.to_thread(run_cli, url)

    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"{pk(project)}: sentiment SUCCEEDED"
    runs = (await api.data(RUNS, {"id": project}, as_="pm"))["project"]["trainingRuns"]
    assert [(r["trigger"], r["status"], r["trainingSize"]) for r in runs] == [("RETRAIN", "SUCCEEDED", 10)]


REVOKE = """
mutation Revoke($input: RoleInput!) { revokeRole(input: $input) { errors { code field } } }
"""


async def test_a_retrain_whose_owner_lost_the_right_fails_visibly(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 6, 2)
    assert (await learning(api, project, retrainEvery=2))["errors"] == []
    await label_next(api, project, truth, 2)
    role = {"userId": gid("User", api.world.id("pm")), "role": "PROJECT_MANAGER", "projectId": project}
    assert (await api.data(REVOKE, {"input": role}, as_="admin"))["revokeRole"]["errors"] == []

    [done] = await api.runtime.retrainer.run_once()

    assert done.runs == [("", "FAILED", "TRAINING_FORBIDDEN")]
    runs = (await api.data(RUNS, {"id": project}, as_="admin"))["project"]["trainingRuns"]
    assert [(r["status"], r["errorCode"], r["trigger"]) for r in runs] == [("FAILED", "TRAINING_FORBIDDEN", "RETRAIN")]
    async with api.runtime.sessions() as session:
        assert (await session.scalars(select(ModelVersion))).all() == []
    # Labeling goes on regardless.
    await label_next(api, project, truth, 1)


async def test_the_built_in_names_are_not_pushed_from_outside(api: Api) -> None:
    from tests.automation.support import push, row

    project = await a_project(api)
    await import_corpus(api, project, 0, 2)
    payload = await push(api, [row("u-0")], model="builtin-sentiment", project=project, as_="pm")
    assert codes(payload) == [("MODEL_KIND", "modelName")]
    async with api.runtime.sessions() as session:
        assert (await session.scalars(select(Model))).all() == []


async def test_two_trainings_at_once_get_versions_one_and_two(api: Api) -> None:
    project = await a_project(api)
    truth = await import_corpus(api, project, 12, 4)
    await label_next(api, project, truth, 12)

    first, second = await asyncio.gather(train(api, project), train(api, project))

    assert first["errors"] == second["errors"] == []
    versions = {p["runs"][0]["modelVersion"]["version"] for p in (first, second)}
    assert versions == {"1", "2"}
    assert all(p["runs"][0]["modelVersion"]["suggestionCount"] == 4 for p in (first, second))


async def test_only_items_consented_to_model_training_train_the_model(api: Api) -> None:
    """An item whose subject agreed to annotation only is labeled and decided like any other, but
    never becomes training data: as an export for model_training leaves it out, so does training."""
    from tests.consent.support import consent, import_with, recorded

    project = await a_project(api, "consent and training")
    truth = await import_corpus(api, project, 24, 0)
    [annotation_only] = await recorded(api, consent("subj-annotation", purposes=["annotation"]))
    rows = [
        {"externalId": f"c-{i}", "data": {"text": text("pos", i)}, "priority": 2.0, "consentId": annotation_only}
        for i in range(6)
    ]
    assert (await import_with(api, rows, project=project))["errors"] == []
    await label_next(api, project, {**truth, **{r["externalId"]: "pos" for r in rows}}, 30)

    [run] = (await train(api, project))["runs"]
    assert (run["status"], run["trainingSize"]) == ("SUCCEEDED", 24)  # 30 decided, 6 without the purpose
