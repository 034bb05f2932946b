"""The audit trail of one item's whole trip through the loop, as a compliance officer reads it.

Every successful mutation writes exactly one event (who, on which entity, in which project);
the ones that failed write none.
"""

from __future__ import annotations

from tests.conftest import Api
from tests.workflow.flow import (
    POSITIVE,
    audit_events,
    claim,
    claimed,
    codes,
    create_project,
    import_items,
    imported,
    pk,
    review,
    rows,
    submit,
)


async def test_each_step_of_the_loop_is_audited_once(api: Api) -> None:
    project = await create_project(api, "Audited", overlap=1)
    await imported(api, project, rows(2))
    task = await claimed(api, project, as_="ann1")
    label = (await submit(api, task["id"], POSITIVE, as_="ann1"))["label"]
    decision = await review(api, label["id"], "ACCEPT")

    expected = {
        "project.create": ("admin", "Project", pk(project)),
        "item.import": ("pm", "Project", pk(project)),
        "task.claim": ("ann1", "Assignment", pk(task["id"])),
        "label.submit": ("ann1", "Label", pk(label["id"])),
        "label.review": ("reviewer", "Review", pk(decision["review"]["id"])),
    }
    for action, (username, entity_type, entity_id) in expected.items():
        [event] = await audit_events(api, action, project)
        assert event["action"] == action
        assert event["actor"] == {"username": username}, action
        assert (event["entityType"], event["entityId"]) == (entity_type, str(entity_id)), action


async def test_failed_steps_leave_no_events(api: Api) -> None:
    project = await create_project(api, "Audited", overlap=1)
    refused = await import_items(api, project, [{"externalId": "x", "data": "not an object"}])
    empty = await claim(api, project, as_="ann1")
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    invalid = await submit(api, task["id"], {"sentiment": "meh"}, as_="ann1")
    label = (await submit(api, task["id"], POSITIVE, as_="ann1"))["label"]
    unexplained = await review(api, label["id"], "REJECT")

    assert [codes(p)[0][0] for p in (refused, empty, invalid, unexplained)] == [
        "INVALID_DATA",
        "QUEUE_EMPTY",
        "UNKNOWN_CLASS",
        "REQUIRED",
    ]
    # Only the successful import, claim and submit are on record.
    for action in ("item.import", "task.claim", "label.submit"):
        assert len(await audit_events(api, action, project)) == 1, action
    assert await audit_events(api, "label.review", project) == []
