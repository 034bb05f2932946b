"""claimNextTask: which item a claim hands out, and when it hands out none.

Covers priority-then-age order, handing back the caller's live task (resumed) instead of a
second one, never an item the annotator already labeled, never more leases than the overlap,
QUEUE_EMPTY, and leases that run out: the item returns to the queue and a late submit is
LEASE_EXPIRED. Time moves by rewriting the lease in the database, never by sleeping.
"""

from __future__ import annotations

from tests.conftest import Api, gid
from tests.workflow.flow import (
    CLAIM_NEXT_TASK,
    NEGATIVE,
    POSITIVE,
    assignments,
    audit_events,
    claim,
    claimed,
    codes,
    create_project,
    expire_lease,
    imported,
    item_counts,
    labeled,
    pk,
    project_a,
    rows,
    submit,
)

ASSIGNMENT_STATUS = """
query AssignmentStatus($id: ID!) {
  node(id: $id) { ... on Assignment { status label { id } } }
}
"""


async def test_claims_go_by_priority_then_age(api: Api) -> None:
    project = project_a(api)
    # Two calls, so age spans imports too: the older of equal priorities goes first.
    await imported(api, project, [*rows(2, prefix="low", priority=0.0), *rows(2, prefix="high", priority=5.0)])
    await imported(api, project, [*rows(1, prefix="mid", priority=1.0), *rows(1, prefix="late-high", priority=5.0)])

    handed_out = []
    for _ in range(6):
        assignment = await claimed(api, project, as_="ann1")
        handed_out.append(assignment["item"]["externalId"])
        await submit(api, assignment["id"], POSITIVE, as_="ann1")

    assert handed_out == ["high-0", "high-1", "late-high-0", "mid-0", "low-0", "low-1"]


async def test_a_live_task_is_handed_back_instead_of_a_second_one(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(3))

    first = await claim(api, project, as_="ann1")
    again = await claim(api, project, as_="ann1")

    assert first["resumed"] is False
    assert again["resumed"] is True
    assert again["assignment"]["id"] == first["assignment"]["id"]
    assert len(await assignments(api, project)) == 1
    # Handing back a task writes nothing, so only the real claim is audited.
    [event] = await audit_events(api, "task.claim", project)
    assert event["actor"] == {"username": "ann1"}
    assert event["entityId"] == str(pk(first["assignment"]["id"]))


async def test_an_annotator_never_gets_an_item_it_already_labeled(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    await labeled(api, project, POSITIVE, as_="ann1")

    mine_again = await claim(api, project, as_="ann1")
    theirs = await claimed(api, project, as_="ann2")

    assert codes(mine_again) == [("QUEUE_EMPTY", "projectId")]
    assert theirs["item"]["externalId"] == "item-0"


async def test_an_item_is_leased_to_at_most_overlap_annotators_at_once(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))

    first = await claimed(api, project, as_="ann1")
    second = await claimed(api, project, as_="ann2")
    third = await claim(api, project, as_="ann3")

    assert first["item"]["id"] == second["item"]["id"]
    assert codes(third) == [("QUEUE_EMPTY", "projectId")]
    assert third["assignment"] is None


async def test_an_item_with_its_labels_in_leaves_the_queue(api: Api) -> None:
    project = project_a(api)  # overlap 1
    await imported(api, project, rows(1))
    await labeled(api, project, POSITIVE, as_="ann1")

    assert codes(await claim(api, project, as_="ann2")) == [("QUEUE_EMPTY", "projectId")]
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}


async def test_an_empty_project_has_an_empty_queue(api: Api) -> None:
    payload = await claim(api, project_a(api), as_="ann1")

    assert codes(payload) == [("QUEUE_EMPTY", "projectId")]
    assert payload["resumed"] is False
    assert await audit_events(api, "task.claim") == []


async def test_an_expired_lease_returns_the_item_to_the_queue(api: Api) -> None:
    project = await create_project(api, "Short leases", overlap=1, lease_seconds=30)
    await imported(api, project, rows(1))
    lapsed = await claimed(api, project, as_="ann1")
    assert codes(await claim(api, project, as_="ann2")) == [("QUEUE_EMPTY", "projectId")]

    await expire_lease(api, lapsed["id"])
    taken_over = await claim(api, project, as_="ann2")

    assert taken_over["errors"] == []
    assert taken_over["resumed"] is False
    assert taken_over["assignment"]["item"]["id"] == lapsed["item"]["id"]
    status = await api.data(ASSIGNMENT_STATUS, {"id": lapsed["id"]}, as_="ann1")
    assert status["node"] == {"status": "EXPIRED", "label": None}


async def test_submitting_on_an_expired_lease_is_refused_and_saves_nothing(api: Api) -> None:
    project = await create_project(api, "Short leases", overlap=1, lease_seconds=30)
    await imported(api, project, rows(1))
    lapsed = await claimed(api, project, as_="ann1")
    await expire_lease(api, lapsed["id"])

    # Before anyone else claims (the lease is past but not yet swept) ...
    late = await submit(api, lapsed["id"], POSITIVE, as_="ann1")
    # ... and after the item went to someone else.
    await claimed(api, project, as_="ann2")
    later = await submit(api, lapsed["id"], NEGATIVE, as_="ann1")

    assert codes(late) == [("LEASE_EXPIRED", "assignmentId")]
    assert codes(later) == [("LEASE_EXPIRED", "assignmentId")]
    assert late["label"] is None
    assert await item_counts(api, project) == {"queued": 1, "inReview": 0, "final": 0, "total": 1}
    assert await audit_events(api, "label.submit", project) == []


async def test_after_its_lease_ran_out_the_annotator_may_claim_again(api: Api) -> None:
    project = await create_project(api, "Short leases", overlap=1, lease_seconds=30)
    await imported(api, project, rows(1))
    lapsed = await claimed(api, project, as_="ann1")
    await expire_lease(api, lapsed["id"])

    fresh = await claim(api, project, as_="ann1")

    assert fresh["resumed"] is False
    assert fresh["assignment"]["id"] != lapsed["id"]
    assert fresh["assignment"]["item"]["id"] == lapsed["item"]["id"]
    assert (await submit(api, fresh["assignment"]["id"], POSITIVE, as_="ann1"))["errors"] == []


async def test_claiming_needs_the_annotator_role_in_that_project(api: Api) -> None:
    await imported(api, project_a(api), rows(1))

    # A reviewer of the project may read it but not claim there: FORBIDDEN on the field.
    body = await api.gql(CLAIM_NEXT_TASK, {"projectId": project_a(api)}, as_="reviewer")
    assert body["data"] == {"claimNextTask": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    # Without any role in it, the project does not exist for the caller.
    for username in ("ann_b", "outsider"):
        payload = (await api.data(CLAIM_NEXT_TASK, {"projectId": project_a(api)}, as_=username))["claimNextTask"]
        assert codes(payload) == [("NOT_FOUND", "projectId")], username
    assert await assignments(api, gid("Project", api.world.project_a)) == []
