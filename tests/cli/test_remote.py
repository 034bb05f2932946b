"""The same commands against a real server (uvicorn on a loopback port) with --url and
LABELGRAPH_TOKEN: the client is the one the local store uses, only the transport differs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.support import PROJECT_A, Store, errors_of, items, write_jsonl
from tests.servers import served, sign_in


def test_import_and_export_through_a_running_server(store: Store, tmp_path: Path) -> None:
    rows = items(30)
    rows[3] = {"externalId": "bad", "data": []}
    source = write_jsonl(tmp_path / "items.jsonl", rows)
    with served(store.settings) as url:
        env = {"LABELGRAPH_TOKEN": sign_in(url, "pm")}

        imported = store.run("import", PROJECT_A, str(source), "--url", url, "--batch", "10", env=env)
        exported = store.run("export", store.project_a, "--url", url, "--out", str(tmp_path / "out.jsonl"), env=env)
        by_env = store.run("import", PROJECT_A, str(source), env={**env, "LABELGRAPH_URL": url})

    assert imported.exit_code == 1, imported.output
    assert imported.stdout.startswith("imported 29 rows into Project A; 1 rows failed")
    assert [(e["row"], e["code"]) for e in errors_of(tmp_path / "items.jsonl.errors.jsonl")] == [(4, "INVALID_DATA")]
    assert len(store.external_ids()) == 29
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out.jsonl").read_text() == ""  # nothing decided yet: an empty export, still recorded
    assert "(snapshot " in exported.stdout
    assert by_env.exit_code == 1
    assert "imported 0 rows" in by_env.stdout
    assert json.loads((tmp_path / "items.jsonl.import-state.json").read_text())["done"] == 30


def test_a_server_that_refuses_or_is_not_there_is_one_line(store: Store, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "items.jsonl", items(1))
    with served(store.settings) as url:
        bad_token = store.run("import", PROJECT_A, str(source), "--url", url, env={"LABELGRAPH_TOKEN": "nope"})
        with_as = store.run("import", PROJECT_A, str(source), "--url", url, "--as", "pm", env={"LABELGRAPH_TOKEN": "x"})
    gone = store.run("import", PROJECT_A, str(source), "--url", url, env={"LABELGRAPH_TOKEN": "x"})

    assert (bad_token.exit_code, len(bad_token.stderr.splitlines())) == (2, 1)
    assert bad_token.stderr.startswith("error: UNAUTHENTICATED: ")
    assert (with_as.exit_code, with_as.stderr) == (
        2,
        "error: --as is for the local store: with --url the token says who you are\n",
    )
    assert (gone.exit_code, gone.stderr) == (
        2,
        f"error: cannot reach {url}: connection refused or no route (is the server running?)\n",
    )
