"""Access history through the API: who saw an item's content, what a user touched in a time
range, every denial and every anonymous call, downloads, and a request that never fails because
the history cannot be written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from app.clock import utcnow
from tests.conftest import Api, gid
from tests.workflow.flow import claimed, create_project, imported, pk, review, rows, submit

ACCESS = """
query Access($resource: ID, $actorId: ID, $since: DateTime, $until: DateTime, $outcome: AccessOutcome,
             $first: Int = 50, $after: String) {
  accessEvents(resource: $resource, actorId: $actorId, since: $since, until: $until, outcome: $outcome,
               first: $first, after: $after) {
    nodes {
      occurredAt actorKind channel operation operationType outcome status details
      actor { username }
      resources { resourceType resourceId action }
      resourceCount
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CLAIM_WITH_CONTENT = """
mutation Claim($projectId: ID!) {
  claimNextTask(input: {projectId: $projectId}) { assignment { id item { id data } } errors { code } }
}
"""

ITEM_IDS_ONLY = "query Items($id: ID!) { project(id: $id) { items(first: 100) { nodes { id externalId } } } }"
ITEM_CONTENT = "query Content($id: ID!) { project(id: $id) { items(first: 100) { nodes { id data } } } }"


async def access_events(api: Api, **variables: Any) -> list[dict[str, Any]]:
    data = await api.data(ACCESS, variables, as_="compliance")
    nodes: list[dict[str, Any]] = data["accessEvents"]["nodes"]
    return nodes


def who(events: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [((e["actor"] or {}).get("username"), e["operation"]) for e in events]


async def test_who_viewed_an_item_lists_those_given_its_content_and_no_one_else(api: Api) -> None:
    project = await create_project(api, "Access", overlap=1)
    await imported(api, project, rows(2))
    claim = await api.data(CLAIM_WITH_CONTENT, {"projectId": project}, as_="ann1")
    item = claim["claimNextTask"]["assignment"]["item"]["id"]
    await api.data(ITEM_IDS_ONLY, {"id": project}, as_="pm")  # ids only: not a view of the content
    await api.data(ITEM_CONTENT, {"id": project}, as_="reviewer")

    events = await access_events(api, resource=item)
    assert who(events) == [("reviewer", "Content"), ("ann1", "Claim")]  # newest first
    reviewer_view, claim_event = events
    assert {"resourceType": "Item", "resourceId": item, "action": "READ"} in reviewer_view["resources"]
    assert reviewer_view["resourceCount"] == 2  # both items' content went to the reviewer
    assert claim_event["channel"] == "GRAPHQL"
    assert claim_event["operationType"] == "mutation"
    assert claim_event["outcome"] == "OK"
    assert claim_event["status"] == 200
    # The claim changed the assignment it created (its audit event), and that is there too.
    assignment = claim["claimNextTask"]["assignment"]["id"]
    assert {"resourceType": "Assignment", "resourceId": assignment, "action": "CHANGED"} in claim_event["resources"]


async def test_what_a_user_accessed_in_a_time_range(api: Api) -> None:
    project = await create_project(api, "Range", overlap=1)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    assert (await submit(api, task["id"], {"sentiment": "pos"}, as_="ann1"))["errors"] == []
    now = utcnow()

    mine = await access_events(
        api, actorId=gid("User", api.world.id("ann1")), since=(now - timedelta(hours=1)).isoformat()
    )
    assert {op for _, op in who(mine)} >= {"ClaimNextTask", "SubmitLabel", "AcknowledgeGuideline"}
    assert {user for user, _ in who(mine)} == {"ann1"}
    submitted = next(e for e in mine if e["operation"] == "SubmitLabel")
    assert [r["resourceType"] for r in submitted["resources"] if r["action"] == "CHANGED"] == ["Label"]
    # A range that ended before they started holds none of it.
    assert (
        await access_events(
            api, actorId=gid("User", api.world.id("ann1")), until=(now - timedelta(hours=1)).isoformat()
        )
        == []
    )


async def test_denials_and_anonymous_calls_are_recorded_without_what_was_sent(api: Api) -> None:
    secret = "planted-secret-value-93b1"
    denied = await api.raw(
        "query Peek($action: String) { auditEvents(action: $action) { nodes { action } } }",
        {"action": secret},
        as_="ann1",
    )
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await api.client.post("/graphql", json={"query": "{ viewer { username } }"})
    assert anonymous.status_code == 401
    export = await api.client.get(
        f"/export/{gid('Project', api.world.project_a)}.jsonl", headers={"Authorization": f"Bearer {api.token('ann1')}"}
    )
    assert export.status_code == 403

    events = await access_events(api, outcome="DENIED")
    peek = next(e for e in events if e["operation"] == "Peek")
    assert peek["actor"] == {"username": "ann1"}
    assert peek["details"]["denials"][0]["path"] == "auditEvents"
    assert secret not in str(peek)
    download = next(e for e in events if e["channel"] == "DOWNLOAD")
    assert (download["operation"], download["status"], download["actor"]) == ("export", 403, {"username": "ann1"})

    unauthenticated = await access_events(api, outcome="UNAUTHENTICATED")
    assert [(e["actorKind"], e["status"], e["actor"]) for e in unauthenticated] == [("ANONYMOUS", 401, None)]


async def test_a_refused_mutation_changed_nothing_and_says_so(api: Api) -> None:
    project = await create_project(api, "Refused", overlap=1)
    await imported(api, project, rows(1))
    task = await claimed(api, project, as_="ann1")
    refused = await submit(api, task["id"], {"sentiment": "no-such-class"}, as_="ann1")
    assert refused["errors"]
    events = await access_events(api, actorId=gid("User", api.world.id("ann1")))
    failed = next(e for e in events if e["operation"] == "SubmitLabel")
    assert failed["resources"] == []  # the label it would have written was rolled back


async def test_an_export_lists_the_items_whose_content_it_carried(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await imported(api, project, rows(3))
    for _ in range(3):
        task = await claimed(api, project, as_="ann1")
        label = await submit(api, task["id"], {"sentiment": "pos"}, as_="ann1")
        assert (await review(api, label["label"]["id"], "ACCEPT"))["errors"] == []
    response = await api.client.get(f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"})
    assert response.status_code == 200
    lines = [line for line in response.text.splitlines() if line]

    downloads = [
        e for e in await access_events(api, actorId=gid("User", api.world.id("pm"))) if e["channel"] == "DOWNLOAD"
    ]
    assert len(downloads) == 1
    assert {"resourceType": "Project", "resourceId": project, "action": "READ"} in downloads[0]["resources"]
    items = {r["resourceId"] for r in downloads[0]["resources"] if r["resourceType"] == "Item"}
    assert len(items) == len(lines) == 3
    one = next(iter(items))
    assert ("pm", "export") in who(await access_events(api, resource=one))


async def test_pages_continue_below_the_cursor(api: Api) -> None:
    for _ in range(5):
        await api.data("{ viewer { username } }", as_="ann2")
    mine = {"actorId": gid("User", api.world.id("ann2"))}
    first = (await api.data(ACCESS, {**mine, "first": 3}, as_="compliance"))["accessEvents"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await api.data(ACCESS, {**mine, "first": 3, "after": first["pageInfo"]["endCursor"]}, as_="compliance")
    assert len(first["nodes"]) + len(rest["accessEvents"]["nodes"]) == 5
    assert rest["accessEvents"]["pageInfo"]["hasNextPage"] is False


async def test_a_request_never_fails_because_its_history_cannot_be_written(api: Api) -> None:
    await imported(api, gid("Project", api.world.project_a), rows(2))
    await api.runtime.access.flush()
    before = api.runtime.access.dropped
    async with api.runtime.sessions() as session:
        await session.execute(text("ALTER TABLE access_resource RENAME TO access_resource_gone"))
        await session.commit()
    try:
        answer = await api.data(ITEM_CONTENT, {"id": gid("Project", api.world.project_a)}, as_="reviewer")
        assert len(answer["project"]["items"]["nodes"]) == 2
        await api.runtime.access.flush()
        assert api.runtime.access.dropped > before  # logged and counted, never the caller's failure
    finally:
        async with api.runtime.sessions() as session:
            await session.execute(text("ALTER TABLE access_resource_gone RENAME TO access_resource"))
            await session.commit()


async def test_compliance_officers_read_the_history_but_never_item_content(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await imported(api, project, [{"externalId": "x", "data": {"text": "content-marker-5521"}}])
    await api.data(ITEM_CONTENT, {"id": project}, as_="reviewer")
    events = await access_events(api)
    assert events
    assert "content-marker-5521" not in str(events)
    for role in ("pm", "ann1", "reviewer", "mlbot"):
        body = (await api.raw(ACCESS, {}, as_=role)).json()
        assert body["data"]["accessEvents"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert pk(project) == api.world.project_a
