"""Gold questions through the API: served blind at the gold rate, scored, never counted towards a
decision; suspension under the floor and lifting it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.workflow.flow import audit_events, claim, create_project, imported, rows, submit

SET_GOLD = """
mutation Gold($input: SetGoldAnswersInput!) { setGoldAnswers(input: $input) { goldItems errors { code field } } }
"""
GOLD_POLICY = """
mutation Policy($input: UpdateGoldPolicyInput!) {
  updateGoldPolicy(input: $input) { project { goldPolicy { goldRate goldFloor } } errors { code field } }
}
"""
ITEMS = "query($id: ID!) { project(id: $id) { items(first: 50) { nodes { id externalId goldAnswer { value } } } } }"
ANNOTATORS = """
query($id: ID!) { project(id: $id) { annotators { user { username } goldAnswers goldAccuracy suspension { reason } } } }
"""
LIFT = """
mutation Lift($input: LiftSuspensionInput!) { liftSuspension(input: $input) { lifted errors { code field } } }
"""
TASK = "id item { id data metadata status labelsRequired priority createdAt finalizedAt externalId }"


async def gold_project(api: Api, *, rate: float, floor: float = 0.0) -> tuple[str, dict[str, str]]:
    project = await create_project(api, f"Gold {rate} {floor}", overlap=1)
    await imported(api, project, rows(6, prefix="gold") + rows(6, prefix="work"))
    nodes = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    ids = {n["externalId"]: n["id"] for n in nodes}
    answers = [{"itemId": ids[f"gold-{i}"], "value": {"sentiment": "pos"}} for i in range(6)]
    marked = await api.data(SET_GOLD, {"input": {"projectId": project, "answers": answers}}, as_="pm")
    assert marked["setGoldAnswers"] == {"goldItems": 6, "errors": []}
    policy = {"projectId": project, "goldRate": rate, "goldFloor": floor, "goldMinAnswers": 2, "goldWindow": 3}
    assert (await api.data(GOLD_POLICY, {"input": policy}, as_="pm"))["updateGoldPolicy"]["errors"] == []
    return project, ids


async def test_gold_tasks_look_like_any_task_and_are_scored_not_counted(api: Api) -> None:
    project, ids = await gold_project(api, rate=1.0)
    gold_ids = {v for k, v in ids.items() if k.startswith("gold")}

    task = (await claim(api, project, as_="ann1"))["assignment"]
    assert task["item"]["id"] in gold_ids  # rate 1: every claim draws gold
    shapes = await api.data(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Assignment {{ {TASK} }} }} }}", {"id": task["id"]}, as_="ann1"
    )
    shown = shapes["node"]["item"]
    # What an annotator can read of it is what it reads of any queued item: no gold flag, no answer.
    assert set(shown) == {
        "id",
        "data",
        "metadata",
        "status",
        "labelsRequired",
        "priority",
        "createdAt",
        "finalizedAt",
        "externalId",
    }
    assert (shown["status"], shown["labelsRequired"], shown["finalizedAt"]) == ("QUEUED", 1, None)
    hidden = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Item { goldAnswer { value } } } }",
        {"id": task["item"]["id"]},
        as_="ann1",
    )
    assert hidden["node"] is None or hidden["node"]["goldAnswer"] is None
    submitted = await submit(api, task["id"], {"sentiment": "neg"}, as_="ann1")
    assert submitted["errors"] == []
    assert submitted["label"]["id"]

    # The gold item stays a queued gold question: no decision, the answer scored 0.
    items = {n["id"]: n for n in (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]}
    assert items[task["item"]["id"]]["goldAnswer"] == {"value": {"sentiment": "pos"}}
    standing = {
        a["user"]["username"]: a
        for a in (await api.data(ANNOTATORS, {"id": project}, as_="pm"))["project"]["annotators"]
    }
    assert (standing["ann1"]["goldAnswers"], standing["ann1"]["goldAccuracy"]) == (1, 0.0)
    counts = await api.data(
        "query($id: ID!) { project(id: $id) { itemCounts { queued final inReview } } }", {"id": project}, as_="pm"
    )
    assert (counts["project"]["itemCounts"]["final"], counts["project"]["itemCounts"]["inReview"]) == (0, 0)


async def test_without_gold_rate_gold_items_are_never_handed_out(api: Api) -> None:
    project, ids = await gold_project(api, rate=0.0)
    handed: list[str] = []
    for _ in range(6):
        task = (await claim(api, project, as_="ann1"))["assignment"]
        handed.append(task["item"]["id"])
        assert (await submit(api, task["id"], {"sentiment": "pos"}, as_="ann1"))["errors"] == []
    assert set(handed) == {v for k, v in ids.items() if k.startswith("work")}
    empty = await api.data(
        "mutation($input: ClaimNextTaskInput!) { claimNextTask(input: $input) { errors { code } } }",
        {"input": {"projectId": project}},
        as_="ann1",
    )
    assert empty["claimNextTask"]["errors"] == [{"code": "QUEUE_EMPTY"}]


async def test_an_annotator_under_the_floor_is_suspended_until_a_manager_lifts_it(api: Api) -> None:
    project, _ = await gold_project(api, rate=1.0, floor=0.6)
    for value in ("neg", "neg"):  # two misses: accuracy 0 after the minimum of 2 answers
        task = (await claim(api, project, as_="ann1"))["assignment"]
        assert (await submit(api, task["id"], {"sentiment": value}, as_="ann1"))["errors"] == []

    refused = await api.data(
        "mutation($input: ClaimNextTaskInput!) { claimNextTask(input: $input) { errors { code message } } }",
        {"input": {"projectId": project}},
        as_="ann1",
    )
    [error] = refused["claimNextTask"]["errors"]
    assert error["code"] == "SUSPENDED"
    assert "0.00" in error["message"]
    standing = {
        a["user"]["username"]: a
        for a in (await api.data(ANNOTATORS, {"id": project}, as_="pm"))["project"]["annotators"]
    }
    assert "under the project's floor" in standing["ann1"]["suspension"]["reason"]
    assert standing["ann2"]["suspension"] is None
    lift: dict[str, Any] = {"projectId": project, "userId": standing_id(api, "ann1"), "reason": " "}
    assert (await api.data(LIFT, {"input": lift}, as_="pm"))["liftSuspension"]["errors"] == [
        {"code": "REQUIRED", "field": "reason"}
    ]
    lift["reason"] = "Retrained on the guideline."
    assert (await api.data(LIFT, {"input": lift}, as_="pm"))["liftSuspension"] == {"lifted": True, "errors": []}
    assert [
        e["details"]["suspendedAt"] is not None for e in await audit_events(api, "annotator.lift_suspension", project)
    ] == [True]
    again = await claim(api, project, as_="ann1")
    assert again["errors"] == []


def standing_id(api: Api, username: str) -> str:
    from tests.conftest import gid

    return gid("User", api.world.id(username))


async def test_bad_gold_answers_write_nothing(api: Api) -> None:
    project = await create_project(api, "Gold bad", overlap=1)
    await imported(api, project, rows(2, prefix="g"))
    nodes = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    answers = [
        {"itemId": nodes[0]["id"], "value": {"sentiment": "pos"}},
        {"itemId": nodes[1]["id"], "value": {"sentiment": "nope"}},
    ]
    result = (await api.data(SET_GOLD, {"input": {"projectId": project, "answers": answers}}, as_="pm"))[
        "setGoldAnswers"
    ]
    assert result["goldItems"] == 0
    assert result["errors"][0]["field"].startswith("answers.1.value")
    after = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["nodes"]
    assert [n["goldAnswer"] for n in after] == [None, None]
    refused = await api.gql(SET_GOLD, {"input": {"projectId": project, "answers": answers[:1]}}, as_="ann1")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
