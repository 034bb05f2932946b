"""Guidelines through the API: drafts checked against the schema, publication with a changelog,
diffs, the acknowledgement that claims wait for, and the Markdown download."""

from __future__ import annotations

from typing import Any

from app.schema.node import global_id
from tests.conftest import Api, gid
from tests.security import database_state, import_items
from tests.workflow.flow import ACKNOWLEDGE_GUIDELINE, acknowledge

SAVE = """
mutation Save($input: SaveGuidelineDraftInput!) {
  saveGuidelineDraft(input: $input) {
    guideline {
      version status body
      definitions { field className definition }
      examples { field className polarity text itemId }
      edgeCases { title field className }
      decisionTree { root nodes { id question answers { answer next field className } } }
      unreachableClasses { field className }
    }
    errors { code field message }
  }
}
"""
PUBLISH = """
mutation Publish($input: PublishGuidelineInput!) {
  publishGuideline(input: $input) {
    guideline { version status changelog publishedBy { username } }
    errors { code field message }
  }
}
"""
CLAIM = """
mutation Claim($projectId: ID!) {
  claimNextTask(input: {projectId: $projectId}) { assignment { id } errors { code field message } }
}
"""
TREE = {
    "root": "opinion",
    "nodes": [
        {
            "id": "opinion",
            "question": "Does the text take a side?",
            "answers": [{"answer": "no", "class": "neu"}, {"answer": "yes", "next": "side"}],
        },
        {"id": "side", "question": "Mostly favourable?", "answers": [{"answer": "yes", "class": "pos"}]},
    ],
}


def content(item_id: str) -> dict[str, Any]:
    return {
        "definitions": [
            {"class": "pos", "definition": "The author would buy it again."},
            {"field": "topics", "class": "price", "definition": "Cost, discounts, value for money."},
        ],
        "examples": [
            {"class": "pos", "polarity": "POSITIVE", "text": "Would order again."},
            {"class": "pos", "polarity": "NEGATIVE", "itemId": item_id, "note": "Praise of the courier only."},
        ],
        "edgeCases": [{"title": "Sarcasm", "description": "Label what is meant.", "class": "neg"}],
        "decisionTree": TREE,
    }


def project_a(api: Api) -> str:
    return gid("Project", api.world.project_a)


async def first_item(api: Api, project: str) -> str:
    await import_items(api, project, ["a-1", "a-2"], as_="pm")
    query = "query($id: ID!) { project(id: $id) { items(first: 1) { nodes { id } } } }"
    data = await api.data(query, {"id": project}, as_="pm")
    item: str = data["project"]["items"]["nodes"][0]["id"]
    return item


async def save(api: Api, project: str, body: str, content: Any = None, *, as_: str = "pm") -> dict[str, Any]:
    variables = {"input": {"projectId": project, "body": body, "content": content}}
    payload: dict[str, Any] = (await api.data(SAVE, variables, as_=as_))["saveGuidelineDraft"]
    return payload


async def publish(api: Api, project: str, changelog: str, *, as_: str = "pm") -> dict[str, Any]:
    variables = {"input": {"projectId": project, "changelog": changelog}}
    payload: dict[str, Any] = (await api.data(PUBLISH, variables, as_=as_))["publishGuideline"]
    return payload


async def test_a_draft_is_checked_against_the_schema_and_reports_what_the_tree_never_reaches(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)

    saved = await save(api, project, "# Reviews\nRead the whole text.", content(item))

    assert saved["errors"] == []
    draft = saved["guideline"]
    assert (draft["version"], draft["status"]) == (2, "DRAFT")
    assert draft["definitions"] == [
        {"field": "sentiment", "className": "pos", "definition": "The author would buy it again."},
        {"field": "topics", "className": "price", "definition": "Cost, discounts, value for money."},
    ]
    assert draft["examples"][1] == {
        "field": "sentiment",
        "className": "pos",
        "polarity": "NEGATIVE",
        "text": None,
        "itemId": item,
    }
    assert draft["decisionTree"]["nodes"][0]["answers"][0] == {
        "answer": "no",
        "next": None,
        "field": "sentiment",
        "className": "neu",
    }
    # The tree decides sentiment but no answer leads to "neg".
    assert draft["unreachableClasses"] == [{"field": "sentiment", "className": "neg"}]
    # Saving again replaces the draft's text; it is still version 2.
    again = await save(api, project, "# Reviews, revised", content(item))
    assert (again["guideline"]["version"], again["guideline"]["body"]) == (2, "# Reviews, revised")


async def test_bad_content_is_refused_with_typed_errors_and_nothing_is_saved(api: Api) -> None:
    project = project_a(api)
    await first_item(api, project)
    other = str(global_id("Item", api.world.project_b))  # an id of this API, but not an item here
    cyclic = {
        "root": "a",
        "nodes": [
            {"id": "a", "question": "A?", "answers": [{"answer": "yes", "next": "b"}]},
            {
                "id": "b",
                "question": "B?",
                "answers": [{"answer": "yes", "next": "a"}, {"answer": "no", "class": "bad"}],
            },
        ],
    }
    bad = {
        "decisionTree": cyclic,
        "examples": [{"class": "pos", "polarity": "POSITIVE", "itemId": other}],
    }
    before = await database_state(api)

    saved = await save(api, project, "# x", bad)

    assert saved["guideline"] is None
    found = {(e["code"], e["field"]) for e in saved["errors"]}
    assert ("UNKNOWN_CLASS", "content.decisionTree.nodes.1.answers.1.class") in found
    assert any(code == "TREE_CYCLE" for code, _ in found)
    assert ("UNKNOWN_ITEM", "content.examples.0.itemId") in found
    assert await database_state(api) == before


async def test_publishing_needs_a_changelog_then_puts_the_draft_in_force(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)
    assert (await publish(api, project, "Nothing to publish yet."))["errors"][0]["code"] == "NO_DRAFT"
    await save(api, project, "# Reviews v2", content(item))

    refused = await publish(api, project, "   ")
    assert refused["errors"] == [
        {"code": "REQUIRED", "field": "changelog", "message": "Say what changed: a changelog entry is required."}
    ]

    published = await publish(api, project, "Definitions, examples and a decision tree.")
    assert published == {
        "guideline": {
            "version": 2,
            "status": "PUBLISHED",
            "changelog": "Definitions, examples and a decision tree.",
            "publishedBy": {"username": "pm"},
        },
        "errors": [],
    }
    query = """
    query($id: ID!) {
      project(id: $id) {
        guideline { version body }
        guidelineVersions { nodes { version changelog } }
        guidelineDraft { version }
      }
    }
    """
    shown = (await api.data(query, {"id": project}, as_="pm"))["project"]
    assert shown["guideline"] == {"version": 2, "body": "# Reviews v2"}
    assert shown["guidelineVersions"]["nodes"] == [
        {"version": 2, "changelog": "Definitions, examples and a decision tree."},
        {"version": 1, "changelog": "First version."},
    ]
    assert shown["guidelineDraft"] is None
    events = await audit_actions(api)
    assert events.count("guideline.draft") == 1
    assert events.count("guideline.publish") == 1


async def audit_actions(api: Api) -> list[str]:
    query = "query { auditEvents(first: 100) { nodes { action } } }"
    return [n["action"] for n in (await api.data(query, as_="admin"))["auditEvents"]["nodes"]]


async def test_a_new_version_gates_claims_until_acknowledged(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)
    assert (await api.data(CLAIM, {"projectId": project}, as_="ann1"))["claimNextTask"]["errors"] == []
    await save(api, project, "# Reviews v2", content(item))
    await publish(api, project, "A decision tree.")

    gated = (await api.data(CLAIM, {"projectId": project}, as_="ann2"))["claimNextTask"]
    assert gated == {
        "assignment": None,
        "errors": [
            {
                "code": "GUIDELINE_NOT_ACKNOWLEDGED",
                "field": "projectId",
                "message": "Guideline version 2 is in force: read it and acknowledge it (acknowledgeGuideline) "
                "before claiming work.",
            }
        ],
    }
    old = {"input": {"projectId": project, "version": 1}}
    stale = (await api.data(ACKNOWLEDGE_GUIDELINE, old, as_="ann2"))["acknowledgeGuideline"]
    assert [e["code"] for e in stale["errors"]] == ["NOT_IN_FORCE"]

    await acknowledge(api, project, 2, as_="ann2")
    await acknowledge(api, project, 2, as_="ann2")  # twice is once
    assert (await api.data(CLAIM, {"projectId": project}, as_="ann2"))["claimNextTask"]["errors"] == []
    # ann1's task claimed under version 1 is resumable only after acknowledging too.
    resumed = (await api.data(CLAIM, {"projectId": project}, as_="ann1"))["claimNextTask"]
    assert [e["code"] for e in resumed["errors"]] == ["GUIDELINE_NOT_ACKNOWLEDGED"]

    query = """
    query($id: ID!) {
      project(id: $id) {
        guideline { acknowledgedByViewer acknowledgements { nodes { version user { username } } } }
      }
    }
    """
    shown = (await api.data(query, {"id": project}, as_="pm"))["project"]["guideline"]
    assert shown == {
        "acknowledgedByViewer": False,
        "acknowledgements": {"nodes": [{"version": 2, "user": {"username": "ann2"}}]},
    }
    mine = await api.data(
        "query($id: ID!) { project(id: $id) { guideline { acknowledgedByViewer } } }", {"id": project}, as_="ann2"
    )
    assert mine["project"]["guideline"]["acknowledgedByViewer"] is True
    assert (await audit_actions(api)).count("guideline.acknowledge") == 1


async def test_labels_record_the_guideline_version_in_force(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)
    await save(api, project, "# v2", content(item))
    await publish(api, project, "v2")
    await acknowledge(api, project, 2, as_="ann1")
    task = (await api.data(CLAIM, {"projectId": project}, as_="ann1"))["claimNextTask"]["assignment"]
    submit = """
    mutation($id: ID!) {
      submitLabel(input: {assignmentId: $id, value: {sentiment: "pos"}}) { label { guidelineVersion } errors { code } }
    }
    """
    assert (await api.data(submit, {"id": task["id"]}, as_="ann1"))["submitLabel"] == {
        "label": {"guidelineVersion": 2},
        "errors": [],
    }


async def test_guideline_diff_shows_the_body_and_the_structured_changes(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)
    await save(api, project, "# A\nRead it all.", content(item))
    query = """
    query($id: ID!, $to: Int!) {
      project(id: $id) {
        guidelineDiff(from: 1, to: $to) { body bodyAdded bodyRemoved changes { section kind key before after } }
      }
    }
    """

    found = (await api.data(query, {"id": project, "to": 2}, as_="pm"))["project"]["guidelineDiff"]

    assert (found["bodyAdded"], found["bodyRemoved"]) == (1, 0)
    assert "+Read it all." in found["body"]
    assert {(c["section"], c["kind"], c["key"]) for c in found["changes"]} >= {
        ("definition", "ADDED", "sentiment.pos"),
        ("definition", "ADDED", "topics.price"),
        ("decisionTree", "ADDED", "opinion"),
        ("edgeCase", "ADDED", "Sarcasm"),
    }
    # The draft is the writers' business: for an annotator version 2 does not exist yet.
    hidden = await api.gql(query, {"id": project, "to": 2}, as_="ann1")
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_publishing_checks_the_draft_again_against_the_schema_in_force(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)
    await save(api, project, "# v2", content(item))
    # Meanwhile the schema renames "neu", which the draft's tree names.
    propose = """
    mutation($input: ProposeSchemaChangeInput!) {
      proposeSchemaChange(input: $input) { request { id } errors { code } }
    }
    """
    fields = [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neutral"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"], "required": False},
    ]
    proposal = {
        "projectId": project,
        "definition": {"fields": fields},
        "rationale": "Spell it out.",
        "classMapping": {"sentiment": {"neu": "neutral"}},
    }
    request = (await api.data(propose, {"input": proposal}, as_="pm"))["proposeSchemaChange"]["request"]["id"]
    approve = "mutation($id: ID!) { approveSchemaChange(input: {requestId: $id}) { errors { code } } }"
    assert (await api.data(approve, {"id": request}, as_="admin"))["approveSchemaChange"]["errors"] == []

    query = "query($id: ID!) { project(id: $id) { guidelineDraft { schemaProblems { code field } } } }"
    shown = (await api.data(query, {"id": project}, as_="pm"))["project"]["guidelineDraft"]
    assert shown["schemaProblems"] == [
        {"code": "UNKNOWN_CLASS", "field": "content.decisionTree.nodes.0.answers.0.class"}
    ]
    refused = await publish(api, project, "v2")

    assert (refused["errors"][0]["code"], refused["errors"][0]["field"]) == (
        "UNKNOWN_CLASS",
        "content.decisionTree.nodes.0.answers.0.class",
    )


async def test_the_markdown_download_renders_definitions_examples_and_the_tree(api: Api) -> None:
    project = project_a(api)
    item = await first_item(api, project)
    await save(api, project, "# Reviews\nRead the whole text.", content(item))
    await publish(api, project, "A decision tree.")

    response = await get(api, f"/guidelines/{project}/2.md", as_="ann1")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="Project-A-guideline-v2.md"'
    document = response.text
    assert document.startswith("# Project A — annotation guideline v2\n")
    assert "A decision tree." in document
    assert "- **pos**: The author would buy it again." in document
    assert f"item {item}" in document
    assert (
        "- **Does the text take a side?**\n"
        "  - no → sentiment: neu\n"
        "  - yes\n"
        "    - **Mostly favourable?**\n"
        "      - yes → sentiment: pos\n"
    ) in document


async def test_the_markdown_download_refuses_what_the_caller_may_not_read(api: Api) -> None:
    project = project_a(api)
    await save(api, project, "# draft")

    assert (await get(api, f"/guidelines/{project}/2.md", as_="pm")).status_code == 200
    assert (await get(api, f"/guidelines/{project}/2.md", as_="ann1")).status_code == 404  # a draft
    assert (await get(api, f"/guidelines/{project}/9.md", as_="pm")).status_code == 404
    assert (await get(api, f"/guidelines/{project}/1.md", as_="outsider")).status_code == 404  # no role there
    assert (await get(api, f"/guidelines/{project}/1.md", as_=None)).status_code == 401
    assert (await get(api, "/guidelines/not-a-project/1.md", as_="pm")).status_code == 404


async def get(api: Api, path: str, *, as_: str | None) -> Any:
    headers = {"Authorization": f"Bearer {api.token(as_)}"} if as_ else {}
    return await api.client.get(path, headers=headers)
