"""CSV, Parquet and Hugging Face exports, read back with pandas, pyarrow and datasets: one row per
decided item, its data, one typed column per label field (choice fields as ClassLabels in the
Arrow formats), the decision's provenance; people only for readers of labels; every download a
dataset snapshot that renders again to the same rows."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import datasets
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import Api
from tests.exports.support import download, exported, text_program
from tests.lineage.support import snapshot
from tests.workflow.flow import audit_events, pk


async def test_csv_is_one_row_per_decided_item_with_a_column_per_field(api: Api) -> None:
    project = await text_program(api)

    response = await exported(api, project, "csv")

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="Project-A.csv"'
    frame = pd.read_csv(io.BytesIO(response.content), keep_default_na=False)
    assert list(frame.columns) == [
        "item_id",
        "external_id",
        "text",
        "metadata",
        "sentiment",
        "topics",
        "decision_version",
        "method",
        "schema_version",
        "active_schema_version",
        "decided_at",
        "confidence",
        "agreement",
        "decided_by",
        "tombstone",
    ]
    rows = frame.set_index("external_id").to_dict("index")
    assert sorted(rows) == ["item-0", "item-1"]  # item-2 was never decided
    assert (rows["item-0"]["text"], rows["item-0"]["sentiment"]) == ("item 0", "pos")
    assert json.loads(rows["item-0"]["topics"]) == ["price"]  # lists as JSON
    assert (rows["item-1"]["sentiment"], rows["item-1"]["topics"]) == ("neu", "")  # unanswered: empty
    assert (rows["item-0"]["method"], rows["item-1"]["method"]) == ("CONSENSUS_ACCEPTED", "CORRECTED")
    assert rows["item-0"]["decided_by"] == "reviewer"
    assert {rows[k]["decision_version"] for k in rows} == {1}
    assert {rows[k]["tombstone"] for k in rows} == {""}

    # The export is a dataset snapshot in that format, audited with it.
    found = await snapshot(api, response.headers["Labelgraph-Snapshot"])
    assert (found["format"], found["itemCount"]) == ("csv", 2)
    assert found["downloadPath"] == f"/export/snapshots/{found['id']}/csv"
    [event] = await audit_events(api, "export.download", project)
    assert event["details"] == {"snapshot": str(pk(found["id"])), "items": 2, "format": "csv"}
    again = await download(api, found["downloadPath"])
    assert again.content == response.content


async def test_an_ml_service_gets_no_person_in_any_table(api: Api) -> None:
    project = await text_program(api)

    csv = pd.read_csv(io.BytesIO((await exported(api, project, "csv", as_="mlbot")).content))
    table = pq.read_table(io.BytesIO((await exported(api, project, "parquet", as_="mlbot")).content))

    for columns in (list(csv.columns), table.column_names):
        assert "decided_by" not in columns
        assert {"text", "sentiment"} <= set(columns)
    written = csv.to_csv()
    assert "reviewer" not in written
    assert "ann1" not in written


async def test_parquet_reads_back_typed_with_pandas_pyarrow_and_datasets(api: Api, tmp_path: Path) -> None:
    project = await text_program(api)

    response = await exported(api, project, "parquet")

    assert response.headers["content-disposition"] == 'attachment; filename="Project-A.parquet"'
    path = tmp_path / "export.parquet"
    path.write_bytes(response.content)
    frame = pd.read_parquet(path).set_index("external_id")
    assert sorted(frame.index) == ["item-0", "item-1"]
    table = pq.read_table(path)
    assert table.schema.field("sentiment").type == pa.int64()  # a ClassLabel: the class index
    assert table.schema.field("topics").type.value_type == pa.int64()
    # The Hugging Face features travel in the file: datasets reads the class names back.
    dataset = datasets.Dataset.from_parquet(str(path), cache_dir=str(tmp_path / "cache"))
    sentiment = dataset.features["sentiment"]
    assert isinstance(sentiment, datasets.ClassLabel)
    assert sentiment.names == ["pos", "neg", "neu"]
    decoded = {row["external_id"]: row for row in dataset}
    assert sentiment.int2str(decoded["item-0"]["sentiment"]) == "pos"
    assert sentiment.int2str(decoded["item-1"]["sentiment"]) == "neu"
    assert decoded["item-0"]["topics"] == [0]  # "price"
    assert decoded["item-1"]["topics"] is None
    assert frame.loc["item-0", "text"] == "item 0"

    again = await download(api, f"/export/snapshots/{response.headers['Labelgraph-Snapshot']}/parquet")
    assert pq.read_table(io.BytesIO(again.content)).equals(table)


async def test_hf_is_a_save_to_disk_directory_that_load_from_disk_reads(api: Api, tmp_path: Path) -> None:
    project = await text_program(api)

    response = await exported(api, project, "hf")

    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="Project-A-hf.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "dataset_info.json" in archive.namelist()
        archive.extractall(tmp_path / "dataset")
    dataset = datasets.load_from_disk(str(tmp_path / "dataset"))
    assert isinstance(dataset, datasets.Dataset)
    assert dataset.num_rows == 2
    features = dataset.features
    assert features["sentiment"].names == ["pos", "neg", "neu"]
    assert isinstance(features["topics"], datasets.List)
    assert features["topics"].feature.names == ["price", "quality", "delivery"]
    rows = {row["external_id"]: row for row in dataset}
    assert features["sentiment"].int2str(rows["item-1"]["sentiment"]) == "neu"
    assert rows["item-0"]["text"] == "item 0"
    assert rows["item-0"]["decided_by"] == "reviewer"
    assert rows["item-0"]["decision_version"] == 1

    # Rendered again from the snapshot: the same archive, byte for byte.
    again = await download(api, f"/export/snapshots/{response.headers['Labelgraph-Snapshot']}/hf")
    assert again.status_code == 200, again.text
    assert again.content == response.content
