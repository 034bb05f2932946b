"""What every export format refuses, and what it leaves out: the same 404 for a project or
snapshot one may not read as for a missing one, 403 for a role without export read, 400 naming
the choices for a bad format or field (nothing recorded), and items whose consent ended or whose
content was erased come back from a snapshot as tombstones in the tables, absent elsewhere."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from tests.conftest import Api, gid
from tests.consent.support import consent, import_with, item, recorded, revoke
from tests.exports.support import FORMATS, download, exported, kinds_program, text_program
from tests.lineage.support import SNAPSHOTS, decided
from tests.workflow.flow import audit_events, project_a

pytestmark = pytest.mark.parametrize("fmt", FORMATS)


def external_ids(fmt: str, content: bytes) -> list[str]:
    """The external ids of the items with content in a csv, jsonl or label-studio export."""
    if fmt == "csv":
        return [e for e in pd.read_csv(io.BytesIO(content), keep_default_na=False)["external_id"] if e]
    if fmt == "jsonl":
        return [r["external_id"] for r in map(json.loads, content.splitlines()) if "tombstone" not in r]
    return [task["meta"]["labelgraph"]["external_id"] for task in json.loads(content)]


async def test_an_unreadable_project_is_not_found(api: Api, fmt: str) -> None:
    other = gid("Project", api.world.project_b)  # pm_b's: pm of A cannot read it

    refused = await download(api, f"/export/{other}/{fmt}")
    missing = await download(api, f"/export/{gid('Project', api.world.users['pm'].id)}/{fmt}")

    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json() == {"error": "not_found", "error_description": "No such project."}


async def test_an_annotator_may_not_export(api: Api, fmt: str) -> None:
    response = await download(api, f"/export/{project_a(api)}/{fmt}", as_="ann1")

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await audit_events(api, "export.download") == []


async def test_another_projects_snapshot_is_not_found(api: Api, fmt: str) -> None:
    theirs = await exported(api, gid("Project", api.world.project_b), "jsonl", as_="pm_b")

    response = await download(api, f"/export/snapshots/{theirs.headers['Labelgraph-Snapshot']}/{fmt}")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_items_whose_consent_ended_are_tombstones_or_absent(api: Api, fmt: str) -> None:
    project = project_a(api)
    [consent_id] = await recorded(api, consent("subj-export"))
    assert (await import_with(api, [item("c-0", consent_id), item("c-1")]))["errors"] == []
    await decided(api, project, 2)
    first = await exported(api, project, "csv")
    snapshot_id = first.headers["Labelgraph-Snapshot"]
    assert (await revoke(api, consentIds=[consent_id]))["errors"] == []

    # A new export no longer holds the withdrawn item.
    if fmt in ("csv", "jsonl", "label-studio"):
        assert external_ids(fmt, (await exported(api, project, fmt)).content) == ["c-1"]
    # The older snapshot renders it without content.
    again = await download(api, f"/export/snapshots/{snapshot_id}/{fmt}")
    if fmt in ("coco", "conll", "spacy"):  # this schema has no boxes or spans field
        assert again.status_code == 400
        return
    assert again.status_code == 200, again.text
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(again.content), keep_default_na=False).set_index("item_id")
        withdrawn = frame[frame["tombstone"] != ""]
        assert list(withdrawn["tombstone"]) == ["WITHDRAWN"]
        assert set(withdrawn.iloc[0][["external_id", "text", "sentiment"]]) == {""}
        assert list(frame[frame["tombstone"] == ""]["external_id"]) == ["c-1"]
    elif fmt in ("jsonl", "label-studio"):
        assert external_ids(fmt, again.content) == ["c-1"]
        assert b"subj-export" not in again.content


async def test_a_bad_format_or_field_is_a_400_naming_the_choices(api: Api, fmt: str) -> None:
    text = project_a(api)
    notes = await kinds_program(api)
    before = await api.data(SNAPSHOTS, {"projectId": notes}, as_="pm")

    unknown = await download(api, f"/export/{notes}/{fmt}.zip")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_request"
    assert "jsonl, csv, parquet, hf, label-studio, coco, conll, spacy" in unknown.json()["error_description"]

    if fmt == "coco":
        ambiguous = await download(api, f"/export/{notes}/coco")
        assert ambiguous.status_code == 400
        assert "objects, faces" in ambiguous.json()["error_description"]
        wrong = await download(api, f"/export/{notes}/coco", field="entities")
        assert wrong.status_code == 400
        assert "objects, faces" in wrong.json()["error_description"]
    elif fmt in ("conll", "spacy"):
        wrong = await download(api, f"/export/{notes}/{fmt}", field="objects")
        assert wrong.status_code == 400
        assert "entities" in wrong.json()["error_description"]
        none = await download(api, f"/export/{text}/{fmt}")
        assert none.status_code == 400
        assert "has none" in none.json()["error_description"]
    else:
        stray = await download(api, f"/export/{notes}/{fmt}", field="objects")
        assert stray.status_code == 400
    # Nothing was recorded for any of them.
    assert await api.data(SNAPSHOTS, {"projectId": notes}, as_="pm") == before
    assert await audit_events(api, "export.download") == []


async def test_text_program_exports_in_every_format_that_fits_it(api: Api, fmt: str) -> None:
    project = await text_program(api)

    response = await download(api, f"/export/{project}/{fmt}", as_="mlbot")

    assert response.status_code == (400 if fmt in ("coco", "conll", "spacy") else 200), response.text
