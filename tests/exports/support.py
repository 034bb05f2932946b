"""Exports as their clients fetch them: a text-classification program on project A and a program
with spans and boxes, labeled and reviewed through the API, downloaded in every format."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api
from tests.workflow.flow import POSITIVE, claimed, create_project, imported, labeled, project_a, review, rows, submit

FORMATS = ("jsonl", "csv", "parquet", "hf", "label-studio", "coco", "conll", "spacy")

KINDS_SCHEMA = {
    "fields": [
        {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]},
        {"name": "objects", "kind": "boxes", "labels": ["logo", "car"]},
        {"name": "faces", "kind": "boxes", "labels": ["face"]},
        {"name": "quality", "kind": "rating", "min": 1, "max": 5},
    ]
}
SIZE = {"width": 200, "height": 100}
NOTES = [
    {"externalId": "note-0", "data": {"text": "Ada Lovelace met Babbage", "image": "img/0.png"}, "metadata": SIZE},
    # A span below cuts both words of this text ("ace Ho"): it is snapped out to "Grace Hopper".
    {"externalId": "note-1", "data": {"text": "Grace Hopper wrote code", "image": "img/1.png"}, "metadata": SIZE},
]
NOTE_VALUES = {
    "note-0": {
        "entities": [{"start": 0, "end": 12, "label": "PER"}, {"start": 17, "end": 24, "label": "ORG"}],
        "objects": [{"x": 10, "y": 20, "width": 50, "height": 40, "label": "logo"}],
        "faces": [{"x": 0, "y": 0, "width": 20, "height": 20, "label": "face"}],
        "quality": 4,
    },
    "note-1": {
        "entities": [{"start": 2, "end": 8, "label": "PER"}],
        "objects": [
            {"x": 0, "y": 0, "width": 200, "height": 100, "label": "car"},
            {"x": 100, "y": 50, "width": 10, "height": 5, "label": "logo"},
        ],
    },
}


async def download(api: Api, path: str, *, as_: str = "pm", **params: str) -> httpx.Response:
    return await api.client.get(path, params=params, headers={"Authorization": f"Bearer {api.token(as_)}"})


async def exported(api: Api, project: str, fmt: str, *, as_: str = "pm", **params: str) -> httpx.Response:
    response = await download(api, f"/export/{project}/{fmt}", as_=as_, **params)
    assert response.status_code == 200, response.text
    return response


async def text_program(api: Api) -> str:
    """Project A: item-0 labeled POSITIVE by ann1 and accepted, item-1 corrected to neutral by the
    reviewer, item-2 never labeled. Returns the project's id."""
    project = project_a(api)
    await imported(api, project, rows(3))
    accepted = await labeled(api, project, POSITIVE, as_="ann1")
    corrected = await labeled(api, project, {"sentiment": "neg"}, as_="ann2")
    assert (await review(api, accepted["id"], "ACCEPT"))["errors"] == []
    payload = await review(api, corrected["id"], "CORRECT", corrected_value={"sentiment": "neu"}, comment="flat")
    assert payload["errors"] == []
    return project


async def kinds_program(api: Api) -> str:
    """A project with spans, two boxes fields and a rating; both notes labeled by ann1 and accepted."""
    project = await create_project(api, "Notes", overlap=1, schema=KINDS_SCHEMA)
    await imported(api, project, NOTES)
    for _ in NOTES:
        assignment = await claimed(api, project, as_="ann1")
        value = NOTE_VALUES[assignment["item"]["externalId"]]
        payload = await submit(api, assignment["id"], value, as_="ann1")
        assert payload["errors"] == [], payload
        assert (await review(api, payload["label"]["id"], "ACCEPT"))["errors"] == []
    return project


def by(rows: list[dict[str, Any]], key: str = "external_id") -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}
