"""Label-issue detection through the API: planted flips in a generated project are found at the top
and flagged into the QA audit queue; an overturn by the auditor reaches the next export; typed
errors write nothing; a model version's suggestions can judge instead of the built-in model."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from sqlmodel import func, select

from app.audits.models import QaAudit
from app.automation.models import LabelIssue, LabelIssueRun
from tests.audits.support import claim_audit, items, policy_set, submit_audit
from tests.conftest import Api, gid
from tests.workflow.flow import audit_events, claimed, codes, create_project, grant, imported, pk, submit

POSITIVE = [
    "great",
    "excellent",
    "love",
    "wonderful",
    "superb",
    "delightful",
    "happy",
    "perfect",
    "recommend",
    "fantastic",
]
NEGATIVE = ["awful", "terrible", "hate", "broken", "refund", "disappointing", "poor", "useless", "worst", "angry"]
FILLER = [
    "the",
    "product",
    "arrived",
    "today",
    "and",
    "it",
    "was",
    "my",
    "order",
    "from",
    "this",
    "shop",
    "really",
    "quite",
]

DETECT = """
mutation Detect($input: DetectLabelIssuesInput!) {
  detectLabelIssues(input: $input) {
    run {
      id field source itemCount leftOut issueCount top flagged cvAccuracy classCounts
      modelVersion { modelName modelVersion modelKind }
    }
    errors { code field message }
  }
}
"""
ISSUES = """
query Issues($id: ID!, $first: Int!, $after: String, $runId: ID) {
  project(id: $id) {
    labelIssues(first: $first, after: $after, runId: $runId) {
      run { id flagged }
      issues {
        pageInfo { hasNextPage endCursor }
        nodes { rank given suggested score selfConfidence outcome auditStatus item { id externalId } }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Planted:
    project: str
    truth: dict[str, str]  # external id -> the true class
    flips: set[str]  # external ids decided with the other class


def corpus(n: int, flips: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, str], set[str]]:
    """n separable texts, half pos and half neg, and `flips` of them to be decided with the wrong class."""
    rng = random.Random(seed)
    rows, truth = [], {}
    for i in range(n):
        true = "pos" if i % 2 == 0 else "neg"
        words = rng.sample(POSITIVE if true == "pos" else NEGATIVE, 3) + rng.sample(FILLER, 4)
        rng.shuffle(words)
        name = f"t-{i:03d}"
        rows.append({"externalId": name, "data": {"text": " ".join(words), "lang": "en"}})
        truth[name] = true
    return rows, truth, set(rng.sample(sorted(truth), flips))


def other(value: str) -> str:
    return "neg" if value == "pos" else "pos"


async def planted_project(
    api: Api, n: int = 80, flips: int = 8, seed: int = 11, *, classes: tuple[str, ...] = ("pos", "neg")
) -> Planted:
    """A project whose n items ann1 labeled (the aggregation decides each alone): the flips wrongly."""
    project = await create_project(api, f"Issues {seed}", overlap=1)
    await grant(api, "qa", "QA_AUDITOR", project)
    await policy_set(api, project, reviewRate=0.0)
    rows, truth, flipped = corpus(n, flips, seed)
    if classes == ("pos",):
        truth = dict.fromkeys(truth, "pos")
    await imported(api, project, rows)
    for _ in range(n):
        task = await claimed(api, project, as_="ann1")
        name = task["item"]["externalId"]
        value = other(truth[name]) if name in flipped else truth[name]
        payload = await submit(api, task["id"], {"sentiment": value}, as_="ann1")
        assert payload["errors"] == [], payload
    return Planted(project, truth, flipped)


async def detect(api: Api, project: str, *, as_: str = "pm", **fields: Any) -> dict[str, Any]:
    data = await api.data(DETECT, {"input": {"projectId": project, **fields}}, as_=as_)
    payload: dict[str, Any] = data["detectLabelIssues"]
    return payload


async def issues(api: Api, project: str, *, as_: str = "pm", run: str | None = None) -> dict[str, Any] | None:
    """Every ranked issue of the latest run (or `run`), page by page of 7."""
    found: list[dict[str, Any]] = []
    after = None
    head: dict[str, Any] | None = None
    while True:
        variables = {"id": project, "first": 7, "after": after, "runId": run}
        page = (await api.data(ISSUES, variables, as_=as_))["project"]["labelIssues"]
        if page is None:
            return None
        head = page["run"]
        found += page["issues"]["nodes"]
        if not page["issues"]["pageInfo"]["hasNextPage"]:
            return {"run": head, "issues": found}
        after = page["issues"]["pageInfo"]["endCursor"]


async def stored(api: Api) -> tuple[int, int, int]:
    async with api.runtime.sessions() as session:
        runs = await session.scalar(select(func.count()).select_from(LabelIssueRun))
        rows = await session.scalar(select(func.count()).select_from(LabelIssue))
        audits = await session.scalar(select(func.count()).select_from(QaAudit))
    return int(runs or 0), int(rows or 0), int(audits or 0)


async def test_planted_flips_rank_at_the_top_and_the_top_k_enter_the_audit_queue(api: Api) -> None:
    planted = await planted_project(api)
    payload = await detect(api, planted.project, top=10)
    assert payload["errors"] == [], payload
    run = payload["run"]
    assert (run["field"], run["source"], run["itemCount"], run["leftOut"], run["top"]) == (
        "sentiment",
        "BUILT_IN",
        80,
        0,
        10,
    )
    decided = [other(t) if name in planted.flips else t for name, t in planted.truth.items()]
    assert run["classCounts"] == {"pos": decided.count("pos"), "neg": decided.count("neg"), "neu": 0}
    assert run["modelVersion"] is None
    assert run["cvAccuracy"] > 0.7

    ranked = await issues(api, planted.project, as_="reviewer")
    assert ranked is not None
    assert ranked["run"]["id"] == run["id"]
    rows = ranked["issues"]
    assert [r["rank"] for r in rows] == list(range(1, run["issueCount"] + 1))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    top = rows[:10]
    found = {r["item"]["externalId"] for r in top} & planted.flips
    # Chance would put 10/80 of the 8 flips (1) in the top 10; the separable texts give most of them.
    assert len(found) >= 6, (found, planted.flips)
    for r in top:
        name = r["item"]["externalId"]
        if name in planted.flips:  # decided wrongly: the model believes the true class
            assert (r["given"], r["suggested"]) == (other(planted.truth[name]), planted.truth[name])
    assert {r["outcome"] for r in top} == {"FLAGGED"}
    assert {r["auditStatus"] for r in top} == {"PENDING"}
    assert all(r["outcome"] == "NOT_FLAGGED" and r["auditStatus"] is None for r in rows[10:])
    assert run["flagged"] == len(top)

    # The audit queue holds exactly the flagged items, FLAGGED, the detail naming the run.
    seen = await items(api, planted.project)
    pending = {name: audit for name, node in seen.items() for audit in node["audits"] if audit["status"] == "PENDING"}
    assert set(pending) == {r["item"]["externalId"] for r in top}
    assert {tuple(a["reasons"]) for a in pending.values()} == {("FLAGGED",)}
    assert all(str(pk(run["id"])) in a["reasonDetail"] for a in pending.values())
    events = await audit_events(api, "automation.label_issues", planted.project)
    assert [(e["entityType"], e["entityId"], e["details"]["flagged"]) for e in events] == [
        ("LabelIssueRun", str(pk(run["id"])), len(top))
    ]

    # A second run ranks the same; its top items are already pending audit, so it flags none of them.
    again = await detect(api, planted.project, top=10)
    assert again["errors"] == []
    assert again["run"]["flagged"] == 0
    second = await issues(api, planted.project)
    assert second is not None
    assert second["run"]["id"] == again["run"]["id"]
    assert [r["item"]["externalId"] for r in second["issues"]] == [r["item"]["externalId"] for r in rows]
    assert {r["outcome"] for r in second["issues"][:10]} == {"ALREADY_PENDING"}
    assert {r["auditStatus"] for r in second["issues"][:10]} == {None}
    # The first run is still there by id.
    first = await issues(api, planted.project, run=run["id"])
    assert first is not None
    assert first["run"] == {"id": run["id"], "flagged": len(top)}


async def test_an_overturn_of_a_flagged_item_is_a_new_decision_version_and_the_next_export_carries_it(
    api: Api,
) -> None:
    planted = await planted_project(api, seed=5)
    assert (await detect(api, planted.project, top=3))["errors"] == []
    ranked = await issues(api, planted.project, as_="qa")
    assert ranked is not None
    flagged = [r for r in ranked["issues"] if r["outcome"] == "FLAGGED"]
    assert len(flagged) == 3

    claim = await claim_audit(api, planted.project)
    assert claim["errors"] == []
    assert claim["audit"]["reasons"] == ["FLAGGED"]
    item = claim["item"]
    row = next(r for r in flagged if r["item"]["id"] == item["id"])
    verdict = await submit_audit(
        api, item["id"], "OVERTURN", value={"sentiment": row["suggested"]}, comment="The text says otherwise."
    )
    assert verdict["errors"] == [], verdict
    assert verdict["decision"]["version"] == 2
    assert verdict["decision"]["method"] == "AUDIT_OVERTURNED"
    assert verdict["decision"]["value"] == {"sentiment": row["suggested"]}

    after = await issues(api, planted.project, as_="qa")
    assert after is not None
    assert next(r for r in after["issues"] if r["item"]["id"] == item["id"])["auditStatus"] == "DONE"

    response = await api.client.get(
        f"/export/{planted.project}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"}
    )
    assert response.status_code == 200, response.text
    lines = {line["external_id"]: line for line in map(json.loads, response.text.splitlines())}
    assert len(lines) == 80
    corrected = lines[item["externalId"]]
    assert (corrected["value"], corrected["decision_version"], corrected["method"]) == (
        {"sentiment": row["suggested"]},
        2,
        "AUDIT_OVERTURNED",
    )
    untouched = next(name for name in lines if name != item["externalId"])
    assert lines[untouched]["decision_version"] == 1


async def test_a_model_versions_suggestions_can_judge_the_labels(api: Api) -> None:
    planted = await planted_project(api, n=30, flips=3, seed=3)
    seen = await items(api, planted.project)
    # A model that knows the truth, sure of itself; it has not seen t-000 and t-001.
    suggestions = [
        {"externalId": name, "value": {"sentiment": truth}, "confidence": 0.95}
        for name, truth in planted.truth.items()
        if name not in ("t-000", "t-001")
    ]
    push = """
    mutation Push($input: SubmitSuggestionsInput!) { submitSuggestions(input: $input) { created errors { code } } }
    """
    variables = {"projectId": planted.project, "modelName": "oracle", "modelVersion": "1", "suggestions": suggestions}
    assert (await api.data(push, {"input": variables}, as_="pm"))["submitSuggestions"]["errors"] == []

    payload = await detect(api, planted.project, modelName="oracle", modelVersion="1", top=5)
    assert payload["errors"] == [], payload
    run = payload["run"]
    assert (run["source"], run["itemCount"], run["leftOut"], run["cvAccuracy"]) == ("MODEL_VERSION", 28, 2, None)
    assert run["modelVersion"] == {"modelName": "oracle", "modelVersion": "1", "modelKind": "EXTERNAL"}
    ranked = await issues(api, planted.project)
    assert ranked is not None
    named = [r["item"]["externalId"] for r in ranked["issues"]]
    assert set(named) == planted.flips - {"t-000", "t-001"}
    assert all(seen[name]["finalLabel"]["value"]["sentiment"] != planted.truth[name] for name in named)


async def test_bad_requests_are_typed_errors_and_write_nothing(api: Api) -> None:
    few = await planted_project(api, n=9, flips=1, seed=2)
    one = await planted_project(api, n=12, flips=0, seed=4, classes=("pos",))
    before = await stored(api)
    cases: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
        (few.project, {}, [("TOO_FEW_DECIDED", "projectId")]),
        (one.project, {}, [("ONE_CLASS", "field")]),
        (one.project, {"field": "mood"}, [("UNKNOWN_FIELD", "field")]),
        (one.project, {"field": "topics"}, [("NOT_SINGLE_CHOICE", "field")]),
        (one.project, {"modelName": "nobody", "modelVersion": "1"}, [("UNKNOWN_MODEL", "modelName")]),
        (one.project, {"modelName": "nobody"}, [("UNKNOWN_MODEL", "modelVersion")]),
        (one.project, {"top": 1001}, [("OUT_OF_RANGE", "top")]),
        (one.project, {"itemField": "no such"}, [("UNKNOWN_FIELD", "itemField")]),
        (gid("Item", pk(one.project)), {}, [("INVALID_ID", "projectId")]),
    ]
    for project, fields, expected in cases:
        payload = await detect(api, project, **fields)
        assert payload["run"] is None
        assert codes(payload) == expected, (fields, payload)
    assert await stored(api) == before
    assert await audit_events(api, "automation.label_issues") == []
    # Nothing ran yet: no issues to list.
    assert await issues(api, one.project) is None


async def test_the_project_setting_is_the_default_top_and_an_item_field_can_be_named(api: Api) -> None:
    planted = await planted_project(api, n=40, flips=4, seed=8)
    await policy_set(api, planted.project, labelIssuesTop=2)
    payload = await detect(api, planted.project, itemField="text")
    assert payload["errors"] == [], payload
    assert (payload["run"]["top"], payload["run"]["flagged"]) == (2, 2)
    # A dotted key that holds no text leaves every item out.
    empty = await detect(api, planted.project, itemField="missing.key")
    assert codes(empty) == [("TOO_FEW_DECIDED", "projectId")]
    bad = await api.data(
        """mutation P($input: UpdateQualityPolicyInput!) { updateQualityPolicy(input: $input) {
             errors { code field } } }""",
        {"input": {"projectId": planted.project, "labelIssuesTop": -1}},
        as_="pm",
    )
    assert bad["updateQualityPolicy"]["errors"] == [{"code": "OUT_OF_RANGE", "field": "labelIssuesTop"}]


async def test_who_may_detect_and_read(api: Api) -> None:
    planted = await planted_project(api, n=20, flips=2, seed=9)
    # Another project's manager: the project does not exist for it.
    assert codes(await detect(api, planted.project, as_="pm_b")) == [("NOT_FOUND", "projectId")]
    assert (await api.data(ISSUES, {"id": planted.project, "first": 5}, as_="pm_b"))["project"] is None
    # A reviewer reads the issues but may not run a detection.
    refused = await api.gql(DETECT, {"input": {"projectId": planted.project}}, as_="reviewer")
    assert refused["data"]["detectLabelIssues"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored(api) == (0, 0, 0)
    assert (await detect(api, planted.project, as_="admin"))["errors"] == []
    assert await issues(api, planted.project, as_="reviewer") is not None
    # The annotator reads the project, not its label issues.
    denied = await api.gql(ISSUES, {"id": planted.project, "first": 5}, as_="ann1")
    assert denied["data"]["project"]["labelIssues"] is None
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
