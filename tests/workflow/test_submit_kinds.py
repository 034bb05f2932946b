"""Structured label kinds end to end: a project whose schema has a spans field over the item's
text and a boxes field over its image, labeled through submitLabel and corrected through
reviewLabel.

Covers that offsets and boxes are judged against the very item of the assignment (its data and
metadata), that a bad span or box is a typed error with nothing saved, and that a reviewer's
correction is judged against the same item.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.workflow.flow import (
    CREATE_PROJECT,
    acknowledge,
    claimed,
    codes,
    grant,
    imported,
    item_counts,
    review,
    submit,
)

SCHEMA = {
    "fields": [
        {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"], "required": True},
        {"name": "objects", "kind": "boxes", "labels": ["logo"]},
    ],
    "rules": [{"kind": "requires", "if": {"field": "entities", "class": "ORG"}, "then": {"field": "objects"}}],
}
TEXT = "Ada Lovelace met Babbage"
ITEM = {"externalId": "note-1", "data": {"text": TEXT}, "metadata": {"width": 200, "height": 100}}


async def spans_project(api: Api) -> str:
    """A project with the spans schema and one item, overlap 1: pm imports, ann1 labels, reviewer reviews."""
    project_input = {"name": "Entities", "labelSchema": SCHEMA, "overlap": 1, "guideline": "# Entities"}
    data = await api.data(CREATE_PROJECT, {"input": project_input}, as_="admin")
    payload = data["createProject"]
    assert payload["errors"] == [], payload
    project: str = payload["project"]["id"]
    await grant(api, "pm", "PROJECT_MANAGER", project)
    await grant(api, "ann1", "ANNOTATOR", project)
    await acknowledge(api, project, 1, as_="ann1")
    await grant(api, "reviewer", "REVIEWER", project)
    await imported(api, project, [ITEM])
    return project


def span(start: int, end: int, label: str = "PER") -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


async def test_spans_and_boxes_are_judged_against_the_assigned_item(api: Api) -> None:
    project = await spans_project(api)
    assignment = await claimed(api, project, as_="ann1")

    # The text has 24 characters and the image is 200x100: both entries fall outside.
    invalid = {
        "entities": [span(0, 3), span(17, 25)],
        "objects": [{"x": 150, "y": 0, "width": 60, "height": 10, "label": "logo"}],
    }
    rejected = await submit(api, assignment["id"], invalid, as_="ann1")
    assert rejected["label"] is None
    assert codes(rejected) == [("OUT_OF_RANGE", "value.entities.1"), ("OUT_OF_RANGE", "value.objects.0")]
    # Nothing was saved: the item still waits for its label.
    assert await item_counts(api, project) == {"queued": 1, "inReview": 0, "final": 0, "total": 1}

    valid = {"entities": [span(0, 12), span(17, 24)]}
    accepted = await submit(api, assignment["id"], valid, as_="ann1")
    assert accepted["errors"] == []
    assert accepted["label"]["value"] == valid
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}


async def test_overlapping_spans_and_cross_field_rules_are_typed_errors(api: Api) -> None:
    project = await spans_project(api)
    assignment = await claimed(api, project, as_="ann1")

    payload = await submit(api, assignment["id"], {"entities": [span(0, 12), span(4, 8, "ORG")]}, as_="ann1")

    assert codes(payload) == [("OVERLAP", "value.entities.1"), ("RULE_REQUIRES", "value.objects")]


async def test_a_reviewers_correction_is_judged_against_the_same_item(api: Api) -> None:
    project = await spans_project(api)
    assignment = await claimed(api, project, as_="ann1")
    label = (await submit(api, assignment["id"], {"entities": [span(0, 3)]}, as_="ann1"))["label"]

    too_long = await review(api, label["id"], "CORRECT", corrected_value={"entities": [span(0, 30)]})
    assert codes(too_long) == [("OUT_OF_RANGE", "correctedValue.entities.0")]

    corrected = {
        "entities": [span(0, 12), span(17, 24, "ORG")],
        "objects": [{"x": 0, "y": 0, "width": 200, "height": 100, "label": "logo"}],
    }
    payload = await review(api, label["id"], "CORRECT", corrected_value=corrected)
    assert payload["errors"] == []
    assert payload["finalLabel"]["value"] == corrected
    assert payload["finalLabel"]["method"] == "CORRECTED"
