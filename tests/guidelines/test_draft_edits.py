"""saveGuidelineDraft edits: a new draft starts as a copy of the version in force, and every part
left out of a save keeps its value, so a UI can change one part without resending the rest."""

from __future__ import annotations

from typing import Any

from tests.conftest import SCHEMA, Api, gid
from tests.guidelines.test_guideline_flow import TREE, publish
from tests.security import database_state

SAVE = """
mutation Save($input: SaveGuidelineDraftInput!) {
  saveGuidelineDraft(input: $input) {
    guideline {
      version status body content
      definitions { field className definition }
      decisionTree { root nodes { id } }
    }
    errors { code field message }
  }
}
"""
VERSION = """
query($id: ID!, $v: Int!) {
  project(id: $id) {
    guideline { version }
    guidelineVersion(version: $v) { version status body content definitions { className } decisionTree { root } }
  }
}
"""
CREATE = """
mutation($input: CreateProjectInput!) {
  createProject(input: $input) { project { id } errors { code field message } }
}
"""
V1_CONTENT = {
    "definitions": [
        {"class": "pos", "definition": "The author would buy it again."},
        {"class": "neg", "definition": "The author is let down."},
    ],
    "examples": [{"class": "neu", "polarity": "POSITIVE", "text": "It is a kettle."}],
    "edgeCases": [{"title": "Sarcasm", "description": "Label what is meant.", "class": "neg"}],
    "decisionTree": TREE,
}
# What V1_CONTENT is stored as: every class reference names its field.
V1_STORED = {
    "definitions": [
        {"field": "sentiment", "class": "pos", "definition": "The author would buy it again."},
        {"field": "sentiment", "class": "neg", "definition": "The author is let down."},
    ],
    "examples": [{"field": "sentiment", "class": "neu", "polarity": "POSITIVE", "text": "It is a kettle."}],
    "edgeCases": [{"title": "Sarcasm", "description": "Label what is meant.", "field": "sentiment", "class": "neg"}],
    "decisionTree": {
        "root": "opinion",
        "nodes": [
            {
                "id": "opinion",
                "question": "Does the text take a side?",
                "answers": [
                    {"answer": "no", "field": "sentiment", "class": "neu"},
                    {"answer": "yes", "next": "side"},
                ],
            },
            {
                "id": "side",
                "question": "Mostly favourable?",
                "answers": [{"answer": "yes", "field": "sentiment", "class": "pos"}],
            },
        ],
    },
}


async def new_project(api: Api) -> str:
    """A project whose version 1 has a body and all four content sections."""
    variables = {
        "input": {"name": "Edits", "labelSchema": SCHEMA, "guideline": "# Reviews v1", "guidelineContent": V1_CONTENT}
    }
    created = (await api.data(CREATE, variables, as_="admin"))["createProject"]
    assert created["errors"] == []
    project: str = created["project"]["id"]
    return project


async def save(api: Api, project: str, **parts: Any) -> dict[str, Any]:
    """saveGuidelineDraft with only the input fields named (the rest left out of the input)."""
    variables = {"input": {"projectId": project, **parts}}
    payload: dict[str, Any] = (await api.data(SAVE, variables, as_="admin"))["saveGuidelineDraft"]
    return payload


async def version(api: Api, project: str, number: int) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(VERSION, {"id": project, "v": number}, as_="admin"))["project"]
    return found


async def test_a_draft_saved_with_only_a_new_body_keeps_the_content_in_force_through_publishing(api: Api) -> None:
    project = await new_project(api)

    saved = await save(api, project, body="# Reviews v2\nRead the whole text.")

    assert saved["errors"] == []
    draft = saved["guideline"]
    assert (draft["version"], draft["status"], draft["body"]) == (2, "DRAFT", "# Reviews v2\nRead the whole text.")
    assert draft["content"] == V1_STORED
    assert [d["className"] for d in draft["definitions"]] == ["pos", "neg"]
    assert draft["decisionTree"]["root"] == "opinion"
    assert (await publish(api, project, "Read the whole text.", as_="admin"))["errors"] == []
    shown = await version(api, project, 2)
    assert shown["guideline"] == {"version": 2}
    assert shown["guidelineVersion"]["status"] == "PUBLISHED"
    assert shown["guidelineVersion"]["content"] == V1_STORED
    assert shown["guidelineVersion"]["decisionTree"] == {"root": "opinion"}


async def test_a_draft_saved_with_nothing_but_the_project_is_a_copy_of_the_version_in_force(api: Api) -> None:
    project = await new_project(api)

    draft = (await save(api, project))["guideline"]

    assert (draft["version"], draft["body"], draft["content"]) == (2, "# Reviews v1", V1_STORED)


async def test_content_is_edited_section_by_section(api: Api) -> None:
    project = await new_project(api)
    tree = {"root": "q", "nodes": [{"id": "q", "question": "Unhappy?", "answers": [{"answer": "yes", "class": "neg"}]}]}

    # Only the tree is sent: body, definitions, examples and edge cases stay as in version 1.
    draft = (await save(api, project, content={"decisionTree": tree}))["guideline"]
    assert draft["body"] == "# Reviews v1"
    assert draft["content"]["decisionTree"]["root"] == "q"
    assert {k: v for k, v in draft["content"].items() if k != "decisionTree"} == {
        k: v for k, v in V1_STORED.items() if k != "decisionTree"
    }

    # A section sent as null is cleared; the edits to the draft so far are kept (the draft is the base now).
    draft = (await save(api, project, content={"examples": None}))["guideline"]
    assert set(draft["content"]) == {"definitions", "edgeCases", "decisionTree"}
    assert draft["content"]["decisionTree"]["root"] == "q"

    # A body-only save edits the draft being written, not the version in force.
    draft = (await save(api, project, body="# v2"))["guideline"]
    assert (draft["version"], draft["body"]) == (2, "# v2")
    assert draft["content"]["decisionTree"]["root"] == "q"
    assert "examples" not in draft["content"]


async def test_start_from_rebuilds_the_draft_from_the_version_in_force_or_from_nothing(api: Api) -> None:
    project = await new_project(api)
    await save(api, project, body="# edited", content={"definitions": None})

    again = (await save(api, project, startFrom="IN_FORCE"))["guideline"]
    assert (again["version"], again["body"], again["content"]) == (2, "# Reviews v1", V1_STORED)

    empty = (await save(api, project, startFrom="EMPTY", body="# Start over"))["guideline"]
    assert (empty["version"], empty["body"], empty["content"]) == (2, "# Start over", {})
    assert empty["definitions"] == []
    assert empty["decisionTree"] is None


async def test_starting_from_a_version_in_force_that_does_not_exist_is_refused_and_writes_nothing(api: Api) -> None:
    project = gid("Project", api.world.project_b)  # created without a guideline
    before = await database_state(api)

    refused = await save(api, project, startFrom="IN_FORCE", body="# B")

    assert refused == {
        "guideline": None,
        "errors": [
            {
                "code": "NOT_IN_FORCE",
                "field": "startFrom",
                "message": "No guideline is in force to start from; start from EMPTY.",
            }
        ],
    }
    assert await database_state(api) == before
    # Left out, startFrom means "what is in force, if anything": here an empty base.
    assert (await save(api, project, body="# B"))["guideline"]["content"] == {}


async def test_the_base_is_checked_with_the_edit_so_an_edit_cannot_store_content_that_does_not_fit(api: Api) -> None:
    project = await new_project(api)
    before = await database_state(api)

    # The tree sent answers with a class the schema lacks; the rest of the base is fine.
    bad_tree = {"root": "q", "nodes": [{"id": "q", "question": "?", "answers": [{"answer": "y", "class": "meh"}]}]}
    refused = await save(api, project, body="# v2", content={"decisionTree": bad_tree})

    assert refused["guideline"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("UNKNOWN_CLASS", "content.decisionTree.nodes.0.answers.0.class")
    ]
    assert await database_state(api) == before
