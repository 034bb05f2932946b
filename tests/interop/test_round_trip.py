"""Both ways with Label Studio: a project exported in Label Studio's format (its task list and its
labeling config) and imported again as a new project, the way a team that left for Label Studio
comes back. The config maps back to the schema it came from, every task to an item with the same
data, every annotation to a label with the same value by the same person."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Api
from tests.exports.support import download, exported, text_program
from tests.interop.test_label_studio import IMPORT, MAPPING
from tests.workflow.flow import claimed, create_project, grant, imported, review, submit

ITEMS = """
query Items($id: ID!) {
  project(id: $id) {
    labelSchema { definition }
    items(first: 50) { edges { node { externalId data labels { value importedFrom author { username } } } } }
  }
}
"""


def _fields(schema: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {f["name"]: (f["kind"], f.get("classes", [])) for f in schema["fields"]}


async def _project(api: Api, project: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The project's schema in force, and its items by external id."""
    data = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]
    definition = data["labelSchema"]["definition"]
    schema = json.loads(definition) if isinstance(definition, str) else definition
    return schema, {edge["node"]["externalId"]: edge["node"] for edge in data["items"]["edges"]}


async def test_a_label_studio_export_imports_back_with_its_schema_data_and_annotators(api: Api) -> None:
    source = await text_program(api)
    source_schema, before = await _project(api, source)
    response = await exported(api, source, "label-studio")
    tasks = response.json()
    config = (await download(api, response.headers["Labelgraph-Label-Config"])).text

    # The config maps back to the fields and classes it was generated from, with nothing dropped.
    mapping = (await api.data(MAPPING, {"config": config}, as_="pm"))["labelStudioConfigMapping"]
    assert mapping["problems"] == []
    assert _fields(mapping["labelSchema"]) == _fields(source_schema)

    # The annotators come back by the names the export gave each number; the decider (the
    # reviewer, whose ground-truth annotation the export carries) labels in the new project.
    target = await create_project(api, "Back from Label Studio", overlap=1, schema=mapping["labelSchema"])
    await grant(api, "reviewer", "ANNOTATOR", target)
    names = {int(n): u for task in tasks for n, u in task["meta"]["labelgraph"]["annotators"].items()}
    annotators = [{"labelStudioId": n, "username": u} for n, u in sorted(names.items())]
    payload = (
        await api.data(
            IMPORT,
            {"input": {"projectId": target, "tasks": tasks, "labelConfig": config, "annotators": annotators}},
            as_="pm",
        )
    )["importLabelStudio"]
    assert payload["errors"] == []
    assert payload["importedCount"] == len(tasks) == 2  # the never-labeled item is not in an export

    _, after = await _project(api, target)
    by_external = {task["meta"]["labelgraph"]["external_id"]: str(task["id"]) for task in tasks}
    for external_id, task_id in by_external.items():
        item = after[task_id]
        assert item["data"] == before[external_id]["data"]
        imported = sorted((lb["author"]["username"], lb["value"]) for lb in item["labels"])
        original = {(lb["author"]["username"], _json(lb["value"])) for lb in before[external_id]["labels"]}
        # Every label of the source is back, by its author, with its value.
        assert original <= {(who, _json(value)) for who, value in imported}, (external_id, imported)
        assert {lb["importedFrom"] for lb in item["labels"]} == {"label-studio"}
    # The decision in force came over as the decider's annotation: the corrected item's value.
    corrected = after[by_external["item-1"]]
    assert {"sentiment": "neu"} in [lb["value"] for lb in corrected["labels"] if lb["author"]["username"] == "reviewer"]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


SPANS_SCHEMA = {"fields": [{"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]}]}
EMOJI_TEXT = "😀 Ada met 🐍 Babbage"  # two characters Label Studio counts twice (UTF-16)


async def test_spans_after_an_emoji_keep_their_text_both_ways(api: Api) -> None:
    source = await create_project(api, "Spans", overlap=1, schema=SPANS_SCHEMA)
    await imported(api, source, [{"externalId": "e-0", "data": {"text": EMOJI_TEXT}}])
    ada, babbage = EMOJI_TEXT.index("Ada"), EMOJI_TEXT.index("Babbage")
    value = {
        "entities": [
            {"start": ada, "end": ada + 3, "label": "PER"},
            {"start": babbage, "end": babbage + 7, "label": "PER"},
        ]
    }
    assignment = await claimed(api, source, as_="ann1")
    label = (await submit(api, assignment["id"], value, as_="ann1"))["label"]
    assert (await review(api, label["id"], "ACCEPT"))["errors"] == []

    response = await exported(api, source, "label-studio")
    [task] = response.json()
    config = (await download(api, response.headers["Labelgraph-Label-Config"])).text
    regions = [r["value"] for r in task["annotations"][0]["result"]]
    # Label Studio's offsets: JavaScript's, one more after the first emoji, two more after the second.
    assert [(r["start"], r["end"], r["text"]) for r in regions] == [
        (ada + 1, ada + 4, "Ada"),
        (babbage + 2, babbage + 9, "Babbage"),
    ]

    target = await create_project(api, "Spans again", overlap=1, schema=SPANS_SCHEMA)
    names = task["meta"]["labelgraph"]["annotators"]
    await grant(api, "reviewer", "ANNOTATOR", target)
    payload = (
        await api.data(
            IMPORT,
            {
                "input": {
                    "projectId": target,
                    "tasks": [task],
                    "labelConfig": config,
                    "annotators": [{"labelStudioId": int(n), "username": u} for n, u in names.items()],
                }
            },
            as_="pm",
        )
    )["importLabelStudio"]
    assert payload["errors"] == []
    _, items = await _project(api, target)
    assert {lb["author"]["username"]: lb["value"] for lb in items[str(task["id"])]["labels"]}["ann1"] == value
