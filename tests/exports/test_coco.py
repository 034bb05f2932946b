"""COCO detection JSON for a boxes field, loaded with pycocotools: categories from the field's
labels, images with their size and file, one annotation per box in pixels."""

from __future__ import annotations

import json
from pathlib import Path

from pycocotools.coco import COCO

from tests.conftest import Api
from tests.exports.support import NOTE_VALUES, download, exported, kinds_program


async def test_a_boxes_field_loads_in_pycocotools(api: Api, tmp_path: Path) -> None:
    project = await kinds_program(api)

    response = await exported(api, project, "coco", field="objects")

    assert response.headers["content-disposition"] == 'attachment; filename="Notes-coco.json"'
    path = tmp_path / "instances.json"
    path.write_bytes(response.content)
    coco = COCO(str(path))
    assert [(c["id"], c["name"]) for c in coco.loadCats(coco.getCatIds())] == [(1, "logo"), (2, "car")]
    images = {img["external_id"]: img for img in coco.loadImgs(coco.getImgIds())}
    assert sorted(images) == ["note-0", "note-1"]
    assert (images["note-1"]["file_name"], images["note-1"]["width"], images["note-1"]["height"]) == (
        "img/1.png",
        200,
        100,
    )
    for name, image in images.items():
        boxes = NOTE_VALUES[name]["objects"]
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        assert [a["bbox"] for a in annotations] == [[b["x"], b["y"], b["width"], b["height"]] for b in boxes]
        assert [coco.cats[a["category_id"]]["name"] for a in annotations] == [b["label"] for b in boxes]
        assert [a["area"] for a in annotations] == [b["width"] * b["height"] for b in boxes]
        assert {a["iscrowd"] for a in annotations} == {0}
    assert len(coco.getAnnIds(catIds=[2])) == 1  # one car
    # The other boxes field, by name.
    faces = json.loads((await exported(api, project, "coco", field="faces")).content)
    assert [c["name"] for c in faces["categories"]] == ["face"]
    assert len(faces["annotations"]) == 1
    # Rendered again from its snapshot, byte for byte.
    again = await download(api, f"/export/snapshots/{response.headers['Labelgraph-Snapshot']}/coco", field="objects")
    assert again.content == response.content
