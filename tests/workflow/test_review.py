"""reviewLabel: accept, correct or reject, and the final label an item ends with.

Covers accept (CONSENSUS_ACCEPTED with its evidence), correct (validated, CORRECTED), reject
(needs a comment, sends the item back to another annotator), separation of duties
(SELF_REVIEW), the states that refuse a review (ALREADY_FINAL, NOT_READY), and with overlap 3
the per-field majority behind consensus, agreement and adjudication.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.workflow.flow import (
    POSITIVE,
    REVIEW_LABEL,
    audit_events,
    claim,
    claimed,
    codes,
    create_project,
    grant,
    imported,
    item_counts,
    labeled,
    pk,
    project_a,
    review,
    rows,
    submit,
)


async def test_accepting_makes_the_item_final_with_its_evidence(api: Api) -> None:
    project = project_a(api)  # overlap 1
    await imported(api, project, rows(1))
    label = await labeled(api, project, POSITIVE, as_="ann1")

    payload = await review(api, label["id"], "ACCEPT")

    assert payload["errors"] == []
    assert payload["review"]["verdict"] == "ACCEPT"
    assert payload["review"]["reviewer"] == {"username": "reviewer"}
    assert payload["label"]["status"] == "ACCEPTED"
    assert payload["item"]["status"] == "FINAL"
    assert payload["finalLabel"] == {
        "value": POSITIVE,
        "method": "CONSENSUS_ACCEPTED",
        "agreement": 1.0,
        "sourceLabelIds": [label["id"]],
        "schemaVersion": 1,
        "guidelineVersion": 1,
        "decidedBy": {"username": "reviewer"},
    }
    assert await item_counts(api, project) == {"queued": 0, "inReview": 0, "final": 1, "total": 1}
    [event] = await audit_events(api, "label.review", project)
    assert event["actor"] == {"username": "reviewer"}
    assert (event["entityType"], event["entityId"]) == ("Review", str(pk(payload["review"]["id"])))
    assert event["details"]["final"] == "CONSENSUS_ACCEPTED"


async def test_two_agreeing_labels_are_both_the_evidence(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    first = await labeled(api, project, POSITIVE, as_="ann1")
    second = await labeled(api, project, POSITIVE, as_="ann2")

    payload = await review(api, second["id"], "ACCEPT")

    final = payload["finalLabel"]
    assert (final["method"], final["agreement"]) == ("CONSENSUS_ACCEPTED", 1.0)
    assert final["sourceLabelIds"] == [first["id"], second["id"]]
    assert payload["label"] == {"id": second["id"], "status": "ACCEPTED"}


async def test_correcting_replaces_the_value(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    label = await labeled(api, project, POSITIVE, as_="ann1")
    corrected = {"sentiment": "neu", "topics": ["price", "delivery"]}

    payload = await review(api, label["id"], "CORRECT", corrected_value=corrected, comment="mixed")

    assert payload["errors"] == []
    assert payload["review"]["correctedValue"] == corrected
    assert payload["label"]["status"] == "CORRECTED"
    assert payload["finalLabel"]["value"] == corrected
    assert payload["finalLabel"]["method"] == "CORRECTED"
    assert payload["finalLabel"]["sourceLabelIds"] == [label["id"]]


@pytest.mark.parametrize(
    ("corrected", "expected"),
    [
        ({"sentiment": "furious"}, [("UNKNOWN_CLASS", "correctedValue.sentiment")]),
        ({"topics": ["price"]}, [("REQUIRED", "correctedValue.sentiment")]),
        ({"sentiment": "neg", "topics": "price"}, [("WRONG_KIND", "correctedValue.topics")]),
        ({"sentiment": "neg", "mood": "dark"}, [("UNKNOWN_FIELD", "correctedValue.mood")]),
        (None, [("REQUIRED", "correctedValue")]),
    ],
    ids=["unknown-class", "missing-required", "wrong-kind", "unknown-field", "absent"],
)
async def test_a_correction_is_validated_like_a_label(
    api: Api, corrected: Any, expected: list[tuple[str, str]]
) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    label = await labeled(api, project, POSITIVE, as_="ann1")

    payload = await review(api, label["id"], "CORRECT", corrected_value=corrected)

    assert codes(payload) == expected
    assert (payload["review"], payload["finalLabel"]) == (None, None)
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}
    assert await audit_events(api, "label.review", project) == []


async def test_a_corrected_value_goes_only_with_correct(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    label = await labeled(api, project, POSITIVE, as_="ann1")

    payload = await review(api, label["id"], "ACCEPT", corrected_value={"sentiment": "neg"})

    assert codes(payload) == [("UNEXPECTED", "correctedValue")]


@pytest.mark.parametrize("comment", ["", "   "])
async def test_a_rejection_needs_a_comment(api: Api, comment: str) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    label = await labeled(api, project, POSITIVE, as_="ann1")

    payload = await review(api, label["id"], "REJECT", comment=comment)

    assert codes(payload) == [("REQUIRED", "comment")]
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}


FEEDBACK = """
query Feedback($id: ID!) {
  node(id: $id) { ... on Assignment { feedback { verdict comment } item { externalId } } }
}
"""


async def test_a_rejection_sends_the_item_back_to_its_author_with_the_comment(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    rejected = await labeled(api, project, POSITIVE, as_="ann1")
    # Waiting too, and ahead of item-1 by priority: the rework still comes first.
    await imported(api, project, rows(1, prefix="urgent", priority=5.0))

    payload = await review(api, rejected["id"], "REJECT", comment="Delivery is the topic here.")

    assert payload["errors"] == []
    assert payload["label"]["status"] == "REJECTED"
    assert payload["item"]["status"] == "QUEUED"
    assert payload["finalLabel"] is None
    assert payload["review"]["comment"] == "Delivery is the topic here."
    # The rework comes first to its author, with the reviewer's comment on the task.
    rework = (await claim(api, project, as_="ann1"))["assignment"]
    seen = (await api.gql(FEEDBACK, {"id": rework["id"]}, as_="ann1"))["data"]["node"]
    assert seen["item"]["externalId"] == "item-0"
    assert seen["feedback"] == [{"verdict": "REJECT", "comment": "Delivery is the topic here."}]
    # Nobody else reads it there, not even another annotator of the project.
    assert (await api.gql(FEEDBACK, {"id": rework["id"]}, as_="pm"))["data"]["node"]["feedback"] == []
    second = (await submit(api, rework["id"], {"sentiment": "neg", "topics": ["delivery"]}, as_="ann1"))["label"]
    final = (await review(api, second["id"], "ACCEPT"))["finalLabel"]

    # Only the label that still counts is evidence for the decision.
    assert final["sourceLabelIds"] == [second["id"]]
    assert final["method"] == "CONSENSUS_ACCEPTED"


async def test_a_rework_its_author_leaves_goes_to_someone_else(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    rejected = await labeled(api, project, POSITIVE, as_="ann1")
    await review(api, rejected["id"], "REJECT", comment="Delivery is the topic here.")

    second = await labeled(api, project, {"sentiment": "neg", "topics": ["delivery"]}, as_="ann2")

    assert second["status"] == "SUBMITTED"
    assert codes(await claim(api, project, as_="ann1")) == [("QUEUE_EMPTY", "projectId")]


async def test_reviewing_a_label_on_an_item_one_labeled_is_self_review(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    own = await labeled(api, project, POSITIVE, as_="ann1")
    other = await labeled(api, project, {"sentiment": "neg"}, as_="ann2")
    await grant(api, "ann1", "REVIEWER", project)

    on_own = await review(api, own["id"], "ACCEPT", as_="ann1")
    on_other = await review(api, other["id"], "ACCEPT", as_="ann1")

    assert codes(on_own) == [("SELF_REVIEW", "labelId")]
    assert codes(on_other) == [("SELF_REVIEW", "labelId")]
    assert (await item_counts(api, project))["inReview"] == 1


async def test_reviewing_a_final_item_is_already_final(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    first = await labeled(api, project, POSITIVE, as_="ann1")
    second = await labeled(api, project, POSITIVE, as_="ann2")
    await review(api, first["id"], "ACCEPT")

    again = await review(api, first["id"], "REJECT", comment="second thoughts")
    other = await review(api, second["id"], "CORRECT", corrected_value={"sentiment": "neg"})

    assert codes(again) == [("ALREADY_FINAL", "labelId")]
    assert codes(other) == [("ALREADY_FINAL", "labelId")]
    assert len(await audit_events(api, "label.review", project)) == 1


async def test_reviewing_before_all_overlap_labels_are_in_is_not_ready(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    early = await labeled(api, project, POSITIVE, as_="ann1")

    payload = await review(api, early["id"], "ACCEPT")

    assert codes(payload) == [("NOT_READY", "labelId")]
    assert await item_counts(api, project) == {"queued": 1, "inReview": 0, "final": 0, "total": 1}


async def test_only_reviewers_review(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    label = await labeled(api, project, POSITIVE, as_="ann1")

    # An annotator who has not labeled the item cannot even see the label: NOT_FOUND.
    body = await api.gql(REVIEW_LABEL, {"input": {"labelId": label["id"], "verdict": "ACCEPT"}}, as_="ann2")
    assert codes(body["data"]["reviewLabel"]) == [("NOT_FOUND", "labelId")]
    # The manager sees it but may not review: FORBIDDEN on the field.
    body = await api.gql(REVIEW_LABEL, {"input": {"labelId": label["id"], "verdict": "ACCEPT"}}, as_="pm")
    assert body["data"] == {"reviewLabel": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert (await item_counts(api, project))["final"] == 0


async def three_labels(api: Api, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item labeled by ann1, ann2 and ann3 in an overlap-3 project, in that order."""
    project = await create_project(api, "Overlap 3", overlap=3)
    await imported(api, project, rows(1))
    return [
        await labeled(api, project, value, as_=name)
        for name, value in zip(["ann1", "ann2", "ann3"], values, strict=True)
    ]


@pytest.mark.parametrize(
    ("accepted", "method", "agreement"),
    [(0, "CONSENSUS_ACCEPTED", 2 / 3), (2, "ADJUDICATED", 1 / 3)],
    ids=["majority", "minority"],
)
async def test_two_of_three_decide_the_consensus(api: Api, accepted: int, method: str, agreement: float) -> None:
    labels = await three_labels(api, [{"sentiment": "pos"}, {"sentiment": "pos"}, {"sentiment": "neg"}])

    final = (await review(api, labels[accepted]["id"], "ACCEPT"))["finalLabel"]

    assert final["method"] == method
    assert final["agreement"] == pytest.approx(agreement, abs=1e-3)
    assert final["value"] == labels[accepted]["value"]
    assert final["sourceLabelIds"] == [label["id"] for label in labels]


@pytest.mark.parametrize(
    ("accepted", "method", "agreement"),
    # Majority per field: sentiment pos (2 of 3), topics [price] (2 of 3) -- only ann2 holds both.
    [(0, "ADJUDICATED", 0.5), (1, "CONSENSUS_ACCEPTED", 2 / 3), (2, "ADJUDICATED", 0.5)],
    ids=["ann1", "ann2", "ann3"],
)
async def test_the_majority_is_taken_field_by_field(api: Api, accepted: int, method: str, agreement: float) -> None:
    labels = await three_labels(
        api,
        [
            {"sentiment": "pos", "topics": ["quality"]},
            {"sentiment": "pos", "topics": ["price"]},
            {"sentiment": "neg", "topics": ["price"]},
        ],
    )

    final = (await review(api, labels[accepted]["id"], "ACCEPT"))["finalLabel"]

    assert final["method"] == method
    assert final["agreement"] == pytest.approx(agreement, abs=1e-3)


async def test_choice_order_does_not_break_agreement(api: Api) -> None:
    labels = await three_labels(
        api,
        [
            {"sentiment": "pos", "topics": ["price", "quality"]},
            {"sentiment": "pos", "topics": ["quality", "price"]},
            {"sentiment": "pos", "topics": ["price", "quality"]},
        ],
    )

    final = (await review(api, labels[1]["id"], "ACCEPT"))["finalLabel"]

    assert (final["method"], final["agreement"]) == ("CONSENSUS_ACCEPTED", 1.0)


async def test_a_claim_after_the_final_label_finds_nothing(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")
    label = (await submit(api, assignment["id"], POSITIVE, as_="ann1"))["label"]
    await review(api, label["id"], "ACCEPT")

    for name in ("ann1", "ann2", "ann3"):
        assert codes(await claim(api, project, as_=name)) == [("QUEUE_EMPTY", "projectId")]
