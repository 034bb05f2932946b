"""submitLabel: a label is checked against the active label schema and tied to its versions.

Covers the saved label (schema and guideline versions, author, audit event, item moving to
review), each kind of invalid value as a typed error with nothing saved, a second submit on
the same task, and submitting on someone else's (or no) task.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Api, gid
from tests.workflow.flow import (
    POSITIVE,
    audit_events,
    claimed,
    codes,
    imported,
    item_counts,
    pk,
    project_a,
    rows,
    submit,
)


async def test_a_label_records_its_author_and_the_versions_in_force(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")

    payload = await submit(api, assignment["id"], POSITIVE, as_="ann1", rationale="says cheap", timeSpentMs=4200)

    assert payload["errors"] == []
    label = payload["label"]
    assert label["value"] == POSITIVE
    assert label["status"] == "SUBMITTED"
    assert label["author"] == {"username": "ann1"}
    # Project A was created with schema version 1 and guideline version 1 published.
    assert (label["schemaVersion"], label["guidelineVersion"]) == (1, 1)
    # Overlap 1: the one label completes the item, which now waits for a reviewer.
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}
    [event] = await audit_events(api, "label.submit", project)
    assert event["actor"] == {"username": "ann1"}
    assert (event["entityType"], event["entityId"]) == ("Label", str(pk(label["id"])))
    assert event["details"]["schemaVersion"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"sentiment": "pos", "mood": "sunny"}, [("UNKNOWN_FIELD", "value.mood")]),
        ({"sentiment": "ecstatic"}, [("UNKNOWN_CLASS", "value.sentiment")]),
        ({"topics": ["price"]}, [("REQUIRED", "value.sentiment")]),
        ({"sentiment": "pos", "topics": "price"}, [("WRONG_KIND", "value.topics")]),
        ({"sentiment": ["pos"]}, [("WRONG_KIND", "value.sentiment")]),
        ({"sentiment": "pos", "topics": ["price", "shipping"]}, [("UNKNOWN_CLASS", "value.topics")]),
        ({"sentiment": "pos", "topics": ["price", "price"]}, [("DUPLICATE_CLASS", "value.topics")]),
        (["pos"], [("INVALID_VALUE", "value")]),
        ("pos", [("INVALID_VALUE", "value")]),
    ],
    ids=[
        "unknown-field",
        "unknown-class",
        "missing-required",
        "string-for-multi-choice",
        "list-for-single-choice",
        "unknown-class-in-list",
        "class-listed-twice",
        "not-an-object",
        "bare-string",
    ],
)
async def test_an_invalid_value_is_a_typed_error_and_saves_nothing(
    api: Api, value: Any, expected: list[tuple[str, str]]
) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")

    payload = await submit(api, assignment["id"], value, as_="ann1")

    assert codes(payload) == expected
    assert payload["label"] is None
    assert await item_counts(api, project) == {"queued": 1, "inReview": 0, "final": 0, "total": 1}
    assert await audit_events(api, "label.submit", project) == []
    # The task is still open: the corrected value goes through on the same assignment.
    assert (await submit(api, assignment["id"], POSITIVE, as_="ann1"))["errors"] == []


async def test_every_problem_of_a_value_is_reported_at_once(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")

    payload = await submit(api, assignment["id"], {"mood": "sunny", "topics": "price"}, as_="ann1")

    assert sorted(codes(payload)) == [
        ("REQUIRED", "value.sentiment"),
        ("UNKNOWN_FIELD", "value.mood"),
        ("WRONG_KIND", "value.topics"),
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"timeSpentMs": -1}, [("OUT_OF_RANGE", "timeSpentMs")]),
        ({"rationale": "x" * 10_001}, [("TOO_LONG", "rationale")]),
    ],
    ids=["negative-time", "long-rationale"],
)
async def test_bounds_on_the_label_extras_are_typed_errors(
    api: Api, extra: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")

    payload = await submit(api, assignment["id"], POSITIVE, as_="ann1", **extra)

    assert codes(payload) == expected
    assert (await item_counts(api, project))["inReview"] == 0


async def test_a_second_submit_on_the_same_task_is_already_submitted(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(2))
    assignment = await claimed(api, project, as_="ann1")
    await submit(api, assignment["id"], POSITIVE, as_="ann1")

    again = await submit(api, assignment["id"], {"sentiment": "neg"}, as_="ann1")

    assert codes(again) == [("ALREADY_SUBMITTED", "assignmentId")]
    assert len(await audit_events(api, "label.submit", project)) == 1
    assert await item_counts(api, project) == {"queued": 1, "inReview": 1, "final": 0, "total": 2}


async def test_someone_elses_task_reads_as_not_found(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")

    payload = await submit(api, assignment["id"], POSITIVE, as_="ann2")

    assert codes(payload) == [("NOT_FOUND", "assignmentId")]
    assert await audit_events(api, "label.submit", project) == []
    # The owner's task is untouched.
    assert (await submit(api, assignment["id"], POSITIVE, as_="ann1"))["errors"] == []


async def test_an_unknown_task_is_not_found(api: Api) -> None:
    payload = await submit(api, gid("Assignment", uuid.uuid4()), POSITIVE, as_="ann1")

    assert codes(payload) == [("NOT_FOUND", "assignmentId")]
