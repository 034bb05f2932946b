"""`labelgraph import` on the local store: batches, the per-row error report, CSV, resuming after a
kill without importing a row twice, and refusals as one line with exit code 2."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.support import LABELGRAPH, PROJECT_A, Store, console_env, errors_of, items, write_jsonl


def test_a_file_goes_in_batch_by_batch_and_a_second_run_imports_nothing_again(store: Store, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "items.jsonl", items(120))

    first = store.run("import", PROJECT_A, str(source), "--as", "pm", "--batch", "50")

    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "imported 120 rows into Project A"
    assert store.external_ids() == sorted(f"row-{i}" for i in range(120))
    assert errors_of(tmp_path / "items.jsonl.errors.jsonl") == []
    state = json.loads((tmp_path / "items.jsonl.import-state.json").read_text())
    assert (state["done"], state["pending"], state["imported"]) == (120, None, 120)

    again = store.run("import", store.project_a, str(source), "--as", "pm")

    assert again.exit_code == 0, again.output
    assert "imported 0 rows" in again.stdout
    assert len(store.external_ids()) == 120


def test_bad_rows_go_to_the_error_report_while_the_good_rows_of_their_batch_go_in(store: Store, tmp_path: Path) -> None:
    held = write_jsonl(tmp_path / "held.jsonl", [{"externalId": "held-1", "data": {"text": "already here"}}])
    assert store.run("import", PROJECT_A, str(held), "--as", "pm").exit_code == 0
    rows = [
        *items(3, "good"),
        "this is not json",
        {"data": {"text": "no id"}},
        {"externalId": "flat-1", "text": "data from the other keys", "priority": 2},
        {"externalId": "bad-data", "data": "not an object"},
        {"externalId": "good-0", "data": {"text": "repeats row 1 in the same batch"}},
        {"externalId": "held-1", "data": {"text": "the project holds this id"}},
        # What the server would refuse the whole request for is this row's problem alone.
        {"externalId": 42, "data": {"text": "a number for an id"}},
        {"externalId": "wordy", "data": {"text": "x"}, "priority": "high"},
        {"externalId": "nul", "data": {"text": "a\u0000b"}},
        {"externalId": "deep", "data": {"text": "deep", "nested": json.loads("[" * 40 + "]" * 40)}},
        *items(2, "tail"),
    ]
    source = write_jsonl(tmp_path / "mixed.jsonl", rows)
    report = tmp_path / "report.jsonl"

    result = store.run("import", PROJECT_A, str(source), "--as", "pm", "--batch", "100", "--errors", str(report))

    assert result.exit_code == 1, result.output
    assert f"9 rows failed (see {report})" in result.stdout
    assert [(e["row"], e["external_id"], e["code"]) for e in errors_of(report)] == [
        (4, None, "INVALID_JSON"),
        (5, None, "MISSING_EXTERNAL_ID"),
        (7, "bad-data", "INVALID_DATA"),
        (8, "good-0", "DUPLICATE_IN_BATCH"),
        (9, "held-1", "EXTERNAL_ID_EXISTS"),
        (10, None, "INVALID_EXTERNAL_ID"),
        (11, "wordy", "INVALID_PRIORITY"),
        (12, "nul", "INVALID_TEXT"),
        (13, "deep", "TOO_DEEP"),
    ]
    assert all(e["message"] for e in errors_of(report))
    assert store.external_ids() == ["flat-1", "good-0", "good-1", "good-2", "held-1", "tail-0", "tail-1"]


def test_csv_columns_become_the_data_or_a_data_column_holds_it(store: Store, tmp_path: Path) -> None:
    flat = tmp_path / "flat.csv"
    flat.write_text(
        'external_id,text,lang,priority,metadata\nc-1,"Great, really",en,5,"{""source"": ""web""}"\nc-2,Bad,de,,\n'
    )
    nested = tmp_path / "nested.csv"
    nested.write_text('external_id,data\nd-1,"{""text"": ""nested"", ""n"": 1}"\nd-2,not json\n')

    assert store.run("import", PROJECT_A, str(flat), "--as", "pm").exit_code == 0
    result = store.run("import", PROJECT_A, str(nested), "--as", "pm")

    assert result.exit_code == 1
    assert [(e["row"], e["code"]) for e in errors_of(tmp_path / "nested.csv.errors.jsonl")] == [(2, "INVALID_CSV_CELL")]
    query = '{ node(id: "%s") { ... on Project { items(first: 10) { nodes { externalId priority data metadata } } } } }'
    seen = store.graphql(query % store.project_a, as_="pm")["node"]["items"]["nodes"]
    assert sorted(seen, key=lambda item: item["externalId"]) == [
        {
            "externalId": "c-1",
            "priority": 5.0,
            "data": {"text": "Great, really", "lang": "en"},
            "metadata": {"source": "web"},
        },
        {"externalId": "c-2", "priority": 0.0, "data": {"text": "Bad", "lang": "de"}, "metadata": {}},
        {"externalId": "d-1", "priority": 0.0, "data": {"text": "nested", "n": 1}, "metadata": {}},
    ]


def test_killed_between_a_commit_and_its_state_the_rerun_neither_duplicates_nor_fails(
    store: Store, tmp_path: Path
) -> None:
    rows = items(100)
    rows[74] = {"externalId": "row-74", "data": "not an object"}
    source = write_jsonl(tmp_path / "items.jsonl", rows)
    state_path = tmp_path / "items.jsonl.import-state.json"
    assert store.run("import", PROJECT_A, str(source), "--as", "pm", "--batch", "50").exit_code == 1
    # As a kill would have left it: the second batch committed and its error written, the state not yet.
    state = json.loads(state_path.read_text())
    state.update(done=50, pending=100, imported=50, failed=0, errors_at=0)
    state_path.write_text(json.dumps(state))

    result = store.run("import", PROJECT_A, str(source), "--as", "pm", "--batch", "50")

    assert result.exit_code == 1, result.output
    assert "resumed after row 50; 49 were there already; 1 rows failed" in result.stdout
    assert store.external_ids() == sorted(f"row-{i}" for i in range(100) if i != 74)
    assert [(e["row"], e["code"]) for e in errors_of(tmp_path / "items.jsonl.errors.jsonl")] == [(75, "INVALID_DATA")]


def start_import(store: Store, source: Path) -> subprocess.Popen[str]:
    command = [LABELGRAPH, "import", PROJECT_A, str(source), "--as", "pm", "--batch", "100"]
    return subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
        command, env=console_env(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def interrupt_after(process: subprocess.Popen[str], state_path: Path, done: int, sig: signal.Signals) -> str:
    """Send `sig` once the state file says `done` records are settled; the process's stderr."""
    try:
        for _ in range(6000):  # bounded in count, not a measurement
            if state_path.exists() and json.loads(state_path.read_text() or "{}").get("done", 0) >= done:
                break
            if process.poll() is not None:
                break
            time.sleep(0.02)
        process.send_signal(sig)
    finally:
        _, stderr = process.communicate(timeout=120)
    return stderr


def test_an_import_killed_mid_run_resumes_and_imports_every_row_exactly_once(store: Store, tmp_path: Path) -> None:
    total = 3000
    rows = items(total)
    rows[10] = "not json"  # a failure in the first batch: reported once, however often the run starts
    source = write_jsonl(tmp_path / "items.jsonl", rows)
    state_path = tmp_path / "items.jsonl.import-state.json"

    killed = start_import(store, source)
    interrupt_after(killed, state_path, 100, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    after_kill = json.loads(state_path.read_text())["done"]
    assert 100 <= after_kill < total
    assert len(store.external_ids()) < total - 1

    stopped = start_import(store, source)
    stderr = interrupt_after(stopped, state_path, after_kill + 100, signal.SIGINT)
    assert stopped.returncode == 2, "the import finished before it could be interrupted"
    assert stderr.splitlines() == ["error: interrupted: run the same command again to go on where it stopped"]
    after_interrupt = json.loads(state_path.read_text())["done"]
    assert after_kill < after_interrupt < total

    result = store.run("import", PROJECT_A, str(source), "--as", "pm", "--batch", "100")

    assert result.exit_code == 1, result.output
    assert f"resumed after row {after_interrupt}" in result.stdout
    assert store.external_ids() == sorted(f"row-{i}" for i in range(total) if i != 10)
    assert [(e["row"], e["code"]) for e in errors_of(tmp_path / "items.jsonl.errors.jsonl")] == [(11, "INVALID_JSON")]
    final = json.loads(state_path.read_text())
    assert (final["done"], final["pending"], final["failed"]) == (total, None, 1)
    assert final["imported"] + final["already"] == total - 1


def test_refusals_are_one_line_with_exit_code_2(store: Store, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "items.jsonl", items(2))
    (tmp_path / "items.txt").write_text("x\n")
    assert store.run("user", "deactivate", "ann2", "--reason", "left", "--by", "admin").exit_code == 0

    cases = {
        ("import", PROJECT_A, str(source)): "error: give --url (or LABELGRAPH_URL) for a server, or --as USERNAME "
        "to act on the local store",
        ("import", PROJECT_A, str(source), "--as", "nobody"): "error: no active user named nobody in the local store",
        ("import", PROJECT_A, str(source), "--as", "ann2"): "error: no active user named ann2 in the local store",
        ("import", "Project B", str(source), "--as", "pm"): "error: no project 'Project B' that you may read "
        "(give its name or its id)",
        ("import", PROJECT_A, str(tmp_path / "items.txt"), "--as", "pm"): "error: say --format jsonl or --format "
        "csv: items.txt has neither extension",
        ("import", PROJECT_A, str(tmp_path / "missing.jsonl"), "--as", "pm"): f"error: {tmp_path / 'missing.jsonl'} "
        "is not a file",
        ("import", PROJECT_A, str(source), "--url", "http://127.0.0.1:9"): "error: set LABELGRAPH_TOKEN to an "
        "access token for the server at --url",
    }
    for args, expected in cases.items():
        result = store.run(*args)
        assert (result.exit_code, result.stderr.splitlines()) == (2, [expected]), args

    forbidden = store.run("import", PROJECT_A, str(source), "--as", "ann1")
    assert forbidden.exit_code == 2
    assert forbidden.stderr.startswith("error: FORBIDDEN: ")
    assert len(forbidden.stderr.splitlines()) == 1
    assert store.external_ids() == []
