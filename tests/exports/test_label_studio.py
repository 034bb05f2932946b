"""The Label Studio export: a task list Label Studio imports as it is, and the labeling config
(its own download) that every task's data, control and object names fit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import Api
from tests.exports.support import NOTE_VALUES, download, exported, kinds_program, text_program

OBJECT_TAGS = {"Text", "Image"}


def config_of(xml: str) -> tuple[dict[str, ET.Element], dict[str, str]]:
    """The config's controls by name, and its objects: name -> the task data key they show."""
    root = ET.fromstring(xml)  # noqa: S314  (our own output)
    assert root.tag == "View"
    controls = {el.attrib["name"]: el for el in root if el.tag not in OBJECT_TAGS}
    objects = {el.attrib["name"]: el.attrib["value"].removeprefix("$") for el in root if el.tag in OBJECT_TAGS}
    return controls, objects


def assert_loadable(tasks: list[dict[str, Any]], xml: str) -> None:
    """What Label Studio checks on import: every object's $key in each task's data, every result
    naming a control of the config and the object it points at, choices among the control's."""
    controls, objects = config_of(xml)
    for task in tasks:
        assert isinstance(task["id"], int)
        assert set(objects.values()) <= set(task["data"]), task["data"]
        for annotation in task["annotations"]:
            for region in annotation["result"]:
                control = controls[region["from_name"]]
                assert region["to_name"] == control.attrib["toName"]
                assert region["to_name"] in objects
                if region["type"] == "choices":
                    allowed = {c.attrib["value"] for c in control}
                    assert set(region["value"]["choices"]) <= allowed


async def config(api: Api, response: Any) -> str:
    path = response.headers["Labelgraph-Label-Config"]
    got = await download(api, path)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/xml")
    return got.text


async def test_a_text_project_exports_tasks_with_its_choices_config(api: Api) -> None:
    project = await text_program(api)

    response = await exported(api, project, "label-studio")

    assert response.headers["content-disposition"] == 'attachment; filename="Project-A-label-studio.json"'
    tasks = response.json()
    xml = await config(api, response)
    controls, objects = config_of(xml)
    assert objects == {"text": "text"}
    assert controls["sentiment"].tag == "Choices"
    assert controls["sentiment"].attrib["choice"] == "single"
    assert controls["topics"].attrib["choice"] == "multiple"
    assert [c.attrib["value"] for c in controls["sentiment"]] == ["pos", "neg", "neu"]
    assert_loadable(tasks, xml)
    by_name = {t["meta"]["labelgraph"]["external_id"]: t for t in tasks}
    assert sorted(by_name) == ["item-0", "item-1"]
    accepted = by_name["item-0"]
    final, label = accepted["annotations"]
    assert final["ground_truth"] is True
    assert {r["from_name"]: r["value"]["choices"] for r in final["result"]} == {
        "sentiment": ["pos"],
        "topics": ["price"],
    }
    # The annotator's own label, numbered; the task's meta says who the number is.
    assert label["ground_truth"] is False
    assert accepted["meta"]["labelgraph"]["annotators"][str(label["completed_by"])] == "ann1"
    assert accepted["meta"]["labelgraph"]["annotators"][str(final["completed_by"])] == "reviewer"
    corrected_final = by_name["item-1"]["annotations"][0]
    assert [r["value"]["choices"] for r in corrected_final["result"]] == [["neu"]]
    assert by_name["item-1"]["predictions"] == []


async def test_an_ml_service_gets_the_decisions_without_people(api: Api) -> None:
    project = await text_program(api)

    tasks = (await exported(api, project, "label-studio", as_="mlbot")).json()

    for task in tasks:
        [final] = task["annotations"]  # no individual label
        assert "completed_by" not in final
        assert "annotators" not in task["meta"]["labelgraph"]


async def test_spans_and_boxes_become_labels_and_percent_rectangles(api: Api) -> None:
    project = await kinds_program(api)

    response = await exported(api, project, "label-studio")

    tasks = {t["meta"]["labelgraph"]["external_id"]: t for t in response.json()}
    xml = await config(api, response)
    controls, objects = config_of(xml)
    assert objects == {"text": "text", "image": "image"}
    assert (controls["entities"].tag, controls["entities"].attrib["toName"]) == ("Labels", "text")
    assert (controls["objects"].tag, controls["objects"].attrib["toName"]) == ("RectangleLabels", "image")
    assert (controls["quality"].tag, controls["quality"].attrib["maxRating"]) == ("Rating", "5")
    assert_loadable(list(tasks.values()), xml)
    note = tasks["note-0"]
    assert note["data"]["image"] == "img/0.png"
    regions = note["annotations"][0]["result"]
    spans = [r["value"] for r in regions if r["type"] == "labels"]
    assert spans == [
        {"start": 0, "end": 12, "labels": ["PER"], "text": "Ada Lovelace"},
        {"start": 17, "end": 24, "labels": ["ORG"], "text": "Babbage"},
    ]
    [logo] = [r for r in regions if r["from_name"] == "objects"]
    assert (logo["original_width"], logo["original_height"]) == (200, 100)
    box = NOTE_VALUES["note-0"]["objects"][0]
    assert logo["value"] == {
        "x": pytest.approx(100 * box["x"] / 200),
        "y": pytest.approx(100 * box["y"] / 100),
        "width": pytest.approx(100 * box["width"] / 200),
        "height": pytest.approx(100 * box["height"] / 100),
        "rotation": 0,
        "rectanglelabels": ["logo"],
    }
    assert [r["value"] for r in regions if r["type"] == "rating"] == [{"rating": 4}]
