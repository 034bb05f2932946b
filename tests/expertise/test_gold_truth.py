"""Gold answers as known truth, through the API: they feed the annotator estimates (Dawid-Skene
with the gold items clamped to their answers; the weighted vote's accuracies), never a decision
and never the report's label figures; projectQuality reports accuracy against gold."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.workflow.models import Label
from tests.conftest import Api
from tests.expertise.test_gold import GOLD_POLICY, ITEMS, SET_GOLD
from tests.workflow.flow import claimed, create_project, imported, labeled, pk, rows, submit
from tests.workflow.test_quality_policy import REFRESH, set_policy

QUALITY = """
query Quality($id: ID!, $from: DateTime, $segmentBy: String, $window: Int) {
  projectQuality(projectId: $id, from: $from, segmentBy: $segmentBy, window: $window) {
    decidedItems labelsPerDecidedItem
    figures {
      labels items goldAnswers goldAccuracy
      fields { name pairwiseAgreement goldAnswers goldAccuracy pairs { items agreement } }
      annotators {
        annotator { username } labels agreement goldAnswers goldAccuracy
        fields { field estimatedAccuracy estimatedConfusion goldAnswers goldAccuracy }
      }
    }
    segments { value figures { labels goldAnswers goldAccuracy } }
    windows { labels goldAnswers goldAccuracy }
  }
}
"""
DECISIONS = """
query($id: ID!) {
  project(id: $id) {
    items(first: 100) {
      nodes { id externalId status finalLabel { sourceLabelIds } decisions { version } }
    }
  }
}
"""


async def gold_items(api: Api, project: str, answers: dict[str, str]) -> dict[str, str]:
    """Mark the items of these external ids gold with these sentiments; external id -> item id."""
    nodes = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    ids = {n["externalId"]: n["id"] for n in nodes}
    marked = await api.data(
        SET_GOLD,
        {
            "input": {
                "projectId": project,
                "answers": [{"itemId": ids[k], "value": {"sentiment": v}} for k, v in answers.items()],
            }
        },
        as_="pm",
    )
    assert marked["setGoldAnswers"] == {"goldItems": len(answers), "errors": []}
    return ids


async def gold_rate(api: Api, project: str, rate: float) -> None:
    policy = {"projectId": project, "goldRate": rate}
    assert (await api.data(GOLD_POLICY, {"input": policy}, as_="pm"))["updateGoldPolicy"]["errors"] == []


async def answer_gold(api: Api, project: str, answer: Any, *, as_: str, times: int) -> list[str]:
    """Claim `times` gold tasks (the gold rate must be 1) and answer each with answer(externalId);
    the label ids."""
    ids = []
    for _ in range(times):
        task = await claimed(api, project, as_=as_)
        assert task["item"]["externalId"].startswith("gold")
        payload = await submit(api, task["id"], {"sentiment": answer(task["item"]["externalId"])}, as_=as_)
        assert payload["errors"] == [], payload
        ids.append(payload["label"]["id"])
    return ids


async def report(api: Api, project: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(QUALITY, {"id": project, **variables}, as_="pm")
    result: dict[str, Any] = data["projectQuality"]
    return result


def by_annotator(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["annotator"]["username"]: a for a in figures["annotators"]}


TRUTH = ["neg", "pos"] * 4  # gold-0 .. gold-7


def half_right(external_id: str) -> str:
    """Right on gold-0, 3, 4, 7, wrong on the others: wrong on either class, right half the time."""
    i = int(external_id.removeprefix("gold-"))
    right = TRUTH[i]
    return right if i % 4 in (0, 3) else {"neg": "pos", "pos": "neg"}[right]


async def test_gold_answers_are_known_truth_for_dawid_skene_and_gold_items_stay_undecided(api: Api) -> None:
    """One label per item: nothing but gold can tell how good ann3 is. Before it answers gold
    questions Dawid-Skene finds its labels consistent with themselves (as good as ann1); its gold
    answers, clamped to the known answers, show it right half the time."""
    project = await create_project(api, "Gold truth DS", overlap=1)
    assert (await set_policy(api, project, method="DAWID_SKENE", reviewRate=0.0, refreshEvery=1000))["errors"] == []
    await imported(api, project, rows(10, prefix="work") + rows(8, prefix="gold"))
    await gold_items(api, project, {f"gold-{i}": t for i, t in enumerate(TRUTH)})
    await gold_rate(api, project, 0.0)
    for i in range(5):
        await labeled(api, project, {"sentiment": ("pos", "neg")[i % 2]}, as_="ann1")
        await labeled(api, project, {"sentiment": ("pos", "neg")[(i // 2) % 2]}, as_="ann3")
    assert (await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm"))["refreshQuality"]["errors"] == []
    before = by_annotator((await report(api, project))["figures"])
    [ann3_before] = before["ann3"]["fields"]
    # Self-consistent: as good as five labels can show (one pseudo label per confusion cell).
    assert ann3_before["estimatedAccuracy"] > 0.75
    assert (before["ann3"]["goldAnswers"], before["ann3"]["goldAccuracy"]) == (0, None)

    await gold_rate(api, project, 1.0)
    gold_labels = await answer_gold(api, project, half_right, as_="ann3", times=8)
    refreshed = (await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm"))["refreshQuality"]
    assert refreshed["errors"] == []
    assert refreshed["labelsUsed"] == 18  # the 10 labels and the 8 gold answers

    quality = await report(api, project)
    after = by_annotator(quality["figures"])
    [ann3_after] = after["ann3"]["fields"]
    assert ann3_after["estimatedAccuracy"] < 0.7
    # Its estimated confusion is a coin's on both classes, as its gold answers are.
    for row in ann3_after["estimatedConfusion"]:
        assert all(abs(p - 0.5) < 0.2 for p in row)
    assert after["ann1"]["fields"][0]["estimatedAccuracy"] > 0.75
    assert (after["ann3"]["goldAnswers"], after["ann3"]["goldAccuracy"]) == (8, 0.5)
    assert (ann3_after["goldAnswers"], ann3_after["goldAccuracy"]) == (8, 0.5)
    assert (after["ann1"]["goldAnswers"], after["ann1"]["goldAccuracy"]) == (0, None)
    sentiment = next(f for f in quality["figures"]["fields"] if f["name"] == "sentiment")
    assert (sentiment["goldAnswers"], sentiment["goldAccuracy"]) == (8, 0.5)
    figures = quality["figures"]
    assert (figures["labels"], figures["items"], figures["goldAnswers"], figures["goldAccuracy"]) == (10, 10, 8, 0.5)
    assert after["ann3"]["labels"] == 5

    # The gold items were never decided, and no decision rests on a gold answer.
    nodes = (await api.data(DECISIONS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    gold = [n for n in nodes if n["externalId"].startswith("gold")]
    assert [(n["status"], n["finalLabel"], n["decisions"]) for n in gold] == [("QUEUED", None, [])] * 8
    behind = {label for n in nodes if n["finalLabel"] for label in n["finalLabel"]["sourceLabelIds"]}
    assert len(behind) == 10
    assert behind.isdisjoint(gold_labels)


async def test_the_weighted_vote_scores_gold_answers_against_the_gold_answer(api: Api) -> None:
    project = await create_project(api, "Gold truth weighted", overlap=1)
    assert (await set_policy(api, project, method="WEIGHTED", reviewRate=0.0, refreshEvery=1000))["errors"] == []
    await imported(api, project, rows(2, prefix="work") + rows(4, prefix="gold"))
    await gold_items(api, project, {f"gold-{i}": "pos" for i in range(4)})
    await gold_rate(api, project, 0.0)
    for _ in range(2):  # its own items, decided by its label alone: right against the decisions
        await labeled(api, project, {"sentiment": "pos"}, as_="ann3")
    await gold_rate(api, project, 1.0)
    await answer_gold(api, project, lambda _: "neg", as_="ann3", times=4)  # all wrong
    assert (await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm"))["refreshQuality"]["errors"] == []

    [field] = by_annotator((await report(api, project))["figures"])["ann3"]["fields"]
    # (right + 1) / (compared + 2): 2 of its 2 labels, 0 of its 4 gold answers.
    assert math.isclose(field["estimatedAccuracy"], (2 + 1) / (6 + 2))
    assert (field["goldAnswers"], field["goldAccuracy"]) == (4, 0.0)


async def test_gold_answers_stay_out_of_the_label_figures(api: Api) -> None:
    """ann1 and ann2 disagree on both items to decide and agree on the gold question: the report's
    agreement is theirs on the items (0), not lifted by the gold answers, which count apart."""
    project = await create_project(api, "Gold apart", overlap=2)
    assert (await set_policy(api, project, reviewRate=0.0))["errors"] == []
    work = [{**row, "metadata": {"lang": "en"}} for row in rows(2, prefix="work")]
    await imported(api, project, [*work, {**rows(1, prefix="gold")[0], "metadata": {"lang": "de"}}])
    await gold_items(api, project, {"gold-0": "pos"})
    await gold_rate(api, project, 0.0)
    for first, second in (("pos", "neg"), ("neg", "pos")):
        await labeled(api, project, {"sentiment": first}, as_="ann1")
        await labeled(api, project, {"sentiment": second}, as_="ann2")
    await gold_rate(api, project, 1.0)
    for who in ("ann1", "ann2"):
        await answer_gold(api, project, lambda _: "pos", as_=who, times=1)

    quality = await report(api, project, segmentBy="lang", window=24)
    figures = quality["figures"]
    assert (figures["labels"], figures["items"], figures["goldAnswers"], figures["goldAccuracy"]) == (4, 2, 2, 1.0)
    assert (quality["decidedItems"], quality["labelsPerDecidedItem"]) == (2, 2.0)
    sentiment = next(f for f in figures["fields"] if f["name"] == "sentiment")
    assert sentiment["pairwiseAgreement"] == 0.0
    assert [(p["items"], p["agreement"]) for p in sentiment["pairs"]] == [(2, 0.0)]
    people = by_annotator(figures)
    for who in ("ann1", "ann2"):
        assert (people[who]["labels"], people[who]["agreement"]) == (2, 0.0)
        assert (people[who]["goldAnswers"], people[who]["goldAccuracy"]) == (1, 1.0)
    segments = {s["value"]: s["figures"] for s in quality["segments"]}
    assert segments == {
        "de": {"labels": 0, "goldAnswers": 2, "goldAccuracy": 1.0},
        "en": {"labels": 4, "goldAnswers": 0, "goldAccuracy": None},
    }
    assert sum(w["labels"] for w in quality["windows"]) == 4
    assert sum(w["goldAnswers"] for w in quality["windows"]) == 2

    # Gold answers belong to the period their label was made in, like labels.
    async with api.runtime.sessions() as session:
        await session.execute(
            update(Label)
            .where(col(Label.project_id) == pk(project), col(Label.item_id) == pk(await gold_item(api, project)))
            .values(created_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
        await session.commit()
    later = (await report(api, project, **{"from": "2021-01-01T00:00:00Z"}))["figures"]
    assert (later["labels"], later["goldAnswers"], later["goldAccuracy"]) == (4, 0, None)
    assert all(a["goldAnswers"] == 0 for a in later["annotators"])


async def gold_item(api: Api, project: str) -> str:
    nodes = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    return next(n["id"] for n in nodes if n["externalId"] == "gold-0")


async def test_an_annotator_with_gold_answers_only_is_in_the_report(api: Api) -> None:
    project = await create_project(api, "Gold only", overlap=1)
    await imported(api, project, rows(2, prefix="gold"))
    await gold_items(api, project, {"gold-0": "pos", "gold-1": "neg"})
    await gold_rate(api, project, 1.0)
    await answer_gold(api, project, lambda _: "pos", as_="ann2", times=2)

    figures = (await report(api, project))["figures"]
    assert (figures["labels"], figures["items"], figures["goldAnswers"], figures["goldAccuracy"]) == (0, 0, 2, 0.5)
    [ann2] = figures["annotators"]
    assert (ann2["annotator"]["username"], ann2["labels"], ann2["agreement"]) == ("ann2", 0, None)
    assert (ann2["goldAnswers"], ann2["goldAccuracy"]) == (2, 0.5)
    assert [(f["field"], f["goldAnswers"], f["goldAccuracy"]) for f in ann2["fields"]] == [("sentiment", 2, 0.5)]
