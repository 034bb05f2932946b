"""viewer.feedback through the API: what reaches an annotator when its label is judged wrong (a
rejection or correction, an overturned decision, a gold miss, an expert's other value), with the
item, its value, the decided value, the comment and the guideline's definitions; only its own, only
where it still works; filters and pages."""

from __future__ import annotations

from typing import Any

from tests.audits.support import (
    CLAIM_ESCALATION,
    RESOLVE,
    claim_audit,
    items,
    policy_set,
    submit_audit,
)
from tests.conftest import SCHEMA, Api, gid
from tests.expertise.test_gold import gold_project
from tests.security import REVOKE
from tests.statements import counted
from tests.workflow.flow import (
    CREATE_PROJECT,
    acknowledge,
    claimed,
    grant,
    imported,
    labeled,
    review,
    rows,
    submit,
)

FEEDBACK = """
query Feedback($projectId: ID, $kinds: [FeedbackKind!], $first: Int!, $after: String) {
  viewer {
    feedback(projectId: $projectId, kinds: $kinds, first: $first, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor }
      nodes {
        kind itemId
        item { id externalId data }
        label { id value status author { username } }
        value decidedValue comment verdict score
        fieldScores { field score }
        schemaVersion guidelineVersion
        classes { field className side definition }
      }
    }
  }
}
"""

DEFINITIONS = {
    "definitions": [
        {"field": "sentiment", "class": "pos", "definition": "The writer approves."},
        {"field": "sentiment", "class": "neg", "definition": "The writer disapproves, sarcasm included."},
        {"field": "topics", "class": "quality", "definition": "How well the thing is made."},
        {"field": "topics", "class": "price", "definition": "What it costs."},
    ]
}


async def taught_project(api: Api, name: str, *, overlap: int = 1) -> str:
    """A project whose guideline defines sentiment's pos and neg and topics' price and quality (neu
    and delivery are left undefined), with its annotators, reviewer, auditor and expert."""
    variables = {
        "input": {
            "name": name,
            "labelSchema": SCHEMA,
            "overlap": overlap,
            "guideline": f"# {name}",
            "guidelineContent": DEFINITIONS,
        }
    }
    payload = (await api.data(CREATE_PROJECT, variables, as_="admin"))["createProject"]
    assert payload["errors"] == [], payload
    project: str = payload["project"]["id"]
    cast = {"pm": "PROJECT_MANAGER", "ann1": "ANNOTATOR", "ann2": "ANNOTATOR", "ann3": "ANNOTATOR"}
    for username, role in {**cast, "reviewer": "REVIEWER", "qa": "QA_AUDITOR", "expert": "EXPERT"}.items():
        await grant(api, username, role, project)
    for username in ("ann1", "ann2", "ann3"):
        await acknowledge(api, project, 1, as_=username)
    return project


async def feedback(api: Api, *, as_: str, first: int = 50, after: str | None = None, **filters: Any) -> dict[str, Any]:
    variables = {"first": first, "after": after, **filters}
    page: dict[str, Any] = (await api.data(FEEDBACK, variables, as_=as_))["viewer"]["feedback"]
    return page


async def entries(api: Api, *, as_: str, **filters: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await feedback(api, as_=as_, **filters))["nodes"]
    return nodes


def cls(field: str, name: str, side: str, definition: str | None) -> dict[str, Any]:
    return {"field": field, "className": name, "side": side, "definition": definition}


async def test_a_rejection_reaches_its_annotator_with_the_comment_and_the_definitions(api: Api) -> None:
    project = await taught_project(api, "Rejections")
    await imported(api, project, rows(2))
    first = await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
    comment = "Sarcasm: 'great, it broke again' disapproves."
    rejected = await review(api, first["id"], "REJECT", comment=comment)
    assert rejected["errors"] == []

    [entry] = await entries(api, as_="ann1")
    assert entry["kind"] == "REJECTION"
    assert (entry["verdict"], entry["comment"]) == ("REJECT", comment)
    assert entry["item"] == {"id": entry["itemId"], "externalId": "item-0", "data": {"text": "item 0"}}
    assert entry["label"] == {
        "id": first["id"],
        "value": {"sentiment": "pos"},
        "status": "REJECTED",
        "author": {"username": "ann1"},
    }
    assert entry["value"] == {"sentiment": "pos"}
    # Back in the queue: nothing is decided yet, so there is nothing to set the label against.
    assert (entry["decidedValue"], entry["classes"]) == (None, [])
    assert (entry["schemaVersion"], entry["guidelineVersion"]) == (1, 1)

    # The rework comes back to ann1 first; labeled neg and accepted, the item is decided, and the
    # rejection now shows what was decided and what the guideline says of both classes.
    again = await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
    assert (await review(api, again["id"], "ACCEPT"))["errors"] == []
    [entry] = await entries(api, as_="ann1")
    assert entry["label"]["id"] == first["id"]
    assert entry["decidedValue"] == {"sentiment": "neg"}
    assert entry["classes"] == [
        cls("sentiment", "neg", "DECIDED", "The writer disapproves, sarcasm included."),
        cls("sentiment", "pos", "YOURS", "The writer approves."),
    ]

    # A correction is a rejection too: the decided value is the reviewer's.
    second = await labeled(api, project, {"sentiment": "pos", "topics": ["price", "delivery"]}, as_="ann1")
    corrected = {"sentiment": "pos", "topics": ["quality", "delivery"]}
    fixed = await review(api, second["id"], "CORRECT", comment="It is about the build.", corrected_value=corrected)
    assert fixed["errors"] == []
    newest, oldest = await entries(api, as_="ann1")
    assert oldest["label"]["id"] == first["id"]
    assert (newest["kind"], newest["verdict"], newest["comment"]) == ("REJECTION", "CORRECT", "It is about the build.")
    assert newest["decidedValue"] == corrected
    assert newest["classes"] == [
        cls("topics", "quality", "DECIDED", "How well the thing is made."),
        cls("topics", "price", "YOURS", "What it costs."),
    ]
    assert (newest["score"], newest["fieldScores"]) == (None, [])

    # Accepted labels and other people hear nothing of it.
    for other in ("ann2", "reviewer", "pm", "admin"):
        assert await entries(api, as_=other) == [], other


async def test_a_gold_miss_shows_the_correct_answer_and_the_scores(api: Api) -> None:
    project, ids = await gold_project(api, rate=1.0)
    missed = await claimed(api, project, as_="ann1")
    assert (await submit(api, missed["id"], {"sentiment": "neg", "topics": ["price"]}, as_="ann1"))["errors"] == []
    right = await claimed(api, project, as_="ann1")
    assert (await submit(api, right["id"], {"sentiment": "pos"}, as_="ann1"))["errors"] == []

    [entry] = await entries(api, as_="ann1")
    assert entry["kind"] == "GOLD_MISS"
    assert entry["item"]["id"] == missed["item"]["id"] in ids.values()
    assert entry["value"] == {"sentiment": "neg", "topics": ["price"]}
    assert entry["decidedValue"] == {"sentiment": "pos"}
    assert (entry["comment"], entry["verdict"]) == (None, None)
    assert entry["score"] < 1.0
    scores = {s["field"]: s["score"] for s in entry["fieldScores"]}
    assert scores["sentiment"] == 0.0
    # The guideline defines nothing here: the classes in question come without a definition.
    assert entry["classes"][:2] == [cls("sentiment", "pos", "DECIDED", None), cls("sentiment", "neg", "YOURS", None)]
    assert await entries(api, as_="ann2") == []


async def test_an_overturn_reaches_the_annotators_it_proves_wrong_and_no_one_else(api: Api) -> None:
    project = await taught_project(api, "Overturns", overlap=2)
    await policy_set(api, project, reviewRate=0.0, auditRate=1.0)
    await imported(api, project, rows(2))
    # item-0: both label pos, the aggregation decides pos; the auditor overturns it to neg.
    for username in ("ann1", "ann2"):
        await labeled(api, project, {"sentiment": "pos"}, as_=username)
    # item-1: ann1 says neg, ann3 pos; whichever the tie gave, the audit confirms it.
    await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
    await labeled(api, project, {"sentiment": "pos"}, as_="ann3")
    seen = await items(api, project)

    held = await claim_audit(api, project)
    assert held["item"]["externalId"] == "item-0"
    overturned = await submit_audit(
        api, seen["item-0"]["id"], "OVERTURN", value={"sentiment": "neg"}, comment="Sarcastic: disapproves."
    )
    assert overturned["errors"] == []
    assert (await claim_audit(api, project))["item"]["externalId"] == "item-1"
    assert (await submit_audit(api, seen["item-1"]["id"], "CONFIRM", comment="Fine."))["errors"] == []

    for username in ("ann1", "ann2"):
        [entry] = await entries(api, as_=username)
        assert entry["kind"] == "OVERTURN"
        assert entry["item"]["externalId"] == "item-0"
        assert entry["label"]["author"] == {"username": username}
        assert (entry["value"], entry["decidedValue"]) == ({"sentiment": "pos"}, {"sentiment": "neg"})
        assert entry["comment"] == "Sarcastic: disapproves."
        assert entry["classes"] == [
            cls("sentiment", "neg", "DECIDED", "The writer disapproves, sarcasm included."),
            cls("sentiment", "pos", "YOURS", "The writer approves."),
        ]
    # The confirmed audit of item-1 tells nobody anything.
    assert await entries(api, as_="ann3") == []


async def test_an_overturn_to_your_own_value_is_no_feedback(api: Api) -> None:
    project = await taught_project(api, "Overturn to mine", overlap=2)
    await policy_set(api, project, reviewRate=0.0, auditRate=1.0)
    await imported(api, project, rows(1))
    await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
    await labeled(api, project, {"sentiment": "pos"}, as_="ann2")
    item = (await items(api, project))["item-0"]
    decided = item["finalLabel"]["value"]["sentiment"]
    other = "pos" if decided == "neg" else "neg"
    assert (await claim_audit(api, project))["errors"] == []
    verdict = await submit_audit(api, item["id"], "OVERTURN", value={"sentiment": other}, comment="The other way.")
    assert verdict["errors"] == []

    wrong, right = ("ann1", "ann2") if other == "pos" else ("ann2", "ann1")
    assert await entries(api, as_=right) == []
    [entry] = await entries(api, as_=wrong)
    assert entry["kind"] == "OVERTURN"
    # What it shows is its own label and the new decision, never the other annotator's label.
    assert entry["label"]["author"] == {"username": wrong}
    assert entry["value"] == {"sentiment": decided}


async def test_an_expert_resolving_to_another_value_is_feedback_for_that_annotator(api: Api) -> None:
    project = await taught_project(api, "Escalations", overlap=2)
    await policy_set(api, project, reviewRate=0.0, acceptConfidence=1.0)
    await imported(api, project, rows(1))
    await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
    await labeled(api, project, {"sentiment": "neg"}, as_="ann2")
    claim = (await api.data(CLAIM_ESCALATION, {"projectId": project}, as_="expert"))["claimNextEscalation"]
    assert claim["errors"] == [], claim
    resolution = {"itemId": claim["escalation"]["item"]["id"], "value": {"sentiment": "pos"}, "rationale": "Praise."}
    resolved = (await api.data(RESOLVE, {"input": resolution}, as_="expert"))["resolveEscalation"]
    assert resolved["errors"] == [], resolved

    assert await entries(api, as_="ann1") == []
    [entry] = await entries(api, as_="ann2")
    assert (entry["kind"], entry["comment"]) == ("EXPERT_RESOLUTION", "Praise.")
    assert (entry["value"], entry["decidedValue"]) == ({"sentiment": "neg"}, {"sentiment": "pos"})


async def test_filters_pages_and_a_revoked_role(api: Api) -> None:
    taught = await taught_project(api, "Pages")
    await imported(api, taught, rows(2))
    gold, _ = await gold_project(api, rate=1.0)
    # Oldest to newest: a rejection here, two gold misses there, a correction here.
    first = await labeled(api, taught, {"sentiment": "pos"}, as_="ann1")
    assert (await review(api, first["id"], "REJECT", comment="No."))["errors"] == []
    for _ in range(2):
        task = await claimed(api, gold, as_="ann1")
        assert (await submit(api, task["id"], {"sentiment": "neg"}, as_="ann1"))["errors"] == []
    rework = await labeled(api, taught, {"sentiment": "pos"}, as_="ann1")
    fix = {"sentiment": "neu"}
    assert (await review(api, rework["id"], "CORRECT", comment="Flat.", corrected_value=fix))["errors"] == []

    everything = await entries(api, as_="ann1")
    assert [e["kind"] for e in everything] == ["REJECTION", "GOLD_MISS", "GOLD_MISS", "REJECTION"]
    assert [e["verdict"] for e in everything] == ["CORRECT", None, None, "REJECT"]

    # One page at a time gives the same list, then stops.
    walked: list[dict[str, Any]] = []
    after = None
    while True:
        page = await feedback(api, as_="ann1", first=3 if not walked else 1, after=after)
        walked += page["nodes"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == everything

    assert [e["kind"] for e in await entries(api, as_="ann1", projectId=gold)] == ["GOLD_MISS", "GOLD_MISS"]
    assert [e["verdict"] for e in await entries(api, as_="ann1", projectId=taught)] == ["CORRECT", "REJECT"]
    assert len(await entries(api, as_="ann1", kinds=["GOLD_MISS", "OVERTURN"])) == 2
    assert [e["verdict"] for e in await entries(api, as_="ann1", kinds=["REJECTION"])] == ["CORRECT", "REJECT"]
    assert await entries(api, as_="ann1", kinds=[]) == []
    # A project ann1 has no part in, and one that does not exist, hold nothing for it.
    assert await entries(api, as_="ann1", projectId=gid("Project", api.world.project_b)) == []

    # Its role in the gold project revoked, ann1 no longer hears from there.
    revoke = {"userId": gid("User", api.world.id("ann1")), "role": "ANNOTATOR", "projectId": gold}
    assert (await api.data(REVOKE, {"input": revoke}, as_="admin"))["revokeRole"]["errors"] == []
    assert [e["verdict"] for e in await entries(api, as_="ann1")] == ["CORRECT", "REJECT"]
    assert await entries(api, as_="ann1", projectId=gold) == []


async def test_bad_arguments_are_refused(api: Api) -> None:
    for variables, message in (
        ({"first": 0}, "'first'"),
        ({"first": 101}, "'first'"),
        ({"first": 5, "after": "%%%"}, "'after'"),
        ({"first": 5, "projectId": gid("Item", api.world.project_a)}, "projectId"),
    ):
        body = await api.gql(FEEDBACK, variables, as_="ann1")
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert message in error["message"], body


async def test_a_page_costs_the_same_statements_for_2_entries_as_for_12(api: Api) -> None:
    project = await taught_project(api, "Statements")
    await imported(api, project, rows(12))
    for _ in range(12):
        label = await labeled(api, project, {"sentiment": "pos"}, as_="ann2")
        fix = {"sentiment": "neg", "topics": ["price"]}
        assert (await review(api, label["id"], "CORRECT", comment="No.", corrected_value=fix))["errors"] == []
    await entries(api, as_="ann2", first=1)  # warm: the identity and the schema chain are cached per process

    async with counted(api) as small:
        two = await entries(api, as_="ann2", first=2)
    async with counted(api) as large:
        twelve = await entries(api, as_="ann2", first=12)
    assert (len(two), len(twelve)) == (2, 12)
    assert len(small) == len(large), (small, large)
