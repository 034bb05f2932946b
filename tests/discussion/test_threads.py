"""Comment threads through the API: who reads them (independence of labels), replies, mentions,
guideline references, edits and tombstones, bounds, and the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Api, gid
from tests.discussion.support import (
    DELETE,
    EDIT,
    MENTIONS,
    add,
    added,
    discussed_project,
    threads,
)
from tests.security import database_state
from tests.workflow.flow import assignments, audit_events, codes, pk, submit


def user(api: Api, name: str) -> str:
    return gid("User", api.world.id(name))


async def test_a_thread_is_readable_by_those_who_judge_items_and_by_an_annotator_only_after_its_label(
    api: Api,
) -> None:
    project, (item0, item1) = await discussed_project(api)
    root = await added(api, "reviewer", itemId=item0, body="Is sarcasm negative?")
    shown = [{"id": root["id"], "body": "Is sarcasm negative?", "author": {"username": "reviewer"}}]

    def summary(seen: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return None if seen is None else [{k: t[k] for k in ("id", "body", "author")} for t in seen]

    for role in ("admin", "pm", "reviewer", "qa", "expert", "ann2"):  # ann2 labeled item-0
        assert summary(await threads(api, item0, role)) == shown, role
    # ann3 holds a live claim on item-0 but has not labeled it: it reads the item, not the thread.
    assert await threads(api, item0, "ann3") == []
    # ann2 holds a live claim on item-1, unlabeled; ann1 never saw item-0; compliance and outsiders
    # read no items at all.
    await added(api, "pm", itemId=item1, body="Watch the emoji.")
    assert await threads(api, item1, "ann2") == []
    for role in ("ann1", "compliance", "outsider"):
        assert await threads(api, item0, role) is None, role
    # ML services read items, not the discussion about them: the list is refused.
    body = await api.gql(
        "query Threads($id: ID!) { node(id: $id) { ... on Item { externalId comments { id } } } }",
        {"id": item0},
        as_="mlbot",
    )
    assert body["data"]["node"] == {"externalId": "item-0", "comments": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]

    # Commenting follows reading: ann3 (claim, no label) gets exactly what a missing item gets.
    before = await database_state(api)
    refused = await add(api, "ann3", itemId=item0, body="I think it is negative.")
    missing = await add(api, "ann3", itemId=gid("Item", uuid.uuid4()), body="I think it is negative.")
    assert (
        refused
        == missing
        == {"comment": None, "errors": [{"code": "NOT_FOUND", "field": "itemId", "message": "No such item."}]}
    )
    assert codes(await add(api, "outsider", itemId=item0, body="hi")) == [("NOT_FOUND", "itemId")]
    assert codes(await add(api, "compliance", itemId=item0, body="hi")) == [("NOT_FOUND", "itemId")]
    assert await database_state(api) == before

    # Once ann3 has labeled item-0 the thread is its to read and to join.
    (ann3_task,) = [a for a in await assignments(api, project) if a.item_id == pk(item0) and a.status == "ACTIVE"]
    assert (await submit(api, gid("Assignment", ann3_task.id), {"sentiment": "neg"}, as_="ann3"))["errors"] == []
    assert summary(await threads(api, item0, "ann3")) == shown
    reply = await added(api, "ann3", itemId=item0, body="Negative, per section 2.", parentId=root["id"])
    assert reply["parentId"] == root["id"]


async def test_replies_join_their_thread_and_must_answer_a_comment_of_the_same_item(api: Api) -> None:
    _project, (item0, item1) = await discussed_project(api)
    root = await added(api, "reviewer", itemId=item0, body="Root")
    first = await added(api, "expert", itemId=item0, body="First reply", parentId=root["id"])
    # Replying to a reply: one level deep, it joins the root's thread.
    second = await added(api, "pm", itemId=item0, body="Second reply", parentId=first["id"])
    assert (first["parentId"], second["parentId"]) == (root["id"], root["id"])
    other = await added(api, "reviewer", itemId=item0, body="Another thread")

    seen = await threads(api, item0, "qa")
    assert seen is not None
    assert [(t["body"], [r["body"] for r in t["replies"]]) for t in seen] == [
        ("Root", ["First reply", "Second reply"]),
        ("Another thread", []),
    ]
    assert [r["author"]["username"] for r in seen[0]["replies"]] == ["expert", "pm"]
    assert seen[1]["id"] == other["id"]

    before = await database_state(api)
    elsewhere = await add(api, "pm", itemId=item1, body="Wrong item", parentId=root["id"])
    assert codes(elsewhere) == [("INVALID_PARENT", "parentId")]
    unknown = await add(api, "pm", itemId=item0, body="x", parentId=gid("Comment", uuid.uuid4()))
    assert codes(unknown) == [("NOT_FOUND", "parentId")]
    mistyped = await add(api, "pm", itemId=item0, body="x", parentId=item1)
    assert codes(mistyped) == [("INVALID_ID", "parentId")]
    assert await database_state(api) == before

    events = await audit_events(api, "comment.add")
    replies = [e for e in events if e["details"]["reply"]]
    assert [(e["actor"]["username"], e["details"]["thread"]) for e in replies] == [
        ("expert", str(pk(root["id"]))),
        ("pm", str(pk(root["id"]))),
    ]
    assert replies[1]["details"]["parent"] == str(pk(first["id"]))


async def test_mentions_name_only_people_who_may_read_the_thread(api: Api) -> None:
    _project, (item0, _item1) = await discussed_project(api)
    # ann2 labeled item-0, the expert reads items: both may be mentioned.
    comment = await added(
        api, "reviewer", itemId=item0, body="@ann2 @expert look", mentions=[user(api, "ann2"), user(api, "expert")]
    )
    assert comment["mentions"] == [{"username": "ann2"}, {"username": "expert"}]

    before = await database_state(api)
    refused = {}
    # ann3 (claim, no label), ann1 (never saw it), mlbot (no comments), compliance (no items),
    # pm_b (another project), outsider (no role), and nobody at all: one answer for every one.
    for name in ("ann3", "ann1", "mlbot", "compliance", "pm_b", "outsider", None):
        target = user(api, name) if name else gid("User", uuid.uuid4())
        payload = await add(api, "reviewer", itemId=item0, body="hey", mentions=[user(api, "expert"), target])
        assert payload["comment"] is None
        refused[name] = payload["errors"]
    assert all(errors == refused[None] for errors in refused.values()), refused
    assert refused[None] == [
        {
            "code": "INVALID_MENTION",
            "field": "mentions.1",
            "message": "Only people who may read this thread can be mentioned.",
        }
    ]
    too_many = await add(api, "reviewer", itemId=item0, body="hey", mentions=[user(api, "expert")] * 51)
    assert codes(too_many) == [("TOO_MANY", "mentions")]
    assert await database_state(api) == before

    # The same person twice is mentioned once.
    again = await added(api, "pm", itemId=item0, body="@ann2", mentions=[user(api, "ann2"), user(api, "ann2")])
    assert again["mentions"] == [{"username": "ann2"}]

    data = await api.data(MENTIONS, {"first": 1}, as_="ann2")
    page = data["viewer"]["mentions"]
    assert page["nodes"] == [
        {"id": again["id"], "body": "@ann2", "author": {"username": "pm"}, "item": {"externalId": "item-0"}}
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await api.data(MENTIONS, {"first": 10, "after": page["pageInfo"]["endCursor"]}, as_="ann2")
    assert [n["id"] for n in rest["viewer"]["mentions"]["nodes"]] == [comment["id"]]
    assert (await api.data(MENTIONS, {"first": 10}, as_="qa"))["viewer"]["mentions"]["nodes"] == []

    # A deleted comment no longer mentions anyone.
    deleted = await api.data(DELETE, {"input": {"commentId": again["id"]}}, as_="pm")
    assert deleted["deleteComment"]["errors"] == []
    left = await api.data(MENTIONS, {"first": 10}, as_="ann2")
    assert [n["id"] for n in left["viewer"]["mentions"]["nodes"]] == [comment["id"]]

    # Mentions are in the audit trail, for an admin to find.
    events = await audit_events(api, "comment.add")
    mentioned = [(e["entityId"], e["details"]["mentions"]) for e in events if e["details"]["mentions"]]
    assert mentioned == [
        (str(pk(comment["id"])), [str(api.world.id("ann2")), str(api.world.id("expert"))]),
        (str(pk(again["id"])), [str(api.world.id("ann2"))]),
    ]


async def test_a_mention_disappears_once_the_thread_is_no_longer_readable(api: Api) -> None:
    project, (item0, _item1) = await discussed_project(api)
    comment = await added(api, "pm", itemId=item0, body="@qa", mentions=[user(api, "qa")])
    seen = await api.data(MENTIONS, {"first": 10}, as_="qa")
    assert [n["id"] for n in seen["viewer"]["mentions"]["nodes"]] == [comment["id"]]
    revoked = await api.data(
        "mutation R($input: RoleInput!) { revokeRole(input: $input) { errors { code } } }",
        {"input": {"userId": user(api, "qa"), "role": "QA_AUDITOR", "projectId": project}},
        as_="admin",
    )
    assert revoked["revokeRole"]["errors"] == []
    assert (await api.data(MENTIONS, {"first": 10}, as_="qa"))["viewer"]["mentions"]["nodes"] == []


async def test_guideline_references_name_what_is_in_force(api: Api) -> None:
    _project, (item0, _item1) = await discussed_project(api, name="Refs")
    valid = {
        "definitions, field and class": (
            {"section": "definitions", "field": "sentiment", "class": "pos"},
            {"section": "definitions", "field": "sentiment", "className": "pos"},
        ),
        # The body of the guideline in force is "# Refs": its heading is a section.
        "a heading of the body": ({"section": "Refs"}, {"section": "Refs", "field": None, "className": None}),
        "a class its one field is found for": (
            {"class": "price"},
            {"section": None, "field": "topics", "className": "price"},
        ),
        "a field alone": ({"field": "topics"}, {"section": None, "field": "topics", "className": None}),
    }
    for name, (ref, shown) in valid.items():
        comment = await added(api, "reviewer", itemId=item0, body=name, guidelineRef=ref)
        assert comment["guidelineRef"] == shown, name

    invalid = {
        "no such section": ({"section": "Sarcasm"}, [("UNKNOWN_SECTION", "guidelineRef.section")]),
        "no such field": ({"field": "tone", "class": "pos"}, [("UNKNOWN_FIELD", "guidelineRef.field")]),
        "a class of another field": ({"field": "topics", "class": "pos"}, [("UNKNOWN_CLASS", "guidelineRef.class")]),
        "no field has the class": ({"class": "sarcastic"}, [("UNKNOWN_CLASS", "guidelineRef.class")]),
        "names nothing": ({}, [("REQUIRED", "guidelineRef")]),
        "several wrong": (
            {"section": "Nope", "field": "tone"},
            [("UNKNOWN_SECTION", "guidelineRef.section"), ("UNKNOWN_FIELD", "guidelineRef.field")],
        ),
    }
    before = await database_state(api)
    for name, (ref, expected) in invalid.items():
        assert codes(await add(api, "reviewer", itemId=item0, body=name, guidelineRef=ref)) == expected, name
    assert await database_state(api) == before


async def test_bodies_are_required_bounded_and_storable(api: Api) -> None:
    _project, (item0, _item1) = await discussed_project(api)
    before = await database_state(api)
    assert codes(await add(api, "pm", itemId=item0, body="  \n")) == [("REQUIRED", "body")]
    assert codes(await add(api, "pm", itemId=item0, body="x" * 10_001)) == [("TOO_LONG", "body")]
    # NUL and lone surrogates are refused before any resolver runs (the body decoder), writing nothing.
    for bad in ("a\u0000b", "a\\ud800b"):
        raw = '{"query": "mutation A($input: AddCommentInput!) { addComment(input: $input) { errors { code } } }", '
        raw += (
            '"variables": {"input": {"itemId": "' + item0 + '", "body": "' + bad.replace("\u0000", "\\u0000") + '"}}}'
        )
        response = await api.client.post(
            "/graphql",
            content=raw.encode(),
            headers={"Authorization": f"Bearer {api.token('pm')}", "Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await database_state(api) == before
    assert (await added(api, "pm", itemId=item0, body="x" * 10_000))["body"] == "x" * 10_000


async def test_only_the_author_edits_and_a_deleted_comment_leaves_a_tombstone(api: Api) -> None:
    _project, (item0, _item1) = await discussed_project(api)
    root = await added(api, "reviewer", itemId=item0, body="Sarcasm is neg?", mentions=[user(api, "qa")])
    reply = await added(api, "qa", itemId=item0, body="Yes.", parentId=root["id"])

    before = await database_state(api)
    for name in ("pm", "qa", "admin"):
        refused = await api.data(EDIT, {"input": {"commentId": root["id"], "body": "changed"}}, as_=name)
        assert codes(refused["editComment"]) == [("NOT_AUTHOR", "commentId")], name
    hidden = await api.data(EDIT, {"input": {"commentId": root["id"], "body": "changed"}}, as_="ann3")
    assert codes(hidden["editComment"]) == [("NOT_FOUND", "commentId")]
    blank = await api.data(EDIT, {"input": {"commentId": root["id"], "body": ""}}, as_="reviewer")
    assert codes(blank["editComment"]) == [("REQUIRED", "body")]
    assert await database_state(api) == before

    edited = (await api.data(EDIT, {"input": {"commentId": root["id"], "body": "Sarcasm: neg."}}, as_="reviewer"))[
        "editComment"
    ]
    assert edited["errors"] == []
    assert edited["comment"]["body"] == "Sarcasm: neg."
    assert edited["comment"]["createdAt"] == root["createdAt"]
    assert edited["comment"]["editedAt"] is not None
    assert edited["comment"]["editedAt"] > root["createdAt"]

    # The expert is neither the author nor a moderator; the project manager moderates.
    refused = await api.data(DELETE, {"input": {"commentId": root["id"]}}, as_="expert")
    assert codes(refused["deleteComment"]) == [("NOT_AUTHOR", "commentId")]
    deleted = (await api.data(DELETE, {"input": {"commentId": root["id"]}}, as_="pm"))["deleteComment"]
    assert deleted["errors"] == []
    assert deleted["comment"]["body"] is None
    assert deleted["comment"]["deletedAt"] is not None
    again = await api.data(DELETE, {"input": {"commentId": root["id"]}}, as_="pm")
    assert codes(again["deleteComment"]) == [("COMMENT_DELETED", "commentId")]
    after_delete = await api.data(EDIT, {"input": {"commentId": root["id"], "body": "x"}}, as_="reviewer")
    assert codes(after_delete["editComment"]) == [("COMMENT_DELETED", "commentId")]
    onto_tombstone = await add(api, "qa", itemId=item0, body="x", parentId=root["id"])
    assert codes(onto_tombstone) == [("COMMENT_DELETED", "parentId")]

    seen = await threads(api, item0, "qa")
    assert seen is not None
    assert [(t["id"], t["body"], t["mentions"], [r["body"] for r in t["replies"]]) for t in seen] == [
        (root["id"], None, [], ["Yes."])
    ]
    # The author deletes its own reply.
    own = (await api.data(DELETE, {"input": {"commentId": reply["id"]}}, as_="qa"))["deleteComment"]
    assert own["errors"] == []
    deletions = await audit_events(api, "comment.delete")
    assert [(e["actor"]["username"], e["details"]["author"]) for e in deletions] == [
        ("pm", str(api.world.id("reviewer"))),
        ("qa", str(api.world.id("qa"))),
    ]
    assert [e["actor"]["username"] for e in await audit_events(api, "comment.edit")] == ["reviewer"]


async def test_comments_refetch_by_node_under_the_same_rule(api: Api) -> None:
    _project, (item0, _item1) = await discussed_project(api)
    comment = await added(api, "pm", itemId=item0, body="Node me")
    query = "query N($id: ID!) { node(id: $id) { ... on Comment { body item { externalId } } } }"
    assert (await api.data(query, {"id": comment["id"]}, as_="ann2"))["node"] == {
        "body": "Node me",
        "item": {"externalId": "item-0"},
    }
    for name in ("ann3", "mlbot", "compliance", "outsider"):
        assert (await api.data(query, {"id": comment["id"]}, as_=name))["node"] is None, name
