"""Promoting a thread or an expert's rationale into the guideline draft, through the API."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Api, gid
from tests.discussion.support import DRAFT, PROMOTE, added, discussed_project
from tests.security import database_state
from tests.workflow.flow import audit_events, codes, create_project, grant, imported, labeled, pk, rows
from tests.workflow.test_quality_policy import CLAIM_ESCALATION, RESOLVE, set_policy

DECISIONS = "query D($id: ID!) { node(id: $id) { ... on Item { decisions { id method } } } }"


async def promote(api: Api, as_: str = "pm", **fields: Any) -> dict[str, Any]:
    data = await api.data(PROMOTE, {"input": fields}, as_=as_)
    payload: dict[str, Any] = data["promoteToGuideline"]
    return payload


async def draft(api: Api, project: str) -> dict[str, Any] | None:
    data = await api.data(DRAFT, {"id": project}, as_="pm")
    found: dict[str, Any] | None = data["project"]["guidelineDraft"]
    return found


async def test_a_thread_becomes_an_edge_case_of_a_new_draft_linked_to_its_item(api: Api) -> None:
    project, (item0, item1) = await discussed_project(api, name="Promoted")
    root = await added(
        api,
        "reviewer",
        itemId=item0,
        body="Is   sarcasm\nnegative?",
        guidelineRef={"section": "definitions", "field": "sentiment", "class": "neg"},
    )
    reply = await added(api, "expert", itemId=item0, body="Yes, when the literal words praise.", parentId=root["id"])
    gone = await added(api, "qa", itemId=item0, body="Never mind.", parentId=root["id"])
    await api.data(
        "mutation D($id: ID!) { deleteComment(input: {commentId: $id}) { errors { code } } }",
        {"id": gone["id"]},
        as_="qa",
    )
    other = await added(api, "pm", itemId=item1, body="Elsewhere")
    assert await draft(api, project) is None

    before = await database_state(api)
    refusals = {
        "neither source": ({"itemId": item0, "title": "T"}, [("INVALID_SOURCE", None)]),
        "both sources": (
            {"itemId": item0, "commentId": root["id"], "decisionId": gid("Decision", uuid.uuid4()), "title": "T"},
            [("INVALID_SOURCE", None)],
        ),
        "a comment of another item": (
            {"itemId": item0, "commentId": other["id"], "title": "T"},
            [("NOT_ON_ITEM", "commentId")],
        ),
        "no such comment": (
            {"itemId": item0, "commentId": gid("Comment", uuid.uuid4()), "title": "T"},
            [("NOT_FOUND", "commentId")],
        ),
        "no title": ({"itemId": item0, "commentId": root["id"], "title": "  "}, [("REQUIRED", "title")]),
        "a note too long": (
            {"itemId": item0, "commentId": root["id"], "title": "T", "note": "n" * 5_001},
            [("TOO_LONG", "note")],
        ),
        "no such item": (
            {"itemId": gid("Item", uuid.uuid4()), "commentId": root["id"], "title": "T"},
            [("NOT_FOUND", "itemId")],
        ),
    }
    for name, (fields, expected) in refusals.items():
        assert codes(await promote(api, **fields)) == expected, name
    assert await database_state(api) == before

    # Naming a reply promotes its whole thread; the deleted reply is left out.
    promoted = await promote(
        api, itemId=item0, commentId=reply["id"], title="Sarcasm", note="Label what is meant, not what is said."
    )
    assert promoted["errors"] == []
    assert promoted["guideline"] == {"version": 2, "status": "DRAFT"}
    case = {
        "title": "Sarcasm",
        "description": "Label what is meant, not what is said.\n\nDiscussion:\n"
        "- reviewer: Is sarcasm negative?\n- expert: Yes, when the literal words praise.",
        "field": "sentiment",
        "className": "neg",
        "source": {"itemId": item0, "commentId": root["id"], "decisionId": None},
    }
    assert promoted["edgeCase"] == case
    # The draft started from the version in force (its body) and holds the case with its link.
    assert await draft(api, project) == {"version": 2, "status": "DRAFT", "body": "# Promoted", "edgeCases": [case]}

    # A second promotion edits the same draft; a title already there is refused at `title`.
    before = await database_state(api)
    duplicate = await promote(api, itemId=item0, commentId=root["id"], title="Sarcasm")
    assert codes(duplicate) == [("DUPLICATE_EDGE_CASE", "title")]
    assert await database_state(api) == before
    second = await promote(api, as_="admin", itemId=item1, commentId=other["id"], title="Elsewhere")
    assert second["errors"] == []
    assert second["guideline"] == {"version": 2, "status": "DRAFT"}
    assert second["edgeCase"]["description"] == "Discussion:\n- pm: Elsewhere"
    shown = await draft(api, project)
    assert shown is not None
    assert [c["title"] for c in shown["edgeCases"]] == ["Sarcasm", "Elsewhere"]

    # Published, the guideline's Markdown shows where the case came from.
    published = await api.data(
        "mutation P($input: PublishGuidelineInput!) { publishGuideline(input: $input) { errors { code } } }",
        {"input": {"projectId": project, "changelog": "Sarcasm."}},
        as_="pm",
    )
    assert published["publishGuideline"]["errors"] == []
    markdown = await api.client.get(
        f"/guidelines/{project}/2.md", headers={"Authorization": f"Bearer {api.token('ann1')}"}
    )
    assert markdown.status_code == 200
    assert f"*From item `{item0}`, comment `{root['id']}`*" in markdown.text

    events = await audit_events(api, "guideline.promote", project)
    assert [(e["actor"]["username"], e["details"]["title"], e["details"]["source"]) for e in events] == [
        ("pm", "Sarcasm", {"itemId": item0, "commentId": root["id"]}),
        ("admin", "Elsewhere", {"itemId": item1, "commentId": other["id"]}),
    ]


async def test_an_experts_rationale_becomes_an_edge_case(api: Api) -> None:
    project = await create_project(api, "Expert cases", overlap=2)
    assert (await set_policy(api, project, maxOverlap=2, acceptConfidence=0.9, reviewRate=0.0))["errors"] == []
    await grant(api, "expert", "EXPERT", project)
    await imported(api, project, [{**row, "priority": 2 - i} for i, row in enumerate(rows(2))])
    await labeled(api, project, {"sentiment": "pos"}, as_="ann1")  # item-0
    await labeled(api, project, {"sentiment": "neg"}, as_="ann2")  # item-0: split, escalated
    await labeled(api, project, {"sentiment": "pos"}, as_="ann1")  # item-1
    await labeled(api, project, {"sentiment": "pos"}, as_="ann2")  # item-1: agreed, AGGREGATED
    claim = await api.data(CLAIM_ESCALATION, {"input": {"projectId": project}}, as_="expert")
    item0 = claim["claimNextEscalation"]["escalation"]["item"]["id"]
    resolved = await api.data(
        RESOLVE,
        {"input": {"itemId": item0, "value": {"sentiment": "neu"}, "rationale": "Both readings hold: neutral."}},
        as_="expert",
    )
    assert resolved["resolveEscalation"]["errors"] == []
    items = await api.data(
        "query I($id: ID!) { project(id: $id) { items(first: 10) { nodes { id externalId } } } }",
        {"id": project},
        as_="pm",
    )
    item1 = next(n["id"] for n in items["project"]["items"]["nodes"] if n["externalId"] == "item-1")
    (expert_decision,) = (await api.data(DECISIONS, {"id": item0}, as_="pm"))["node"]["decisions"]
    (aggregated,) = (await api.data(DECISIONS, {"id": item1}, as_="pm"))["node"]["decisions"]
    assert (expert_decision["method"], aggregated["method"]) == ("EXPERT_RESOLVED", "AGGREGATED")
    # The decision refetches by its id.
    node = await api.data(
        "query N($id: ID!) { node(id: $id) { ... on Decision { method } } }", {"id": expert_decision["id"]}, as_="pm"
    )
    assert node["node"] == {"method": "EXPERT_RESOLVED"}

    before = await database_state(api)
    not_expert = await promote(api, itemId=item1, decisionId=aggregated["id"], title="Agreed")
    assert codes(not_expert) == [("NOT_EXPERT_DECISION", "decisionId")]
    elsewhere = await promote(api, itemId=item1, decisionId=expert_decision["id"], title="Agreed")
    assert codes(elsewhere) == [("NOT_ON_ITEM", "decisionId")]
    mistyped = await promote(api, itemId=item0, decisionId=item1, title="Agreed")
    assert codes(mistyped) == [("INVALID_ID", "decisionId")]
    assert await database_state(api) == before

    promoted = await promote(api, itemId=item0, decisionId=expert_decision["id"], title="Two readings")
    assert promoted["errors"] == []
    case = {
        "title": "Two readings",
        "description": "Expert rationale: Both readings hold: neutral.",
        "field": None,
        "className": None,
        "source": {"itemId": item0, "commentId": None, "decisionId": expert_decision["id"]},
    }
    assert promoted["edgeCase"] == case
    shown = await draft(api, project)
    assert shown is not None
    assert shown["edgeCases"] == [case]
    assert pk(shown["edgeCases"][0]["source"]["itemId"]) == pk(item0)


async def test_a_draft_keeps_sources_only_of_its_own_items(api: Api) -> None:
    """Sources round-trip through saveGuidelineDraft (a UI sends a section back), checked again."""
    project, (item0, item1) = await discussed_project(api, name="Sources")
    comment = await added(api, "pm", itemId=item0, body="On item-0")
    save = """
    mutation S($input: SaveGuidelineDraftInput!) {
      saveGuidelineDraft(input: $input) { guideline { version } errors { code field } }
    }
    """
    wrong = {
        "the comment of another item": {"itemId": item1, "commentId": comment["id"]},
        "no such item": {"itemId": gid("Item", uuid.uuid4()), "commentId": comment["id"]},
    }
    expected = {
        "the comment of another item": [("UNKNOWN_SOURCE", "content.edgeCases.0.source.commentId")],
        "no such item": [
            ("UNKNOWN_ITEM", "content.edgeCases.0.source.itemId"),
            ("UNKNOWN_SOURCE", "content.edgeCases.0.source.commentId"),
        ],
    }
    before = await database_state(api)
    for name, source in wrong.items():
        content = {"edgeCases": [{"title": "T", "source": source}]}
        data = await api.data(save, {"input": {"projectId": project, "content": content}}, as_="pm")
        assert [(e["code"], e["field"]) for e in data["saveGuidelineDraft"]["errors"]] == expected[name], name
    assert await database_state(api) == before
    content = {"edgeCases": [{"title": "T", "source": {"itemId": item0, "commentId": comment["id"]}}]}
    data = await api.data(save, {"input": {"projectId": project, "content": content}}, as_="pm")
    assert data["saveGuidelineDraft"]["errors"] == []
    shown = await draft(api, project)
    assert shown is not None
    assert shown["edgeCases"][0]["source"] == {"itemId": item0, "commentId": comment["id"], "decisionId": None}
