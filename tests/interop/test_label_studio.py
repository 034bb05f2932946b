"""Importing a Label Studio JSON export, as a team leaving Label Studio does it: see what its config
maps to (the dry run), create the project with that schema, import tasks, annotations and
predictions. The fixtures follow Label Studio's documented JSON export (a list of tasks with
`data`, `meta`, `annotations` with `completed_by`, `result` regions with `from_name`, `to_name`,
`type`, `value`, `original_width`/`original_height`, and `predictions` with `model_version` and
`score`), written by hand."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import update
from sqlmodel import col, func, select

from app.auth.models import User
from app.automation.models import Suggestion
from app.ingestion.models import Item
from app.interop.label_studio import convert
from app.interop.label_studio.config import map_config
from app.interop.label_studio.error_codes import ConfigCode
from app.projects.models import Project
from app.schema.node import parse_global_id
from app.taxonomy import schema_language
from app.workflow.models import Label
from tests.conftest import Api
from tests.lineage.support import LINEAGE
from tests.workflow.flow import audit_events, claim, claimed, create_project, submit

CONFIG = """
<View>
  <Header value="Read the review"/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" required="true">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="price"/><Choice value="quality" alias="qual"/>
  </Choices>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
  <Rating name="stars" toName="text" maxRating="4"/>
  <TextArea name="note-1" toName="text"/>
  <Number name="count" toName="text" min="0" max="10"/>
  <Taxonomy name="tax" toName="text">
    <Choice value="Animal"><Choice value="Dog"/><Choice value="Cat"/></Choice><Choice value="Plant"/>
  </Taxonomy>
  <PolygonLabels name="poly" toName="text"><Label value="x"/></PolygonLabels>
  <Choices name="per_span" toName="text" perRegion="true"><Choice value="sure"/></Choices>
  <View visibleWhen="choice-selected" whenTagName="sentiment" whenChoiceValue="Negative">
    <TextArea name="why" toName="text" required="true"/>
  </View>
  <Relations><Relation value="same"/></Relations>
</View>
"""

IMAGE_CONFIG = """
<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <KeyPointLabels name="kp" toName="image"><Label value="nose"/></KeyPointLabels>
</View>
"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<View><Header value="&lol2;"/></View>"""

MAPPING = """
query M($config: String!) {
  labelStudioConfigMapping(labelConfig: $config) {
    labelSchema
    fields { control tag field kind source }
    problems { code tag name attribute message }
  }
}
"""
IMPORT = """
mutation I($input: ImportLabelStudioInput!) {
  importLabelStudio(input: $input) {
    importedCount labelCount suggestionCount skippedAnnotations droppedResults decidedCount
    dropped { code tag name }
    errors { code field message }
  }
}
"""
ITEMS = """
query Items($id: ID!) {
  project(id: $id) {
    items(first: 50) {
      edges { node {
        id externalId status metadata labelsRequired
        labels { value importedFrom externalId timeSpentMs author { username } }
        finalLabel { value method }
      } }
    }
  }
}
"""


def _choice(name: str, *values: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": list(values)}}


TEXT = "Ann met ACME 😀 in Paris"
# Label Studio's offsets are JavaScript (UTF-16) ones: the emoji counts twice.
EXPORT: list[dict[str, Any]] = [
    {
        "id": 1,
        "data": {"text": TEXT},
        "meta": {"source": "crawl"},
        "annotations": [
            {
                "id": 11,
                "completed_by": 101,
                "lead_time": 12.5,
                "was_cancelled": False,
                "result": [
                    _choice("sentiment", "Positive"),
                    _choice("topics", "price", "qual"),
                    {
                        "from_name": "ner",
                        "to_name": "text",
                        "type": "labels",
                        "value": {"start": 0, "end": 3, "text": "Ann", "labels": ["PER"]},
                    },
                    {
                        "from_name": "ner",
                        "to_name": "text",
                        "type": "labels",
                        "value": {"start": 19, "end": 24, "text": "Paris", "labels": ["ORG"]},
                    },
                    {"from_name": "stars", "to_name": "text", "type": "rating", "value": {"rating": 3}},
                    {"from_name": "note-1", "to_name": "text", "type": "textarea", "value": {"text": ["a", "b"]}},
                    {"from_name": "count", "to_name": "text", "type": "number", "value": {"number": 2}},
                    {
                        "from_name": "tax",
                        "to_name": "text",
                        "type": "taxonomy",
                        "value": {"taxonomy": [["Animal", "Dog"]]},
                    },
                    {
                        "from_name": "poly",
                        "to_name": "text",
                        "type": "polygonlabels",
                        "value": {"points": [[1, 2]], "polygonlabels": ["x"]},
                    },
                    {"type": "relation", "from_id": "a", "to_id": "b", "direction": "right"},
                ],
            },
            {
                "id": 12,
                "completed_by": {"id": 102, "email": "Ann2@Example.org"},
                "result": [_choice("sentiment", "Positive")],
            },
            {"id": 13, "completed_by": 103, "was_cancelled": True, "result": []},
        ],
        "predictions": [
            {"model_version": "v7", "score": 0.75, "result": [_choice("sentiment", "Negative")]},
        ],
    },
    {
        "id": "t-2",
        "data": {"text": "Nothing to see"},
        "annotations": [],
        "predictions": [{"model_version": "v7", "score": 0.4, "result": [_choice("sentiment", "Positive")]}],
    },
]
ANNOTATORS = [{"labelStudioId": 101, "username": "ann1"}, {"labelStudioId": 103, "username": "ann3"}]


def test_each_tag_maps_to_its_kind_and_the_schema_lints_clean() -> None:
    mapping = map_config(CONFIG)
    assert mapping.schema is not None
    assert schema_language.lint(mapping.schema) == []
    kinds = {f["name"]: f["kind"] for f in mapping.schema["fields"]}
    assert kinds == {
        "sentiment": "single_choice",
        "topics": "multi_choice",
        "ner": "spans",
        "stars": "rating",
        "note_1": "text",
        "count": "number",
        "tax": "taxonomy",
        "why": "text",
    }
    fields = {f["name"]: f for f in mapping.schema["fields"]}
    assert fields["sentiment"]["required"] is True
    assert fields["sentiment"]["classes"] == ["Positive", "Negative"]
    assert fields["topics"]["classes"] == ["price", "qual"]  # what results carry: the alias
    assert fields["ner"] == {
        "name": "ner",
        "kind": "spans",
        "labels": ["PER", "ORG"],
        "source": "text",
        "allow_overlap": True,
    }
    assert (fields["stars"]["min"], fields["stars"]["max"]) == (1, 4)
    assert (fields["count"]["min"], fields["count"]["max"]) == (0, 10)
    assert fields["tax"]["tree"][0] == {"name": "Animal", "children": [{"name": "Dog"}, {"name": "Cat"}]}
    assert "required" not in fields["why"]  # its View shows it only under a condition
    found = {(p.code, p.tag, p.name, p.attribute) for p in mapping.problems}
    assert found == {
        (ConfigCode.RENAMED, "TextArea", "note-1", "name"),
        (ConfigCode.UNSUPPORTED_TAG, "PolygonLabels", "poly", None),
        (ConfigCode.PER_REGION, "Choices", "per_span", "perRegion"),
        (ConfigCode.VISIBILITY_DROPPED, "View", None, "visibleWhen"),
        (ConfigCode.UNSUPPORTED_TAG, "Relations", None, None),
    }
    assert mapping.dropped == {"poly": "PolygonLabels", "per_span": "Choices"}


def test_boxes_need_an_image_and_regions_without_a_kind_are_dropped() -> None:
    mapping = map_config(IMAGE_CONFIG)
    assert mapping.schema == {"fields": [{"name": "box", "kind": "boxes", "labels": ["Car", "Person"]}]}
    assert [(p.code, p.tag) for p in mapping.problems] == [(ConfigCode.UNSUPPORTED_TAG, "KeyPointLabels")]
    on_text = map_config(
        '<View><Text name="t" value="$t"/><RectangleLabels name="b" toName="t"><Label value="x"/>'
        "</RectangleLabels></View>"
    )
    assert on_text.schema is None
    assert [(p.code, p.attribute) for p in on_text.problems] == [
        (ConfigCode.UNSUPPORTED_TARGET, "toName"),
        (ConfigCode.NO_FIELDS, None),
    ]


def test_entity_expansion_and_broken_xml_are_refused_unread() -> None:
    assert [p.code for p in map_config(BOMB).problems] == [ConfigCode.UNSAFE_XML]
    external = '<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]><View><Header value="&x;"/></View>'
    assert [p.code for p in map_config(external).problems] == [ConfigCode.UNSAFE_XML]
    assert [p.code for p in map_config("<View><Text").problems] == [ConfigCode.INVALID_CONFIG]
    assert [p.code for p in map_config("<Foo/>").problems] == [ConfigCode.INVALID_CONFIG]
    assert [p.code for p in map_config("x" * 300_000).problems] == [ConfigCode.CONFIG_TOO_LARGE]


async def test_the_dry_run_shows_the_schema_and_what_it_cannot_map(api: Api) -> None:
    found = (await api.data(MAPPING, {"config": CONFIG}, as_="pm"))["labelStudioConfigMapping"]
    assert found["labelSchema"] == map_config(CONFIG).schema
    assert {"control": "note-1", "tag": "TextArea", "field": "note_1", "kind": "text", "source": None} in found[
        "fields"
    ]
    assert {"code": "PER_REGION", "tag": "Choices", "name": "per_span", "attribute": "perRegion"} in [
        {k: p[k] for k in ("code", "tag", "name", "attribute")} for p in found["problems"]
    ]
    bomb = (await api.data(MAPPING, {"config": BOMB}, as_="ann1"))["labelStudioConfigMapping"]
    assert bomb["labelSchema"] is None
    assert [p["code"] for p in bomb["problems"]] == ["UNSAFE_XML"]


async def _project(api: Api, config: str = CONFIG, *, overlap: int = 2) -> str:
    schema = map_config(config).schema
    assert schema is not None
    return await create_project(api, "From Label Studio", overlap=overlap, schema=schema)


async def _set_email(api: Api, username: str, email: str) -> None:
    async with await api.session() as session, session.begin():
        await session.execute(update(User).where(col(User.username) == username).values(email=email))


async def _count(api: Api, table: Any, project: str) -> int:
    _, pk = parse_global_id(project)
    async with await api.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(table.project_id == pk)) or 0)


async def _import(api: Api, project: str, tasks: Any, config: str = CONFIG, *, as_: str = "pm", **extra: Any) -> Any:
    variables = {"input": {"projectId": project, "tasks": tasks, "labelConfig": config, **extra}}
    return (await api.data(IMPORT, variables, as_=as_))["importLabelStudio"]


async def test_tasks_annotations_and_predictions_arrive_as_items_labels_and_suggestions(api: Api) -> None:
    project = await _project(api)
    await _set_email(api, "ann2", "ann2@example.org")
    result = await _import(api, project, EXPORT, annotators=ANNOTATORS, modelName="ls-backend")
    assert result["errors"] == [], result
    assert (result["importedCount"], result["labelCount"], result["suggestionCount"]) == (2, 2, 2)
    assert result["skippedAnnotations"] == 1  # cancelled in Label Studio
    assert result["droppedResults"] == {"poly": 1, "relations": 1}
    assert {(d["code"], d["tag"]) for d in result["dropped"]} >= {("UNSUPPORTED_TAG", "PolygonLabels")}

    items = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["edges"]
    by_id = {e["node"]["externalId"]: e["node"] for e in items}
    first = by_id["1"]
    assert first["metadata"] == {"source": "crawl"}
    labels = sorted(first["labels"], key=lambda label: label["author"]["username"])
    assert [(label["author"]["username"], label["importedFrom"], label["externalId"]) for label in labels] == [
        ("ann1", "label-studio", "11"),
        ("ann2", "label-studio", "12"),  # matched by its email
    ]
    assert labels[0]["timeSpentMs"] == 12_500
    assert labels[0]["value"] == {
        "sentiment": "Positive",
        "topics": ["price", "qual"],
        # Paris starts at UTF-16 offset 19, code point 18 (the emoji is one code point, two units).
        "ner": [{"start": 0, "end": 3, "label": "PER"}, {"start": 18, "end": 23, "label": "ORG"}],
        "stars": 3,
        "note_1": "a\nb",
        "count": 2,
        "tax": ["Animal", "Dog"],
    }
    assert TEXT[18:23] == "Paris"
    # Two labels in on an overlap of 2: the project's decision rule settled the item, as any other.
    assert first["labelsRequired"] == 0
    # (The two disagree on every field but sentiment: not confident enough to decide unreviewed.)
    assert first["status"] == "IN_REVIEW", first
    assert result["decidedCount"] == 0
    # Its provenance says where the labels were made.
    graph = (await api.data(LINEAGE, {"itemId": first["id"]}, as_="pm"))["lineage"]
    made = [e["attributes"].get("importedFrom") for e in graph["entities"] if e["kind"] == "label"]
    assert made == ["label-studio", "label-studio"]
    # The unannotated task waits for its labels in the queue.
    assert by_id["t-2"]["status"] == "QUEUED"
    assert by_id["t-2"]["labels"] == []

    async with await api.session() as session:
        rows = (await session.execute(select(Suggestion.value, Suggestion.confidence))).all()
    assert sorted((r[0]["sentiment"], r[1]) for r in rows) == [("Negative", 0.75), ("Positive", 0.4)]
    events = await audit_events(api, "label_studio.import")
    assert len(events) == 1
    assert [e["action"] for e in await audit_events(api, "item.import")] != []
    assert [e["action"] for e in await audit_events(api, "suggestion.submit")] != []


async def test_rectangles_in_percent_become_boxes_in_pixels_with_the_image_size(api: Api) -> None:
    project = await _project(api, IMAGE_CONFIG, overlap=1)
    region = {
        "from_name": "box",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 800,
        "original_height": 600,
        "image_rotation": 0,
        "value": {"x": 12.5, "y": 50, "width": 87.5, "height": 25, "rotation": 0, "rectanglelabels": ["Car"]},
    }
    kp = {
        "from_name": "kp",
        "to_name": "image",
        "type": "keypointlabels",
        "original_width": 800,
        "original_height": 600,
        "value": {"x": 1, "y": 1, "keypointlabels": ["nose"]},
    }
    tasks = [
        {
            "id": 7,
            "data": {"image": "s3://bucket/a.jpg"},
            "annotations": [{"id": 1, "completed_by": 101, "result": [region, kp]}],
        }
    ]
    result = await _import(api, project, tasks, IMAGE_CONFIG, annotators=ANNOTATORS)
    assert result["errors"] == []
    assert result["labelCount"] == 1
    assert result["droppedResults"] == {"kp": 1}
    node = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["edges"][0]["node"]
    assert node["metadata"] == {"width": 800, "height": 600}
    assert node["labels"][0]["value"] == {
        "box": [{"x": 100.0, "y": 300.0, "width": 700.0, "height": 150.0, "label": "Car"}]
    }


async def test_an_unmapped_annotator_is_a_row_error_and_nothing_is_written(api: Api) -> None:
    project = await _project(api)
    result = await _import(api, project, EXPORT, annotators=[{"labelStudioId": 101, "username": "ann1"}])
    assert result["importedCount"] == 0
    # 102's email is no user's (ann2 has none here); 103's annotation was cancelled: not asked.
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("UNMAPPED_ANNOTATOR", "tasks.0.annotations.1.completed_by")
    ]
    assert await _count(api, Item, project) == 0
    assert await _count(api, Label, project) == 0
    assert await _count(api, Suggestion, project) == 0

    stranger = await _import(api, project, EXPORT, annotators=[*ANNOTATORS, {"labelStudioId": 102, "username": "pm_b"}])
    assert ("ANNOTATOR_CANNOT_LABEL", "tasks.0.annotations.1.completed_by") in [
        (e["code"], e["field"]) for e in stranger["errors"]
    ]
    ghost = await _import(api, project, EXPORT, annotators=[{"labelStudioId": 101, "username": "nobody"}])
    assert ("UNKNOWN_USER", "annotators.0.username") in [(e["code"], e["field"]) for e in ghost["errors"]]


async def test_bad_rows_come_back_together_named_by_row_and_nothing_is_written(api: Api) -> None:
    project = await _project(api)
    await _set_email(api, "ann2", "ann2@example.org")
    tasks = copy.deepcopy(EXPORT)
    first = tasks[0]["annotations"][0]["result"]
    first[0] = _choice("sentiment", "Meh")  # not a class
    first[2]["value"]["text"] = "Bob"  # not the text at 0..3
    tasks[0]["annotations"][1]["result"].append(_choice("nope", "x"))  # no such control
    tasks[1]["predictions"][0]["result"] = [_choice("sentiment", "Positive", "Negative")]
    tasks.append({"id": 1, "data": {"text": "again"}})  # the id of task 0
    tasks.append({"data": {"text": "no id"}})
    result = await _import(api, project, tasks, annotators=ANNOTATORS)
    found = [(e["code"], e["field"]) for e in result["errors"]]
    assert found == [
        ("SPAN_TEXT_MISMATCH", "tasks.0.annotations.0.result.2.value.text"),
        ("UNKNOWN_CONTROL", "tasks.0.annotations.1.result.1.from_name"),
        ("INVALID_RESULT", "tasks.1.predictions.0.result.0.value.choices"),
        ("INVALID_TASK", "tasks.3"),
        ("DUPLICATE_IN_BATCH", "tasks.2.id"),
    ], found
    assert await _count(api, Item, project) == 0
    assert await _count(api, Label, project) == 0

    # A value against the schema: the label-schema language's code and path.
    tasks = copy.deepcopy(EXPORT[:1])
    tasks[0]["annotations"][0]["result"][0] = _choice("sentiment", "Meh")
    result = await _import(api, project, tasks, annotators=ANNOTATORS)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("UNKNOWN_CLASS", "tasks.0.annotations.0.result.sentiment")
    ]


async def test_unsafe_or_foreign_configs_are_refused_at_label_config(api: Api) -> None:
    project = await _project(api)
    bomb = await _import(api, project, EXPORT, BOMB, annotators=ANNOTATORS)
    assert [(e["code"], e["field"]) for e in bomb["errors"]] == [("UNSAFE_XML", "labelConfig")]
    other = await _import(api, project, EXPORT, IMAGE_CONFIG, annotators=ANNOTATORS)
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("SCHEMA_MISMATCH", "labelConfig")]
    assert await _count(api, Item, project) == 0


async def test_only_those_who_import_items_and_labels_may_import(api: Api) -> None:
    project = await _project(api)
    await _set_email(api, "ann2", "ann2@example.org")
    variables = {"input": {"projectId": project, "tasks": EXPORT, "labelConfig": CONFIG, "annotators": ANNOTATORS}}
    for username in ("ann1", "reviewer", "ingest"):
        body = await api.gql(IMPORT, variables, as_=username)
        assert body["data"]["importLabelStudio"] is None, (username, body)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = (await api.data(IMPORT, variables, as_="pm_b"))["importLabelStudio"]
    assert [e["code"] for e in hidden["errors"]] == ["NOT_FOUND"]
    assert await _count(api, Item, project) == 0
    # Tasks without annotations are items only: the ingestion service may bring those.
    bare = [{"id": 5, "data": {"text": "plain"}}]
    assert (await _import(api, project, bare, as_="ingest"))["importedCount"] == 1


SIMPLE = (
    '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" required="true">'
    '<Choice value="pos"/><Choice value="neg"/></Choices></View>'
)


async def test_an_item_short_of_its_overlap_waits_for_someone_else_and_settles_as_usual(api: Api) -> None:
    project = await _project(api, SIMPLE, overlap=2)
    result = [_choice("sentiment", "pos")]
    tasks = [{"id": 1, "data": {"text": "good"}, "annotations": [{"id": 5, "completed_by": 101, "result": result}]}]
    payload = await _import(api, project, tasks, SIMPLE, annotators=ANNOTATORS)
    assert payload["errors"] == []
    assert payload["labelCount"] == 1
    node = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["edges"][0]["node"]
    assert (node["status"], node["labelsRequired"]) == ("QUEUED", 1)
    # Its imported author has labeled it: the queue never hands it to ann1 again.
    assert [e["code"] for e in (await claim(api, project, as_="ann1"))["errors"]] == ["QUEUE_EMPTY"]
    task = await claimed(api, project, as_="ann2")
    assert task["item"]["externalId"] == "1"
    submitted = await submit(api, task["id"], {"sentiment": "pos"}, as_="ann2")
    assert submitted["errors"] == []
    node = (await api.data(ITEMS, {"id": project}, as_="pm"))["project"]["items"]["edges"][0]["node"]
    assert node["labelsRequired"] == 0
    assert node["status"] in ("FINAL", "IN_REVIEW")  # two agreeing labels: decided, or sampled for review
    assert sorted(label["importedFrom"] or "here" for label in node["labels"]) == ["here", "label-studio"]


async def test_spans_into_an_anonymizing_project_are_refused(api: Api) -> None:
    config = (
        '<View><Text name="text" value="$text"/><Labels name="ner" toName="text"><Label value="PER"/></Labels></View>'
    )
    project = await _project(api, config, overlap=1)
    async with await api.session() as session, session.begin():
        await session.execute(
            update(Project).where(col(Project.id) == parse_global_id(project)[1]).values(anonymize=True)
        )
    region = {
        "from_name": "ner",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 0, "end": 3, "labels": ["PER"]},
    }
    tasks = [
        {"id": 1, "data": {"text": "Ann wrote"}, "annotations": [{"id": 5, "completed_by": 101, "result": [region]}]}
    ]
    payload = await _import(api, project, tasks, config, annotators=ANNOTATORS)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("ANONYMIZED_SPANS", "tasks.0.annotations.0.result")
    ]


def test_rotated_rectangles_and_two_image_sizes_are_refused() -> None:
    mapping = map_config(IMAGE_CONFIG)
    box = {"x": 10, "y": 10, "width": 10, "height": 10, "rotation": 30, "rectanglelabels": ["Car"]}
    region = {"from_name": "box", "to_name": "image", "type": "rectanglelabels", "value": box}
    converted = convert.value_of([region], mapping, {}, (100.0, 100.0), "tasks.0.annotations.0")
    assert [(p.code, p.field) for p in converted.problems] == [
        ("BOX_ROTATED", "tasks.0.annotations.0.result.0.value.rotation")
    ]
    sized = [
        {**region, "original_width": 100, "original_height": 50},
        {**region, "original_width": 200, "original_height": 100},
    ]
    size, problems = convert.image_size({"annotations": [{"result": sized}]}, "tasks.0")
    assert size is None
    assert [p.code for p in problems] == ["IMAGE_SIZE_CONFLICT"]
    # A corner past the edge by percent arithmetic alone is put on the edge.
    edge = {**region, "value": {**box, "rotation": 0, "x": 33.333333, "width": 66.666667}}
    [placed] = convert.value_of([edge], mapping, {}, (300.0, 100.0), "a").value["box"]
    assert placed["x"] + placed["width"] == 300.0
