"""Label Studio: the snapshot as Label Studio's JSON task list, and the labeling config to load it.

Label Studio imports a plain list of tasks, and a project's labeling config is set apart from
them (pasted under Settings > Labeling Interface > Code, or ``label_config`` of its API). So the
export is the list of tasks alone, importable as it is, and the config is its own download,
``/export/snapshots/{snapshot}/label-studio-config`` (XML; the export's response names it in
``Labelgraph-Label-Config``), generated from the schema the snapshot's values are in:

- the objects: a ``<Text>`` per spans source (``$<source>``); an ``<Image value="$image">`` when
  a field has boxes; otherwise one ``<Text>`` over the first text key of the item data (``text``
  when there is none). Other fields point at the first object.
- single_choice and multi_choice -> ``<Choices>`` (choice single or multiple), taxonomy ->
  ``<Taxonomy>`` (nested ``<Choice>``), spans -> ``<Labels>``, boxes -> ``<RectangleLabels>``
  (percent coordinates with original_width/height), rating -> ``<Rating maxRating=max>`` (Label
  Studio counts from 1: a rating below 1 does not show), text -> ``<TextArea>``, number ->
  ``<Number>``.

A task: ``id`` (its position in the snapshot, from 1), ``data`` (the item data; for boxes the
image under ``image``), ``meta.labelgraph`` (item id, external id, decision version, method,
schema version and, for readers of labels, who ``completed_by`` numbers stand for) and
``annotations``: the decision in force first (``ground_truth`` true), then, for a reader of
labels, each label made under the schema in force (``completed_by`` a number per annotator in
this export; labels made under an older schema version are not in its terms and are left out).
``predictions`` is empty. A tombstoned item is left out.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from app.exports.coco import image_reference
from app.exports.source import Source, data_columns
from app.interop.label_studio.convert import utf16_offset
from app.taxonomy.schema_language import ClassNode, FieldSpec, LabelSchema

IMAGE = "image"


@dataclass(frozen=True)
class Objects:
    """Which object tag each field's control points at: name -> the data key it shows."""

    texts: dict[str, str]  # object name -> data key
    image: str | None  # the Image object's name
    primary: str
    to_name: dict[str, str]  # field name -> object name


def objects(schema: LabelSchema, first_text: str | None) -> Objects:
    taken = {f.name for f in schema.fields}

    def named(key: str) -> str:
        return key if key not in taken else f"{key}_object"

    texts: dict[str, str] = {}
    to_name: dict[str, str] = {}
    for spec in schema.fields:
        if spec.kind == "spans" and spec.source:
            texts.setdefault(named(spec.source), spec.source)
            to_name[spec.name] = named(spec.source)
    image = named(IMAGE) if any(f.kind == "boxes" for f in schema.fields) else None
    if not texts and image is None:
        key = first_text or "text"
        texts[named(key)] = key
    primary = next(iter(texts)) if texts else str(image)
    for spec in schema.fields:
        if spec.kind == "boxes":
            to_name[spec.name] = str(image)
        to_name.setdefault(spec.name, primary)
    return Objects(texts, image, primary, to_name)


def label_config(schema: LabelSchema, first_text: str | None) -> str:
    """The labeling config (XML) for tasks of this schema."""
    found = objects(schema, first_text)
    view = ET.Element("View")
    for name, key in found.texts.items():
        ET.SubElement(view, "Text", name=name, value=f"${key}")
    if found.image:
        ET.SubElement(view, "Image", name=found.image, value=f"${IMAGE}")
    for spec in schema.fields:
        attrs = {"name": spec.name, "toName": found.to_name[spec.name]}
        if spec.kind in ("single_choice", "multi_choice"):
            choice = "single" if spec.kind == "single_choice" else "multiple"
            control = ET.SubElement(view, "Choices", attrib={**attrs, "choice": choice})
            for c in spec.classes:
                ET.SubElement(control, "Choice", value=c)
        elif spec.kind == "taxonomy":
            control = ET.SubElement(view, "Taxonomy", attrib=attrs)
            _tree(control, spec.tree)
        elif spec.kind in ("spans", "boxes"):
            control = ET.SubElement(view, "Labels" if spec.kind == "spans" else "RectangleLabels", attrib=attrs)
            for c in spec.classes:
                ET.SubElement(control, "Label", value=c)
        elif spec.kind == "rating":
            ET.SubElement(view, "Rating", attrib={**attrs, "maxRating": str(int(spec.max or 5))})
        elif spec.kind == "text":
            ET.SubElement(view, "TextArea", attrib=attrs)
        elif spec.kind == "number":
            bounds = {k: _number(v) for k, v in (("min", spec.min), ("max", spec.max)) if v is not None}
            ET.SubElement(view, "Number", attrib={**attrs, **bounds})
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _tree(parent: ET.Element, nodes: tuple[ClassNode, ...]) -> None:
    for node in nodes:
        _tree(ET.SubElement(parent, "Choice", value=node.name), node.children)


def results(schema: LabelSchema, found: Objects, value: dict[str, Any], record: dict[str, Any]) -> list[dict[str, Any]]:
    """A value as Label Studio result regions, one per answered field (per span, per box)."""
    out: list[dict[str, Any]] = []
    data = record.get("data") or {}
    metadata = record.get("metadata") or {}
    for spec in schema.fields:
        v = value.get(spec.name)
        if v is None or v == [] or v == "":
            continue
        base = {"from_name": spec.name, "to_name": found.to_name[spec.name]}
        if spec.kind == "spans":
            text = data.get(spec.source) if spec.source else None
            for k, span in enumerate(v):
                region = {"start": span["start"], "end": span["end"], "labels": [span["label"]]}
                if isinstance(text, str):
                    # Label Studio counts offsets in UTF-16 units, as JavaScript does; we count code points.
                    region |= {"start": utf16_offset(text, span["start"]), "end": utf16_offset(text, span["end"])}
                    region["text"] = text[span["start"] : span["end"]]
                out.append({**base, "id": f"{spec.name}-{k}", "type": "labels", "value": region})
        elif spec.kind == "boxes":
            width, height = metadata.get("width"), metadata.get("height")
            if not (isinstance(width, int | float) and isinstance(height, int | float) and width > 0 and height > 0):
                continue  # no image size to take percentages of (a boxes value always has one when labeled)
            for k, box in enumerate(v):
                out.append(
                    {
                        **base,
                        "id": f"{spec.name}-{k}",
                        "type": "rectanglelabels",
                        "original_width": width,
                        "original_height": height,
                        "image_rotation": 0,
                        "value": {
                            "x": 100 * box["x"] / width,
                            "y": 100 * box["y"] / height,
                            "width": 100 * box["width"] / width,
                            "height": 100 * box["height"] / height,
                            "rotation": 0,
                            "rectanglelabels": [box["label"]],
                        },
                    }
                )
        else:
            out.append({**base, "id": spec.name, **_control(spec, v)})
    return out


def _control(spec: FieldSpec, v: Any) -> dict[str, Any]:
    if spec.kind == "single_choice":
        return {"type": "choices", "value": {"choices": [v]}}
    if spec.kind == "multi_choice":
        return {"type": "choices", "value": {"choices": list(v)}}
    if spec.kind == "taxonomy":
        # Label Studio holds a taxonomy choice as its path from the root: one path per chosen leaf.
        chosen = set(v)
        above = {a for c in chosen for a in spec.index.ancestors(c)}
        paths = [[*reversed(list(spec.index.ancestors(c))), c] for c in v if c not in above]
        return {"type": "taxonomy", "value": {"taxonomy": paths}}
    if spec.kind == "rating":
        return {"type": "rating", "value": {"rating": v}}
    if spec.kind == "number":
        return {"type": "number", "value": {"number": v}}
    return {"type": "textarea", "value": {"text": [v if isinstance(v, str) else json.dumps(v)]}}


async def first_text_key(source: Source) -> str | None:
    return next((key for key, textual in (await data_columns(source)).items() if textual), None)


async def render(source: Source) -> AsyncIterator[bytes]:
    found = objects(source.schema, await first_text_key(source))
    boxes = found.image is not None
    people: dict[str, int] = {}
    annotation_ids = 0
    position = 0
    first = True
    yield b"["
    async for records in source.records():
        tasks: list[str] = []
        for record in records:
            position += 1
            if "tombstone" in record:
                continue
            data = dict(record.get("data") or {})
            if boxes and IMAGE not in data:
                data[IMAGE] = image_reference(record)
            mine: dict[str, str] = {}

            def person(username: str | None, mine: dict[str, str] = mine) -> int | None:
                if username is None:
                    return None
                number = people.setdefault(username, len(people) + 1)
                mine[str(number)] = username
                return number

            annotation_ids += 1
            annotations = [
                {
                    "id": annotation_ids,
                    "result": results(source.schema, found, record.get("active_value") or {}, record),
                    "ground_truth": True,
                    "was_cancelled": False,
                    "created_at": record["decided_at"],
                    "updated_at": record["decided_at"],
                    "completed_by": person(record.get("decided_by")) if source.reader.labels else None,
                }
            ]
            if source.reader.labels:
                for label in record.get("labels") or []:
                    if label.get("schema_version") != record.get("active_schema_version"):
                        continue
                    annotation_ids += 1
                    annotations.append(
                        {
                            "id": annotation_ids,
                            "result": results(source.schema, found, label.get("value") or {}, record),
                            "ground_truth": False,
                            "was_cancelled": False,
                            "created_at": label["created_at"],
                            "updated_at": label["created_at"],
                            "lead_time": label["time_spent_ms"] / 1000 if label.get("time_spent_ms") else None,
                            "completed_by": person(label.get("annotator")),
                        }
                    )
            meta = {
                "item_id": record["item_id"],
                "external_id": record.get("external_id"),
                "decision_version": record["decision_version"],
                "method": record["method"],
                "schema_version": record["schema_version"],
            }
            if source.reader.labels:
                meta["annotators"] = mine
            for annotation in annotations:  # none known: Label Studio credits the importer
                if annotation["completed_by"] is None:
                    del annotation["completed_by"]
            task = {
                "id": position,
                "data": data,
                "meta": {"labelgraph": meta},
                "annotations": annotations,
                "predictions": [],
            }
            tasks.append(json.dumps(task, ensure_ascii=False, default=str))
        if tasks:
            yield (("" if first else ",\n") + ",\n".join(tasks)).encode()
            first = False
    yield b"]\n"
