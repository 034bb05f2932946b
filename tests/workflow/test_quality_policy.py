"""The consensus policy through the API: dynamic overlap, escalation to an expert, review
sampling, and the policy's own validation and audit trail."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import col, select

from app.auth.models import User
from app.projects.models import Project
from app.workflow import estimates
from app.workflow.models import Label, QualityModel
from tests.conftest import Api
from tests.workflow.flow import (
    audit_events,
    claim,
    codes,
    create_project,
    grant,
    imported,
    labeled,
    pk,
    rows,
)

UPDATE_POLICY = """
mutation Policy($input: UpdateQualityPolicyInput!) {
  updateQualityPolicy(input: $input) {
    project { qualityPolicy { overlap maxOverlap method acceptConfidence reviewRate reviewBelowConfidence } }
    errors { code field message }
  }
}
"""

ITEMS = """
query Items($id: ID!) {
  project(id: $id) {
    itemCounts { queued inReview escalated final total }
    items(first: 100) {
      nodes {
        externalId status labelsRequired
        finalLabel { value method aggregation confidence decidedBy { username } rationale sourceLabelIds }
        decisions { version method supersededAt inForce }
      }
    }
  }
}
"""

CLAIM_ESCALATION = """
mutation Claim($input: ClaimNextEscalationInput!) {
  claimNextEscalation(input: $input) {
    resumed
    escalation { reason confidence claimedBy { username } item { id externalId } }
    errors { code field message }
  }
}
"""

RESOLVE = """
mutation Resolve($input: ResolveEscalationInput!) {
  resolveEscalation(input: $input) {
    decision { version value method confidence rationale decidedBy { username } sourceLabelIds }
    item { status }
    errors { code field message }
  }
}
"""


async def set_policy(api: Api, project: str, as_: str = "pm", **fields: Any) -> dict[str, Any]:
    data = await api.data(UPDATE_POLICY, {"input": {"projectId": project, **fields}}, as_=as_)
    payload: dict[str, Any] = data["updateQualityPolicy"]
    return payload


async def items(api: Api, project: str) -> dict[str, dict[str, Any]]:
    data = await api.data(ITEMS, {"id": project}, as_="pm")
    return {node["externalId"]: node for node in data["project"]["items"]["nodes"]} | {
        "counts": data["project"]["itemCounts"]
    }


def sentiment(value: str) -> dict[str, str]:
    return {"sentiment": value}


async def test_dynamic_overlap_asks_for_more_only_when_unsure_and_escalates_at_the_cap(api: Api) -> None:
    project = await create_project(api, "Dynamic overlap", overlap=2)
    policy = await set_policy(api, project, maxOverlap=3, acceptConfidence=0.6, reviewRate=0.0)
    assert policy["errors"] == []
    await imported(api, project, rows(3))

    # ann1 labels every item pos; ann2 agrees on item-0 only.
    for _ in range(3):
        await labeled(api, project, sentiment("pos"), as_="ann1")
    for value in ("pos", "neg", "neg"):
        await labeled(api, project, sentiment(value), as_="ann2")

    seen = await items(api, project)
    # Two agreeing labels: confidence 1.0 >= 0.6, decided by the aggregation, no review.
    assert seen["item-0"]["status"] == "FINAL"
    assert seen["item-0"]["finalLabel"]["method"] == "AGGREGATED"
    assert seen["item-0"]["finalLabel"]["aggregation"] == "MAJORITY"
    assert seen["item-0"]["finalLabel"]["confidence"] == 1.0
    assert seen["item-0"]["finalLabel"]["decidedBy"] is None
    assert len(seen["item-0"]["finalLabel"]["sourceLabelIds"]) == 2
    # A 1-1 split: 0.5 < 0.6, so one more label is asked for, no more.
    for name in ("item-1", "item-2"):
        assert (seen[name]["status"], seen[name]["labelsRequired"], seen[name]["finalLabel"]) == ("QUEUED", 1, None)

    await labeled(api, project, sentiment("pos"), as_="ann3")  # item-1: pos, neg, pos
    await labeled(api, project, sentiment("neu"), as_="ann3")  # item-2: pos, neg, neu
    # Nothing is left to label: no item takes a fourth label.
    assert codes(await claim(api, project, as_="ann3")) == [("QUEUE_EMPTY", "projectId")]

    seen = await items(api, project)
    assert seen["item-1"]["status"] == "FINAL"
    assert seen["item-1"]["finalLabel"]["value"] == {"sentiment": "pos"}
    assert math.isclose(seen["item-1"]["finalLabel"]["confidence"], 2 / 3)
    # Three different answers at maxOverlap 3: escalated.
    assert (seen["item-2"]["status"], seen["item-2"]["labelsRequired"]) == ("ESCALATED", 0)
    assert seen["counts"] == {"queued": 0, "inReview": 0, "escalated": 1, "final": 2, "total": 3}
    outcomes = [e["details"]["outcome"] for e in await audit_events(api, "label.submit", project)]
    assert sorted(o for o in outcomes if o) == ["DECIDED", "DECIDED", "ESCALATED", "MORE_LABELS", "MORE_LABELS"]


async def escalated_item(api: Api) -> tuple[str, str]:
    project = await create_project(api, "Escalations", overlap=2)
    await set_policy(api, project, maxOverlap=2, acceptConfidence=0.9, reviewRate=0.0)
    await grant(api, "expert", "EXPERT", project)
    await imported(api, project, rows(1))
    await labeled(api, project, sentiment("pos"), as_="ann1")
    await labeled(api, project, sentiment("neg"), as_="ann2")
    return project, (await items(api, project))["item-0"]["status"]


async def test_an_expert_resolves_an_escalation_with_a_rationale_that_becomes_the_evidence(api: Api) -> None:
    project, status = await escalated_item(api)
    assert status == "ESCALATED"

    claimed = (await api.data(CLAIM_ESCALATION, {"input": {"projectId": project}}, as_="expert"))["claimNextEscalation"]
    assert claimed["errors"] == []
    assert claimed["escalation"]["claimedBy"] == {"username": "expert"}
    assert math.isclose(claimed["escalation"]["confidence"], 0.5)
    again = (await api.data(CLAIM_ESCALATION, {"input": {"projectId": project}}, as_="expert"))["claimNextEscalation"]
    assert again["resumed"] is True
    item_id = claimed["escalation"]["item"]["id"]

    missing_rationale = (
        await api.data(
            RESOLVE, {"input": {"itemId": item_id, "value": sentiment("neg"), "rationale": " "}}, as_="expert"
        )
    )["resolveEscalation"]
    assert [(e["code"], e["field"]) for e in missing_rationale["errors"]] == [("REQUIRED", "rationale")]
    bad_value = (
        await api.data(
            RESOLVE, {"input": {"itemId": item_id, "value": sentiment("meh"), "rationale": "x"}}, as_="expert"
        )
    )["resolveEscalation"]
    assert [e["field"] for e in bad_value["errors"]] == ["value.sentiment"]
    assert bad_value["decision"] is None

    rationale = "Sarcasm: the praise is ironic, so the sentiment is negative."
    done = (
        await api.data(
            RESOLVE, {"input": {"itemId": item_id, "value": sentiment("neg"), "rationale": rationale}}, as_="expert"
        )
    )["resolveEscalation"]

    assert done["errors"] == []
    assert done["item"] == {"status": "FINAL"}
    decision = done["decision"]
    assert (decision["method"], decision["value"], decision["rationale"]) == (
        "EXPERT_RESOLVED",
        sentiment("neg"),
        rationale,
    )
    assert decision["decidedBy"] == {"username": "expert"}
    assert len(decision["sourceLabelIds"]) == 2
    # Resolved once: a second resolution finds nothing to resolve.
    twice = (
        await api.data(
            RESOLVE, {"input": {"itemId": item_id, "value": sentiment("pos"), "rationale": "x"}}, as_="expert"
        )
    )["resolveEscalation"]
    assert [e["code"] for e in twice["errors"]] == ["NOT_ESCALATED"]
    events = await audit_events(api, "escalation.resolve", project)
    assert [e["actor"]["username"] for e in events] == ["expert"]
    nothing_left = (await api.data(CLAIM_ESCALATION, {"input": {"projectId": project}}, as_="expert"))[
        "claimNextEscalation"
    ]
    assert [e["code"] for e in nothing_left["errors"]] == ["QUEUE_EMPTY"]


async def test_an_expert_who_labeled_the_item_may_not_resolve_it(api: Api) -> None:
    project, _ = await escalated_item(api)
    await grant(api, "ann1", "EXPERT", project)
    # The queue skips what one labeled; resolving it directly is a separation-of-duty conflict.
    skipped = (await api.data(CLAIM_ESCALATION, {"input": {"projectId": project}}, as_="ann1"))["claimNextEscalation"]
    assert [e["code"] for e in skipped["errors"]] == ["QUEUE_EMPTY"]
    claimed = (await api.data(CLAIM_ESCALATION, {"input": {"projectId": project}}, as_="expert"))["claimNextEscalation"]
    item_id = claimed["escalation"]["item"]["id"]
    own = (
        await api.data(RESOLVE, {"input": {"itemId": item_id, "value": sentiment("pos"), "rationale": "x"}}, as_="ann1")
    )["resolveEscalation"]
    assert [e["code"] for e in own["errors"]] == ["SELF_REVIEW"]


async def test_review_sampling_follows_the_rate_and_the_confidence_floor(api: Api) -> None:
    project = await create_project(api, "Sampling", overlap=1)
    n = 400
    await set_policy(api, project, reviewRate=0.25)
    await imported(api, project, rows(n))
    for _ in range(n):
        await labeled(api, project, sentiment("pos"), as_="ann1")

    counts = (await items(api, project))["counts"]
    # Binomial(400, 0.25): mean 100, sd 8.66; the seeded draw must land within 4 sd.
    assert counts["inReview"] + counts["final"] == n
    assert abs(counts["inReview"] - n * 0.25) <= 4 * math.sqrt(n * 0.25 * 0.75)
    assert counts["inReview"] not in (0, n)


async def test_items_under_the_review_floor_are_all_reviewed(api: Api) -> None:
    project = await create_project(api, "Floor", overlap=2)
    await set_policy(api, project, reviewRate=0.0, reviewBelowConfidence=0.75)
    await imported(api, project, rows(2))
    await labeled(api, project, sentiment("pos"), as_="ann1")
    await labeled(api, project, sentiment("pos"), as_="ann1")
    await labeled(api, project, sentiment("pos"), as_="ann2")  # item-0 agrees: 1.0
    await labeled(api, project, sentiment("neg"), as_="ann2")  # item-1 splits: 0.5

    seen = await items(api, project)
    assert (seen["item-0"]["status"], seen["item-1"]["status"]) == ("FINAL", "IN_REVIEW")


async def test_the_policy_is_checked_audited_and_reserved_to_managers(api: Api) -> None:
    project = await create_project(api, "Policy", overlap=2)

    bad = await set_policy(api, project, maxOverlap=1, reviewRate=1.5, acceptConfidence=-0.1)
    assert sorted((e["code"], e["field"]) for e in bad["errors"]) == [
        ("OUT_OF_RANGE", "acceptConfidence"),
        ("OUT_OF_RANGE", "maxOverlap"),
        ("OUT_OF_RANGE", "reviewRate"),
    ]
    assert bad["project"] is None
    refused = await api.gql(UPDATE_POLICY, {"input": {"projectId": project, "reviewRate": 0.5}}, as_="ann1")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    good = await set_policy(api, project, maxOverlap=4, method="DAWID_SKENE", reviewRate=0.1)
    assert good["project"]["qualityPolicy"] == {
        "overlap": 2,
        "maxOverlap": 4,
        "method": "DAWID_SKENE",
        "acceptConfidence": 0.0,
        "reviewRate": 0.1,
        "reviewBelowConfidence": 0.0,
    }
    [event] = await audit_events(api, "quality.policy", project)
    assert event["actor"] == {"username": "pm"}
    assert event["details"]["changed"] == {"max_overlap": 4, "method": "DAWID_SKENE", "review_rate": 0.1}
    assert event["details"]["before"] == {"max_overlap": 2, "method": "MAJORITY", "review_rate": 1.0}


REFRESH = """
mutation Refresh($input: RefreshQualityInput!) {
  refreshQuality(input: $input) { fields labelsUsed redecided errors { code field message } }
}
"""


async def test_a_re_estimate_that_changes_a_decision_adds_a_version_and_keeps_the_old_one(api: Api) -> None:
    """ann1 and ann2 agree on everything they share; ann3 answers neg whatever ann1 says. Before
    any estimate, each 1-1 split between ann1 and ann3 goes to the smallest label (neg); once
    Dawid-Skene has seen that ann3 says neg regardless and ann1 agrees with ann2, ann1's pos wins."""
    project = await create_project(api, "Re-estimate", overlap=2)
    await set_policy(api, project, method="DAWID_SKENE", reviewRate=0.0, refreshEvery=1000)
    truth = ["pos", "neu", "pos", "neu", "pos", "neg", "pos", "neu"]
    await imported(api, project, rows(len(truth)))
    for value in truth:
        await labeled(api, project, sentiment(value), as_="ann1")
    for value in truth[:6]:
        await labeled(api, project, sentiment(value), as_="ann2")
    for _ in truth[6:]:
        await labeled(api, project, sentiment("neg"), as_="ann3")

    before = await items(api, project)
    assert before["item-6"]["finalLabel"]["value"] == sentiment("neg")  # pos vs neg: the tie's smallest

    refreshed = (await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm"))["refreshQuality"]
    assert refreshed["errors"] == []
    assert (refreshed["fields"], refreshed["labelsUsed"]) == (1, 16)
    after = await items(api, project)

    assert refreshed["redecided"] >= 1
    assert after["item-6"]["finalLabel"]["value"] == sentiment("pos")
    versions = after["item-6"]["decisions"]
    assert [(d["version"], d["inForce"]) for d in versions] == [(1, False), (2, True)]
    assert versions[0]["supersededAt"] is not None
    # What ann1 and ann2 agreed on stands.
    assert [d["version"] for d in after["item-0"]["decisions"]] == [1]


async def test_the_re_estimate_runs_by_itself_after_refresh_every_labels(api: Api) -> None:
    project = await create_project(api, "Background", overlap=2)
    await set_policy(api, project, method="DAWID_SKENE", reviewRate=0.0, refreshEvery=16)
    truth = ["pos", "neu", "pos", "neu", "pos", "neg", "pos", "neu"]
    await imported(api, project, rows(len(truth)))
    for value in truth:
        await labeled(api, project, sentiment(value), as_="ann1")
    for value in truth[:6]:
        await labeled(api, project, sentiment(value), as_="ann2")
    await labeled(api, project, sentiment("neg"), as_="ann3")
    await estimates.drain()
    assert (await items(api, project))["item-6"]["finalLabel"]["value"] == sentiment("neg")  # 15 labels: not yet

    await labeled(api, project, sentiment("neg"), as_="ann3")  # the 16th
    await estimates.drain()

    after = await items(api, project)
    assert after["item-6"]["finalLabel"]["value"] == sentiment("pos")
    assert len(after["item-6"]["decisions"]) == 2


async def one_label_after_agreeing_pairs(api: Api, name: str, per_class: int) -> dict[str, Any]:
    """ann1 and ann2 agree on `per_class` items of each class, the estimate is refreshed, then ann1
    alone labels a new item (overlap 1, one more label allowed): that item, as the pm sees it."""
    project = await create_project(api, name, overlap=2)
    await set_policy(
        api, project, method="DAWID_SKENE", acceptConfidence=0.8, maxOverlap=3, reviewRate=0.0, refreshEvery=1000
    )
    truth = ["pos", "neg", "neu"] * per_class
    await imported(api, project, rows(len(truth)))
    for annotator in ("ann1", "ann2"):
        for value in truth:
            await labeled(api, project, sentiment(value), as_=annotator)
    assert (await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm"))["refreshQuality"]["errors"] == []
    await set_policy(api, project, overlap=1)
    await imported(api, project, rows(1, prefix="new"))
    await labeled(api, project, sentiment("pos"), as_="ann1")
    return (await items(api, project))["new-0"]


async def test_one_label_of_an_annotator_the_estimate_knows_from_few_items_does_not_settle_an_item(
    api: Api,
) -> None:
    """Three agreeing items are all the estimate has seen of ann1: its confusion matrix holds one
    label per row, plus a pseudo label in every cell ((1 + 1) / (1 + 3) on the diagonal), so one
    pos from it is 50% sure, not certain, and the item asks for a second label."""
    item = await one_label_after_agreeing_pairs(api, "Few items", per_class=1)
    assert (item["status"], item["labelsRequired"], item["finalLabel"]) == ("QUEUED", 1, None)


async def test_one_label_settles_an_item_once_the_estimate_has_seen_the_annotator_enough(api: Api) -> None:
    """After 8 agreeing items per class, ann1's diagonal is (8 + 1) / (8 + 3): one label of it is
    9/11 sure, above the policy's 0.8, and decides the item alone."""
    item = await one_label_after_agreeing_pairs(api, "Enough items", per_class=8)
    assert (item["status"], item["finalLabel"]["method"], item["finalLabel"]["value"]) == (
        "FINAL",
        "AGGREGATED",
        sentiment("pos"),
    )
    assert math.isclose(item["finalLabel"]["confidence"], 9 / 11, rel_tol=1e-6)


QUALITY = """
query Quality($id: ID!, $segmentBy: String) {
  projectQuality(projectId: $id, segmentBy: $segmentBy) {
    reviews reviewRejectionRate escalations escalationRate decidedItems labelsPerDecidedItem
    figures {
      labels items
      fields { name kind statistic agreement pairwiseAgreement confusionClasses confusion
               classes { value precision recall support }
               pairs { first { username } second { username } items agreement kappa } }
      annotators {
        annotator { username } labels accuracy agreement labelsPerActiveHour
        fields { field accuracy confusion estimatedClasses estimatedConfusion estimatedAccuracy }
      }
    }
    segments { value figures { labels } }
  }
}
"""


async def test_project_quality_reports_figures_the_test_computes_itself(api: Api) -> None:
    project = await create_project(api, "Report", overlap=2)
    await set_policy(api, project, reviewRate=0.0)
    await imported(
        api, project, [{**row, "metadata": {"lang": "en" if i < 2 else "de"}} for i, row in enumerate(rows(3))]
    )
    for value in ("pos", "neg", "pos"):
        await labeled(api, project, sentiment(value), as_="ann1")
    for value in ("pos", "neg", "neg"):
        await labeled(api, project, sentiment(value), as_="ann2")
    # item-2 split pos/neg: plurality ties go to the smallest, "neg".
    # ann1 labels at 10:00, 10:30 and 12:15 (two clock hours), ann2 within 10:00-11:00 (one).
    day = datetime(2026, 3, 2, tzinfo=UTC)
    minutes = {"ann1": [0, 30, 135], "ann2": [5, 10, 20]}
    async with api.runtime.sessions() as session:
        for who, offsets in minutes.items():
            author = (await session.scalars(select(User).where(User.username == who))).one()
            found = await session.scalars(
                select(Label).where(Label.author_id == author.id).order_by(col(Label.created_at))
            )
            for label, offset in zip(found.all(), offsets, strict=True):
                label.created_at = day + timedelta(hours=10, minutes=offset)
        await session.commit()

    report = (await api.data(QUALITY, {"id": project, "segmentBy": "lang"}, as_="pm"))["projectQuality"]

    assert (report["decidedItems"], report["labelsPerDecidedItem"], report["escalations"]) == (3, 2.0, 0)
    field = next(f for f in report["figures"]["fields"] if f["name"] == "sentiment")
    assert field["statistic"] == "krippendorff_alpha_nominal"
    # Two agreeing pairs of three: 2/3. Alpha by hand: values pos,pos | neg,neg | pos,neg; n = 6;
    # coincidences o(pos,pos)=2, o(neg,neg)=2, o(pos,neg)=o(neg,pos)=1; n_pos = n_neg = 3;
    # D_o = 2/6, D_e = 2*3*3/(6*5) = 0.6, alpha = 1 - (1/3)/0.6 = 4/9.
    assert math.isclose(field["pairwiseAgreement"], 2 / 3)
    assert math.isclose(field["agreement"], 4 / 9)
    # Final: pos, neg, neg. Rows final, columns given, classes "neg" then "pos".
    assert field["confusionClasses"] == ['"neg"', '"pos"']
    assert field["confusion"] == [[3, 1], [0, 2]]
    by_class = {c["value"]: c for c in field["classes"]}
    assert math.isclose(by_class['"pos"']["precision"], 2 / 3)  # 3 pos labels, 2 on pos items
    assert (by_class['"pos"']["recall"], by_class['"neg"']["support"]) == (1.0, 4)
    people = {a["annotator"]["username"]: a for a in report["figures"]["annotators"]}
    assert math.isclose(people["ann1"]["accuracy"], 2 / 3)  # its pos on item-2 lost the tie
    assert people["ann2"]["accuracy"] == 1.0
    assert math.isclose(people["ann1"]["agreement"], 2 / 3)
    assert (people["ann1"]["labelsPerActiveHour"], people["ann2"]["labelsPerActiveHour"]) == (1.5, 3.0)
    # Per annotator against the final labels (neg, pos order): ann1 gave pos on item-2, finally neg.
    assert [(f["field"], f["confusion"], f["estimatedConfusion"]) for f in people["ann1"]["fields"]] == [
        ("sentiment", [[1, 1], [0, 1]], None)
    ]
    assert people["ann2"]["fields"][0]["confusion"] == [[2, 0], [0, 1]]
    # The pair: ann1 pos,neg,pos vs ann2 pos,neg,neg. p_o = 2/3; p_e = 2/3*1/3 + 1/3*2/3 = 4/9;
    # kappa = (2/3 - 4/9) / (1 - 4/9) = 0.4.
    [pair] = field["pairs"]
    assert (pair["first"]["username"], pair["second"]["username"], pair["items"]) in {
        ("ann1", "ann2", 3),
        ("ann2", "ann1", 3),
    }
    assert math.isclose(pair["agreement"], 2 / 3)
    assert math.isclose(pair["kappa"], 0.4)
    assert [(s["value"], s["figures"]["labels"]) for s in report["segments"]] == [("de", 2), ("en", 4)]


async def test_project_quality_shows_each_annotators_estimated_confusion(api: Api) -> None:
    project = await create_project(api, "Estimated", overlap=2)
    await set_policy(api, project, method="DAWID_SKENE", reviewRate=0.0, refreshEvery=1000)
    truth = ["pos", "neu", "pos", "neu", "pos", "neg"]
    await imported(api, project, rows(len(truth)))
    for value in truth:
        await labeled(api, project, sentiment(value), as_="ann1")
    for value in truth[:3] + ["neg"] * 3:
        await labeled(api, project, sentiment(value), as_="ann3")
    assert (await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm"))["refreshQuality"]["errors"] == []

    await grant(api, "qa", "QA_AUDITOR", project)
    report = (await api.data(QUALITY, {"id": project}, as_="qa"))["projectQuality"]

    async with api.runtime.sessions() as session:
        stored = (await estimates.load(session, await session.get(Project, pk(project))))["sentiment"]
        people = {u.username: str(u.id) for u in await session.scalars(select(User))}
    for shown in report["figures"]["annotators"]:
        [figure] = shown["fields"]
        assert figure["estimatedClasses"] == list(stored.classes)
        expected = stored.confusion[people[shown["annotator"]["username"]]]
        assert np.allclose(figure["estimatedConfusion"], expected)
        assert np.allclose(np.sum(figure["estimatedConfusion"], axis=1), 1.0)
        assert math.isclose(figure["estimatedAccuracy"], stored.accuracy[people[shown["annotator"]["username"]]])


async def test_project_quality_is_for_managers_and_auditors(api: Api) -> None:
    project = await create_project(api, "Report access", overlap=1)
    refused = await api.gql(QUALITY, {"id": project}, as_="ann1")
    assert refused["data"]["projectQuality"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = await api.gql(QUALITY, {"id": project}, as_="outsider")
    assert hidden["data"]["projectQuality"] is None
    assert "errors" not in hidden


SERIES = """
query Series($id: ID!, $window: Int) {
  projectQuality(projectId: $id, window: $window) { windows { labels distribution drift } }
}
"""


async def test_the_time_series_reports_drift_between_windows(api: Api) -> None:
    project = await create_project(api, "Series", overlap=1)
    await set_policy(api, project, reviewRate=0.0)
    await imported(api, project, rows(4))
    for value in ("pos", "pos"):
        await labeled(api, project, sentiment(value), as_="ann1")
    # The first two labels a day earlier: two windows of 24 hours.
    async with api.runtime.sessions() as session:
        first = (await session.scalars(select(Label).order_by(col(Label.id)))).all()
        for label in first[-2:]:
            label.created_at = label.created_at - timedelta(days=1)
        await session.commit()
    for value in ("pos", "neg"):
        await labeled(api, project, sentiment(value), as_="ann1")

    series = (await api.data(SERIES, {"id": project, "window": 24}, as_="pm"))["projectQuality"]["windows"]

    assert [w["labels"] for w in series] == [2, 2]
    assert series[0]["distribution"]["sentiment"] == {'"pos"': 1.0}
    assert series[1]["distribution"]["sentiment"] == {'"neg"': 0.5, '"pos"': 0.5}
    assert series[0]["drift"]["sentiment"] is None
    # JSD((1, 0), (.5, .5)) = H(.75, .25) - (0 + 1) / 2 = 0.8113 - 0.5
    assert math.isclose(series[1]["drift"]["sentiment"], 0.31127812445913283)
    bad = await api.gql(SERIES, {"id": project, "window": 0}, as_="pm")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_submits_keep_parsed_estimates_until_the_project_says_a_re_estimate_was_stored(api: Api) -> None:
    """The estimates a submit aggregates with are cached per process and checked against the
    project row's estimates_version, so a re-estimate stored by another process is seen at once."""
    project = await create_project(api, "Cached estimates", overlap=2)
    await set_policy(api, project, method="DAWID_SKENE", reviewRate=0.0, refreshEvery=1000)
    await imported(api, project, rows(2))
    for value in ("pos", "neg"):
        await labeled(api, project, sentiment(value), as_="ann1")
        await labeled(api, project, sentiment(value), as_="ann2")
    await api.data(REFRESH, {"input": {"projectId": project}}, as_="pm")
    async with api.runtime.sessions() as session:
        first = await estimates.load(session, await session.get(Project, pk(project)))
    assert first["sentiment"].classes == ('"neg"', '"pos"')

    # Another process stores a new estimate: the rows change and the version moves on.
    async with api.runtime.sessions() as session:
        model = (await session.scalars(select(QualityModel).where(QualityModel.project_id == pk(project)))).one()
        model.classes = ['"neg"', '"neu"', '"pos"']
        stale = await session.get(Project, pk(project))
        assert stale is not None
        unchanged = await estimates.load(session, stale)  # same version: the parsed copy
        stale.estimates_version += 1
        await session.commit()
    async with api.runtime.sessions() as session:
        again = await estimates.load(session, await session.get(Project, pk(project)))

    assert unchanged is first
    assert again["sentiment"].classes == ('"neg"', '"neu"', '"pos"')
