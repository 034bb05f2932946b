"""COCO object detection JSON for one boxes field of the schema in force.

``categories`` are the field's labels (ids from 1, in schema order); ``images`` one per item of
the snapshot, id its position in the snapshot (from 1; a tombstoned item is left out and its id
not reused), with its width and height from the item's metadata (where a boxes field reads them)
and a file_name from the item (``image_reference``); ``annotations`` one per box with bbox
``[x, y, width, height]`` in pixels, its area, ``iscrowd`` 0 and the box as a polygon. The final
values are in the terms of the schema in force (active_value). Images are streamed; the
annotations (a few numbers per box) are gathered and written after them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from app.exports.source import Source

# Where an item names its image, in this order (the metadata first: it holds the image's size too).
IMAGE_KEYS = (
    ("metadata", "file_name"),
    ("data", "image"),
    ("data", "image_url"),
    ("data", "url"),
    ("data", "file_name"),
    ("data", "path"),
)


def image_reference(record: dict[str, Any]) -> str:
    """The item's image file or URL; its external id, else its id, when it names none."""
    for part, key in IMAGE_KEYS:
        found = (record.get(part) or {}).get(key)
        if isinstance(found, str) and found:
            return found
    return str(record.get("external_id") or record["item_id"])


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def render(source: Source) -> AsyncIterator[bytes]:
    assert source.field is not None  # the registry picks the boxes field before the snapshot is made
    spec = source.field
    categories = {label: i for i, label in enumerate(spec.classes, start=1)}
    head = {
        "info": {
            "description": f"Labelgraph dataset snapshot {source.snapshot.id}, field {spec.name}",
            "version": str(source.snapshot.id),
            "date_created": source.snapshot.created_at.isoformat(),
        },
        "licenses": [],
        "categories": [{"id": i, "name": label, "supercategory": spec.name} for label, i in categories.items()],
    }
    yield (dump(head)[:-1] + ',"images":[').encode()
    annotations: list[dict[str, Any]] = []
    position = 0
    first = True
    async for records in source.records():
        images: list[str] = []
        for record in records:
            position += 1
            if "tombstone" in record:
                continue
            metadata = record.get("metadata") or {}
            images.append(
                dump(
                    {
                        "id": position,
                        "file_name": image_reference(record),
                        "width": metadata.get("width"),
                        "height": metadata.get("height"),
                        "labelgraph_item_id": record["item_id"],
                        "external_id": record.get("external_id"),
                    }
                )
            )
            for box in (record.get("active_value") or {}).get(spec.name) or []:
                x, y, w, h = box["x"], box["y"], box["width"], box["height"]
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": position,
                        "category_id": categories[box["label"]],
                        "bbox": [x, y, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                        "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                    }
                )
        if images:
            yield (("" if first else ",") + ",".join(images)).encode()
            first = False
    yield ('],"annotations":[' + ",".join(dump(a) for a in annotations) + "]}").encode()
