"""`labelgraph export` on the local store: the export streamed to a file and read back, the snapshot
it recorded downloaded again byte for byte, refusals in one line, and the other formats read back by
their own readers."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.support import PROJECT_A, Store, with_api
from tests.conftest import Api
from tests.lineage.support import decided
from tests.workflow.flow import imported, rows


def decide(store: Store, n: int, *, imported_n: int | None = None) -> None:
    """`imported_n` items in project A (n by default), n of them labeled and accepted."""

    async def work(api: Api) -> None:
        await imported(api, store.project_a, rows(imported_n or n))
        await decided(api, store.project_a, n)

    asyncio.run(with_api(store.settings, store.world, work))


def test_a_jsonl_export_is_written_read_back_and_its_snapshot_downloads_again(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide(store, 2, imported_n=3)
    monkeypatch.chdir(tmp_path)

    result = store.run("export", PROJECT_A, "--format", "jsonl", "--as", "pm")

    assert result.exit_code == 0, result.output
    written = tmp_path / "Project-A.jsonl"
    match = re.fullmatch(r"wrote Project-A\.jsonl: ([\d,]+) bytes \(snapshot (\S+)\)\n", result.stdout)
    assert match is not None, result.stdout
    assert int(match.group(1).replace(",", "")) == written.stat().st_size
    lines: list[dict[str, Any]] = [json.loads(line) for line in written.read_text().splitlines()]
    assert len(lines) == 2
    assert {line["external_id"] for line in lines} <= {"item-0", "item-1", "item-2"}
    assert all(line["value"]["sentiment"] == "pos" for line in lines)

    again = store.run("export", PROJECT_A, "--snapshot", match.group(2), "--out", "again.jsonl", "--as", "pm")

    assert again.exit_code == 0, again.output
    assert (tmp_path / "again.jsonl").read_bytes() == written.read_bytes()
    assert not list(tmp_path.glob(".*.part"))


def test_export_refusals_are_one_line_and_leave_no_file(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "out.jsonl"
    cases = {
        ("--format", "xml", "--as", "pm"): "error: --format must be one of jsonl, csv, parquet, hf, label-studio, "
        "coco, conll, spacy",
        ("--as", "ann1"): "error: forbidden: You may not export it. (HTTP 403)",
        ("--as", "pm", "--purpose", "no-such-purpose"): "error: invalid_request: purpose is not one this project "
        "accepts. (HTTP 400)",
        ("--as", "pm", "--snapshot", "RGF0YXNldFNuYXBzaG90OjA="): "error: not_found: No such snapshot. (HTTP 404)",
    }
    for args, expected in cases.items():
        result = store.run("export", PROJECT_A, "--out", str(out), *args)
        assert (result.exit_code, result.stderr.splitlines()) == (2, [expected]), args
    assert list(folder.iterdir()) == []
    # A place it cannot write: one line naming it, no traceback.
    nowhere = tmp_path / "no-such-dir" / "out.jsonl"
    result = store.run("export", PROJECT_A, "--out", str(nowhere), "--as", "pm")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot use "), line
    assert "No such file or directory" in line, line


@pytest.mark.parametrize("fmt", ["csv", "hf"])
def test_the_formats_of_the_exports_piece_are_read_back(store: Store, tmp_path: Path, fmt: str) -> None:
    decide(store, 2)
    out = tmp_path / ("out.csv" if fmt == "csv" else "out-hf")

    result = store.run("export", PROJECT_A, "--format", fmt, "--out", str(out), "--as", "pm")

    assert result.exit_code == 0, result.output
    if fmt == "csv":
        import pandas

        assert len(pandas.read_csv(out)) == 2
    else:
        import datasets

        loaded = datasets.load_from_disk(str(out))
        splits = list(loaded.values()) if isinstance(loaded, datasets.DatasetDict) else [loaded]
        assert sum(len(split) for split in splits) == 2
