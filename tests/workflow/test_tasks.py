"""The task loop around a claim: `viewer.tasks`, `renewLease` and `releaseTask`.

An annotator lists its own tasks (never anyone else's), keeps a lease alive while it works
(never past 24 hours after the claim), or hands the item back: another annotator may then
claim it, the releasing one only once nothing else waits for it, and the item's counters never
let it out past the overlap. Someone else's task is NOT_FOUND, exactly like an unknown id, and
nothing is written. Time moves by rewriting rows, never by sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.clock import utcnow
from app.compliance.audit import digest
from app.ingestion.models import Item
from app.workflow.models import Assignment
from tests.conftest import Api, gid
from tests.security import database_state
from tests.workflow.flow import (
    POSITIVE,
    audit_events,
    claim,
    claimed,
    codes,
    create_project,
    expire_lease,
    imported,
    item_counts,
    pk,
    project_a,
    rows,
    submit,
)

TASKS = """
query Tasks($projectId: ID, $status: AssignmentStatus, $first: Int!, $after: String) {
  viewer {
    tasks(projectId: $projectId, status: $status, first: $first, after: $after) {
      nodes { id status leaseExpiresAt item { id externalId data } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""
OPEN_TASKS = "query { viewer { tasks { nodes { id status item { externalId } } } } }"
RENEW_LEASE = """
mutation Renew($input: RenewLeaseInput!) {
  renewLease(input: $input) {
    assignment { id status claimedAt leaseExpiresAt item { externalId } }
    errors { code field message }
  }
}
"""
RELEASE_TASK = """
mutation Release($input: ReleaseTaskInput!) {
  releaseTask(input: $input) {
    assignment { id status item { id externalId } }
    errors { code field message }
  }
}
"""
NODE_STATUS = "query Node($id: ID!) { node(id: $id) { ... on Assignment { status } } }"


async def tasks(api: Api, *, as_: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(TASKS, {"first": 20, **variables}, as_=as_)
    connection: dict[str, Any] = data["viewer"]["tasks"]
    return connection


async def renew(api: Api, assignment: str, *, as_: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(RENEW_LEASE, {"input": {"assignmentId": assignment}}, as_=as_))[
        "renewLease"
    ]
    return payload


async def release(api: Api, assignment: str, *, as_: str, reason: str = "") -> dict[str, Any]:
    variables = {"input": {"assignmentId": assignment, "reason": reason}}
    payload: dict[str, Any] = (await api.data(RELEASE_TASK, variables, as_=as_))["releaseTask"]
    return payload


async def set_times(api: Api, assignment: str, *, claimed_at: datetime, lease_expires_at: datetime) -> None:
    async with api.runtime.sessions() as session:
        await session.execute(
            update(Assignment)
            .where(col(Assignment.id) == pk(assignment))
            .values(claimed_at=claimed_at, lease_expires_at=lease_expires_at)
        )
        await session.commit()


async def active_claims(api: Api, item: str) -> tuple[int, int]:
    """(label_count, active_claims) of an item, straight from the table."""
    async with api.runtime.sessions() as session:
        row = await session.get(Item, pk(item))
        assert row is not None
        return row.label_count, row.active_claims


# viewer.tasks


async def test_tasks_lists_only_the_callers_own_open_tasks(api: Api) -> None:
    project = await create_project(api, "Mine", overlap=2)
    await imported(api, project, rows(2))
    mine = await claimed(api, project, as_="ann1")
    theirs = await claimed(api, project, as_="ann2")

    listed = await tasks(api, as_="ann1")
    assert [(n["id"], n["status"], n["item"]["externalId"]) for n in listed["nodes"]] == [
        (mine["id"], "ACTIVE", "item-0")
    ]
    assert listed["nodes"][0]["item"]["data"] == {"text": "item 0"}
    assert [n["id"] for n in (await tasks(api, as_="ann2"))["nodes"]] == [theirs["id"]]
    assert (await tasks(api, as_="ann3"))["nodes"] == []

    # Submitted, it leaves the open tasks and stays in the history (status: null).
    assert (await submit(api, mine["id"], POSITIVE, as_="ann1"))["errors"] == []
    assert (await api.data(OPEN_TASKS, as_="ann1"))["viewer"]["tasks"]["nodes"] == []
    history = await tasks(api, as_="ann1", status=None)
    assert [(n["id"], n["status"]) for n in history["nodes"]] == [(mine["id"], "SUBMITTED")]
    assert [n["id"] for n in (await tasks(api, as_="ann1", status="SUBMITTED"))["nodes"]] == [mine["id"]]


async def test_tasks_come_newest_first_in_pages_and_filter_by_project(api: Api) -> None:
    other = await create_project(api, "Other", overlap=1)
    await imported(api, project_a(api), rows(1, prefix="a"))
    await imported(api, other, rows(1, prefix="o"))
    first_task = await claimed(api, project_a(api), as_="ann1")
    second_task = await claimed(api, other, as_="ann1")

    page = await tasks(api, as_="ann1", first=1)
    assert [n["id"] for n in page["nodes"]] == [second_task["id"]]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    rest = await tasks(api, as_="ann1", first=1, after=page["pageInfo"]["endCursor"])
    assert [n["id"] for n in rest["nodes"]] == [first_task["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True

    only_a = await tasks(api, as_="ann1", projectId=project_a(api))
    assert [n["id"] for n in only_a["nodes"]] == [first_task["id"]]


async def test_a_lapsed_lease_is_listed_as_expired_never_as_active(api: Api) -> None:
    project = await create_project(api, "Lapsing", overlap=1, lease_seconds=30)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    await expire_lease(api, task["id"])  # past, and not yet swept by another claim

    assert (await tasks(api, as_="ann1"))["nodes"] == []
    lapsed = await tasks(api, as_="ann1", status="EXPIRED")
    assert [(n["id"], n["status"]) for n in lapsed["nodes"]] == [(task["id"], "EXPIRED")]
    assert [n["status"] for n in (await tasks(api, as_="ann1", status=None))["nodes"]] == ["EXPIRED"]
    assert (await api.data(NODE_STATUS, {"id": task["id"]}, as_="ann1"))["node"] == {"status": "EXPIRED"}


async def test_tasks_are_for_annotators_of_the_project(api: Api) -> None:
    await imported(api, project_a(api), rows(1))
    await claimed(api, project_a(api), as_="ann1")

    for caller in ("reviewer", "pm", "admin", "ann_b", "outsider"):
        # One's own tasks in a project one does not claim in (or cannot even read): none, the
        # same answer as for a project that does not exist.
        assert (await tasks(api, as_=caller, projectId=project_a(api)))["nodes"] == [], caller
        assert (await tasks(api, as_=caller, projectId=gid("Project", uuid.uuid4())))["nodes"] == [], caller
        assert (await tasks(api, as_=caller))["nodes"] == [], caller


async def test_tasks_refuses_bad_arguments_with_typed_errors(api: Api) -> None:
    cases = [
        ({"first": 0}, "BAD_USER_INPUT"),
        ({"first": 101}, "BAD_USER_INPUT"),
        ({"first": 5, "after": "!!not a cursor"}, "BAD_USER_INPUT"),
        ({"first": 5, "projectId": gid("Item", api.world.project_a)}, "BAD_USER_INPUT"),
        ({"first": 5, "projectId": "nonsense"}, "BAD_USER_INPUT"),
        ({"first": 5, "status": "LOST"}, "BAD_USER_INPUT"),
    ]
    for variables, code in cases:
        body = await api.gql(TASKS, variables, as_="ann1")
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], variables


# renewLease


async def test_renewing_extends_the_lease_by_the_projects_lease_length_from_now(api: Api) -> None:
    project = await create_project(api, "Renewals", overlap=1, lease_seconds=600)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    now = utcnow()
    # Nine minutes into a ten-minute lease: one minute left.
    await set_times(api, task["id"], claimed_at=now - timedelta(minutes=9), lease_expires_at=now + timedelta(minutes=1))

    payload = await renew(api, task["id"], as_="ann1")

    assert payload["errors"] == []
    renewed = datetime.fromisoformat(payload["assignment"]["leaseExpiresAt"])
    assert renewed >= now + timedelta(seconds=600)
    assert payload["assignment"]["status"] == "ACTIVE"
    assert payload["assignment"]["item"]["externalId"] == "item-0"
    [event] = await audit_events(api, "task.renew", project)
    assert event["entityId"] == str(pk(task["id"]))
    assert event["actor"] == {"username": "ann1"}
    assert datetime.fromisoformat(event["details"]["leaseExpiresAt"]) == renewed
    assert datetime.fromisoformat(event["details"]["previousLeaseExpiresAt"]) == now + timedelta(minutes=1)
    # The renewed lease holds: the item stays with ann1 and ann1 can still submit.
    assert codes(await claim(api, project, as_="ann2")) == [("QUEUE_EMPTY", "projectId")]
    assert (await submit(api, task["id"], POSITIVE, as_="ann1"))["errors"] == []


async def test_a_task_is_never_held_past_24_hours_after_its_claim(api: Api) -> None:
    project = await create_project(api, "Capped", overlap=1, lease_seconds=600)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    now = utcnow()
    claimed_at = now - timedelta(hours=24) + timedelta(minutes=2)
    await set_times(api, task["id"], claimed_at=claimed_at, lease_expires_at=now + timedelta(minutes=1))

    capped = await renew(api, task["id"], as_="ann1")
    assert capped["errors"] == []
    assert datetime.fromisoformat(capped["assignment"]["leaseExpiresAt"]) == claimed_at + timedelta(hours=24)

    before = await database_state(api)
    again = await renew(api, task["id"], as_="ann1")
    assert codes(again) == [("RENEWAL_LIMIT", "assignmentId")]
    assert again["assignment"] is None
    assert await database_state(api) == before


async def test_renewing_a_task_that_is_not_running_is_refused_and_writes_nothing(api: Api) -> None:
    project = await create_project(api, "Not running", overlap=1, lease_seconds=30)
    await imported(api, project, rows(3))
    lapsed = await claimed(api, project, as_="ann1")
    await expire_lease(api, lapsed["id"])
    submitted = await claimed(api, project, as_="ann2")
    assert (await submit(api, submitted["id"], POSITIVE, as_="ann2"))["errors"] == []
    released = await claimed(api, project, as_="ann3")
    assert (await release(api, released["id"], as_="ann3"))["errors"] == []

    before = await database_state(api)
    assert codes(await renew(api, lapsed["id"], as_="ann1")) == [("LEASE_EXPIRED", "assignmentId")]
    assert codes(await renew(api, submitted["id"], as_="ann2")) == [("ALREADY_SUBMITTED", "assignmentId")]
    assert codes(await renew(api, released["id"], as_="ann3")) == [("NOT_ACTIVE", "assignmentId")]
    assert await database_state(api) == before
    assert await audit_events(api, "task.renew", project) == []


# releaseTask


async def test_a_released_item_goes_back_to_the_queue_for_another_annotator(api: Api) -> None:
    project = await create_project(api, "Handing back", overlap=1)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    assert codes(await claim(api, project, as_="ann2")) == [("QUEUE_EMPTY", "projectId")]

    payload = await release(api, task["id"], as_="ann1", reason="Not my language.")

    assert payload["errors"] == []
    item = {"id": task["item"]["id"], "externalId": "item-0"}
    assert payload["assignment"] == {"id": task["id"], "status": "RELEASED", "item": item}
    assert await active_claims(api, task["item"]["id"]) == (0, 0)
    [event] = await audit_events(api, "task.release", project)
    assert event["entityId"] == str(pk(task["id"]))
    assert event["actor"] == {"username": "ann1"}
    # The reason is free text about an item: the append-only audit log keeps its digest, never the text.
    assert event["details"] == {"item": str(pk(task["item"]["id"])), "reasonDigest": digest("Not my language.")}
    assert (await tasks(api, as_="ann1"))["nodes"] == []
    assert [n["status"] for n in (await tasks(api, as_="ann1", status="RELEASED"))["nodes"]] == ["RELEASED"]

    taken = await claimed(api, project, as_="ann2")
    assert taken["item"]["id"] == task["item"]["id"]
    assert await active_claims(api, task["item"]["id"]) == (0, 1)
    assert (await submit(api, taken["id"], POSITIVE, as_="ann2"))["errors"] == []
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}
    assert await active_claims(api, task["item"]["id"]) == (1, 0)


async def test_the_releasing_annotator_gets_the_item_again_only_after_the_rest(api: Api) -> None:
    project = await create_project(api, "Skipping", overlap=1)
    await imported(api, project, [*rows(1, prefix="urgent", priority=9), *rows(1, prefix="later")])
    skipped = await claimed(api, project, as_="ann1")
    assert skipped["item"]["externalId"] == "urgent-0"
    assert (await release(api, skipped["id"], as_="ann1", reason="Come back to it."))["errors"] == []

    next_task = await claimed(api, project, as_="ann1")
    assert next_task["item"]["externalId"] == "later-0"
    assert (await submit(api, next_task["id"], POSITIVE, as_="ann1"))["errors"] == []

    back = await claimed(api, project, as_="ann1")
    assert back["item"]["externalId"] == "urgent-0"
    assert back["id"] != skipped["id"]
    assert (await submit(api, back["id"], POSITIVE, as_="ann1"))["errors"] == []
    assert await item_counts(api, project) == {"queued": 0, "inReview": 2, "final": 0, "total": 2}


async def test_releases_never_let_an_item_out_past_its_overlap(api: Api) -> None:
    project = await create_project(api, "Overlap two", overlap=2)
    await imported(api, project, rows(1))
    first = await claimed(api, project, as_="ann1")
    second = await claimed(api, project, as_="ann2")
    item = first["item"]["id"]
    assert codes(await claim(api, project, as_="ann3")) == [("QUEUE_EMPTY", "projectId")]

    assert (await release(api, first["id"], as_="ann1"))["errors"] == []
    assert await active_claims(api, item) == (0, 1)
    third = await claimed(api, project, as_="ann3")
    assert third["item"]["id"] == item
    assert await active_claims(api, item) == (0, 2)
    # Full again: ann1's released item may come back to it, but not past the overlap.
    assert codes(await claim(api, project, as_="ann1")) == [("QUEUE_EMPTY", "projectId")]

    assert (await submit(api, second["id"], POSITIVE, as_="ann2"))["errors"] == []
    assert (await submit(api, third["id"], POSITIVE, as_="ann3"))["errors"] == []
    assert await active_claims(api, item) == (2, 0)
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}
    assert codes(await claim(api, project, as_="ann1")) == [("QUEUE_EMPTY", "projectId")]


async def test_a_released_task_cannot_be_labeled_released_again_or_renewed(api: Api) -> None:
    project = await create_project(api, "Released", overlap=1, lease_seconds=30)
    await imported(api, project, rows(3))
    task = await claimed(api, project, as_="ann1")
    assert (await release(api, task["id"], as_="ann1"))["errors"] == []
    submitted = await claimed(api, project, as_="ann2")
    assert (await submit(api, submitted["id"], POSITIVE, as_="ann2"))["errors"] == []
    lapsed = await claimed(api, project, as_="ann3")
    await expire_lease(api, lapsed["id"])

    before = await database_state(api)
    assert codes(await submit(api, task["id"], POSITIVE, as_="ann1")) == [("NOT_ACTIVE", "assignmentId")]
    assert codes(await release(api, task["id"], as_="ann1")) == [("NOT_ACTIVE", "assignmentId")]
    assert codes(await release(api, submitted["id"], as_="ann2")) == [("ALREADY_SUBMITTED", "assignmentId")]
    assert codes(await release(api, lapsed["id"], as_="ann3")) == [("LEASE_EXPIRED", "assignmentId")]
    assert await database_state(api) == before


async def test_a_too_long_reason_is_refused_and_writes_nothing(api: Api) -> None:
    project = await create_project(api, "Wordy", overlap=1)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")

    before = await database_state(api)
    payload = await release(api, task["id"], as_="ann1", reason="x" * 1001)

    assert codes(payload) == [("TOO_LONG", "reason")]
    assert await database_state(api) == before
    assert (await release(api, task["id"], as_="ann1", reason="x" * 1000))["errors"] == []


async def test_someone_elses_task_is_not_found_like_an_unknown_id_and_nothing_is_written(api: Api) -> None:
    project = await create_project(api, "Not yours", overlap=2)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    own = await claimed(api, project, as_="ann2")  # ann2 works on the same item: still not its task
    unknown = gid("Assignment", pk(project))

    before = await database_state(api)
    for mutation, field in ((RENEW_LEASE, "renewLease"), (RELEASE_TASK, "releaseTask")):
        # Another annotator cannot read ann1's task: the same answer as for an unknown id.
        answers = [
            (await api.data(mutation, {"input": {"assignmentId": target}}, as_="ann2"))[field]
            for target in (task["id"], unknown)
        ]
        assert answers[0] == {
            "assignment": None,
            "errors": [{"code": "NOT_FOUND", "field": "assignmentId", "message": "No such assignment."}],
        }
        assert answers[0] == answers[1]
        # A reviewer reads the task (an item reader) but works on no task: FORBIDDEN on the field.
        body = await api.gql(mutation, {"input": {"assignmentId": task["id"]}}, as_="reviewer")
        assert body["data"] == {field: None}
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        wrong_type = await api.data(mutation, {"input": {"assignmentId": project}}, as_="ann1")
        assert codes(wrong_type[field]) == [("INVALID_ID", "assignmentId")]
    assert await database_state(api) == before
    assert [n["id"] for n in (await tasks(api, as_="ann2"))["nodes"]] == [own["id"]]


async def test_a_release_racing_a_submit_of_the_same_task_keeps_the_counters_right(api: Api) -> None:
    project = await create_project(api, "Race", overlap=1)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")

    released, submitted = await asyncio.gather(
        release(api, task["id"], as_="ann1"), submit(api, task["id"], POSITIVE, as_="ann1")
    )

    outcomes = sorted([codes(released), codes(submitted)])
    assert outcomes in ([[], [("ALREADY_SUBMITTED", "assignmentId")]], [[], [("NOT_ACTIVE", "assignmentId")]])
    label_count, claims = await active_claims(api, task["item"]["id"])
    assert claims == 0
    assert label_count == (1 if submitted["errors"] == [] else 0)
