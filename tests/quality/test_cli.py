"""`labelgraph quality agreement | aggregate` run as a user runs them, on small files with known answers.

Most cases run the typer app in-process (CliRunner); `test_console_script` runs the installed entry
point in a subprocess. A bad file is one `error: FILE:LINE: ...` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner, Result

from app.cli import cli
from app.quality.aggregation import dawid_skene, weighted_vote
from app.quality.ratings import Ratings

LABELGRAPH = str(Path(sys.executable).with_name("labelgraph"))
Row = tuple[str, str, Any]

# 3 items x 2 annotators: i1 both 1, i2 a=1 b=2, i3 both 2.
THREE_BY_TWO: list[Row] = [
    ("i1", "a", 1),
    ("i1", "b", 1),
    ("i2", "a", 1),
    ("i2", "b", 2),
    ("i3", "a", 2),
    ("i3", "b", 2),
]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C (nominal data, 4 observers,
# 12 units, missing values): alpha nominal = 0.743. None marks a missing value; unit 12 has one value only.
K2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def jsonl(path: Path, rows: list[Row]) -> Path:
    path.write_text("".join(json.dumps({"item_id": i, "annotator_id": a, "label": v}) + "\n" for i, a, v in rows))
    return path


def csv_file(path: Path, rows: list[Row]) -> Path:
    lines = ["item_id,annotator_id,label"] + [f"{i},{a},{'' if v is None else v}" for i, a, v in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, ["quality", *map(str, args)])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, result.exception
    return result


def agreement(*args: str | Path) -> dict[str, Any]:
    result = run("agreement", *args)
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def aggregate(*args: str | Path) -> list[dict[str, Any]]:
    result = run("aggregate", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def k2011_rows() -> list[Row]:
    return [(f"u{u + 1:02d}", who, v) for who, values in K2011.items() for u, v in enumerate(values)]


# --- agreement --------------------------------------------------------------------------------------------


def test_agreement_three_items_two_annotators(tmp_path: Path) -> None:
    out = agreement(jsonl(tmp_path / "labels.jsonl", THREE_BY_TWO))
    assert (out["items"], out["annotators"], out["labels"]) == (3, 2, 6)
    assert (out["level"], out["weights"]) == ("nominal", "none")
    # 3 pairs (one per item), 2 agree (i1, i3): 2/3.
    assert out["pairwise_agreement"] == pytest.approx(2 / 3)
    # Cohen: p_o = 2/3; a gave 1 on 2/3, b on 1/3: p_e = 2/3 * 1/3 + 1/3 * 2/3 = 4/9;
    # kappa = (2/3 - 4/9) / (1 - 4/9) = (2/9) / (5/9) = 0.4.
    assert out["cohen_kappa"] == pytest.approx(0.4)
    # Fleiss: P_i = 1, 0, 1 -> P = 2/3; p_1 = p_2 = 1/2 -> P_e = 1/2; (2/3 - 1/2) / (1/2) = 1/3.
    assert out["fleiss_kappa"] == pytest.approx(1 / 3)
    # Krippendorff nominal: coincidences o_11 = 2, o_12 = o_21 = 1, o_22 = 2; n_1 = n_2 = 3, n = 6;
    # alpha = 1 - (n - 1) * (o_12 + o_21) / (2 n_1 n_2) = 1 - 5 * 2 / 18 = 4/9.
    assert out["krippendorff_alpha"] == pytest.approx(4 / 9)


def test_cohen_weights(tmp_path: Path) -> None:
    # a: 1, 2, 3; b: 1, 3, 3. Joint (a, b): (1,1), (2,3), (3,3); a's margins 1,1,1, b's 1,0,2 (total 3).
    # Observed weighted disagreement: only (2,3), distance 1 -> 1 for every weighting.
    # Expected = sum_ij a_i b_j w_ij / 3: unweighted (0+0+2 + 1+0+2 + 1+0+0) / 3 = 2 -> kappa 1 - 1/2 = 0.5;
    # linear (0+0+4 + 1+0+2 + 2+0+0) / 3 = 3 -> 1 - 1/3 = 2/3; quadratic (8 + 3 + 4) / 3 = 5 -> 1 - 1/5 = 0.8.
    rows: list[Row] = [("x", "a", 1), ("x", "b", 1), ("y", "a", 2), ("y", "b", 3), ("z", "a", 3), ("z", "b", 3)]
    path = jsonl(tmp_path / "labels.jsonl", rows)
    expected = {"none": 0.5, "linear": 2 / 3, "quadratic": 0.8}
    for weights, kappa in expected.items():
        out = agreement(path, "--weights", weights)
        assert out["weights"] == weights
        assert out["cohen_kappa"] == pytest.approx(kappa)
        oracle = cohen_kappa_score([1, 2, 3], [1, 3, 3], weights=None if weights == "none" else weights)
        assert out["cohen_kappa"] == pytest.approx(oracle)


def test_krippendorff_2011_example(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "labels.jsonl", k2011_rows())
    out = agreement(path)
    # 41 values given out of 48 cells; unit 12 has one value, so alpha pairs 40 of them.
    assert (out["items"], out["annotators"], out["labels"]) == (12, 4, 41)
    assert out["krippendorff_alpha"] == pytest.approx(0.743, abs=5e-4)
    assert out["fleiss_kappa"] is None  # units have 1 to 4 values
    assert out["cohen_kappa"] is None  # four annotators
    data = np.array([[np.nan if v is None else v for v in values] for values in K2011.values()], dtype=float)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        got = agreement(path, "--level", level)
        assert got["level"] == level
        assert got["krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        )


def test_nulls_dropped_and_duplicates_counted_once(tmp_path: Path) -> None:
    rows = [*THREE_BY_TWO, ("i1", "c", None), ("i4", "a", None), ("i2", "a", 1)]
    out = agreement(jsonl(tmp_path / "labels.jsonl", rows))
    # c's only row and i4's only row are null: same answers as THREE_BY_TWO; i2/a repeats its label.
    assert (out["items"], out["annotators"], out["labels"]) == (3, 2, 6)
    assert out["cohen_kappa"] == pytest.approx(0.4)


def test_csv_matches_jsonl(tmp_path: Path) -> None:
    rows = [*k2011_rows(), ("u13", "A", "other"), ("u13", "B", "other")]
    from_jsonl = jsonl(tmp_path / "labels.jsonl", rows)
    from_csv = csv_file(tmp_path / "labels.csv", rows)  # None -> empty cell; 3 -> "3", read back as integer
    assert "u01,C,\n" in from_csv.read_text()
    assert agreement(from_csv) == agreement(from_jsonl)
    for method in ("majority", "weighted", "dawid-skene"):
        assert aggregate(from_csv, "--method", method) == aggregate(from_jsonl, "--method", method)


def test_fleiss_null_for_unequal_counts_and_cohen_null_for_three_annotators(tmp_path: Path) -> None:
    rows: list[Row] = [("x", "a", 1), ("x", "b", 1), ("x", "c", 2), ("y", "a", 1), ("y", "b", 2)]
    out = agreement(jsonl(tmp_path / "labels.jsonl", rows))
    assert out["fleiss_kappa"] is None
    assert out["cohen_kappa"] is None
    # x: 3 pairs, 1 agrees (a-b); y: 1 pair, none agrees -> 1/4.
    assert out["pairwise_agreement"] == pytest.approx(1 / 4)


def test_integers_are_numbers_strings_are_strings(tmp_path: Path) -> None:
    # 10 sorts after 9 (numbers); "10" sorts before "9" (strings).
    ints = aggregate(jsonl(tmp_path / "i.jsonl", [("x", "a", 9), ("x", "b", 10)]), "--method", "majority")
    strs = aggregate(jsonl(tmp_path / "s.jsonl", [("x", "a", "9"), ("x", "b", "10")]), "--method", "majority")
    assert ints == [{"item_id": "x", "label": 9, "confidence": 0.5}]  # tie -> smallest: 9
    assert strs == [{"item_id": "x", "label": "10", "confidence": 0.5}]  # tie -> smallest: "10"


# --- aggregate --------------------------------------------------------------------------------------------


def test_majority_order_confidence_and_ties(tmp_path: Path) -> None:
    rows: list[Row] = [
        ("b", "p", "dog"),
        ("b", "q", "cat"),  # b: tie dog/cat -> "cat" (sorts first), confidence 1/2
        ("a2", "p", 2),
        ("a2", "q", 2),
        ("a2", "r", 1),  # a2: 2 of 3 -> 2, confidence 2/3
        ("a10", "p", 3),  # a10: 3, unanimous, confidence 1
        ("c", "p", None),  # c has no label: no line
    ]
    out = aggregate(jsonl(tmp_path / "labels.jsonl", rows), "--method", "majority")
    # Sorted by item_id as strings: "a10" < "a2" < "b".
    assert out == [
        {"item_id": "a10", "label": 3, "confidence": 1.0},
        {"item_id": "a2", "label": 2, "confidence": pytest.approx(2 / 3)},
        {"item_id": "b", "label": "cat", "confidence": 0.5},
    ]


def test_dawid_skene_and_weighted_are_the_library_fits(tmp_path: Path) -> None:
    # Two careful annotators and one who always says 1: the fit should trust a and b.
    rows: list[Row] = []
    truth = [1, 2, 1, 2, 2, 1, 2, 2]
    for n, t in enumerate(truth):
        rows += [(f"i{n}", "a", t), (f"i{n}", "b", t), (f"i{n}", "spam", 1)]
    rows += [("j", "a", 2), ("j", "b", 1), ("j", "spam", 1)]  # a and b split: spam decides nothing
    path = jsonl(tmp_path / "labels.jsonl", rows)
    r = Ratings.from_rows(rows)
    fit = dawid_skene(r)
    expected_ds = [
        {"item_id": i, "label": r.classes[int(k)], "confidence": pytest.approx(float(c))}
        for i, k, c in zip(r.item_ids, fit.label, fit.confidence, strict=True)
    ]
    assert aggregate(path, "--method", "dawid-skene") == expected_ds
    accuracy = fit.annotator_accuracy_estimate()
    assert accuracy is not None
    weighted = weighted_vote(r, accuracy)
    expected_w = [
        {"item_id": i, "label": r.classes[int(k)], "confidence": pytest.approx(float(c))}
        for i, k, c in zip(r.item_ids, weighted.label, weighted.confidence, strict=True)
    ]
    assert aggregate(path, "--method", "weighted") == expected_w
    for line in aggregate(path, "--method", "dawid-skene"):
        if line["item_id"] != "j":
            assert line["label"] == truth[int(line["item_id"][1:])]
            assert line["confidence"] > 0.9


def test_annotators_file_majority(tmp_path: Path) -> None:
    # x: a=1, b=1, c=2 -> majority 1; y: a=2, b=2, c=2 -> 2. c agrees on y only: accuracy 1/2, and its
    # row for true 1 is [0, 1] (it said 2), its row for true 2 is [0, 1]. a and b: identity, accuracy 1.
    rows: list[Row] = [("x", "a", 1), ("x", "b", 1), ("x", "c", 2), ("y", "a", 2), ("y", "b", 2), ("y", "c", 2)]
    out_file = tmp_path / "annotators.json"
    aggregate(jsonl(tmp_path / "labels.jsonl", rows), "--method", "majority", "--annotators", out_file)
    report = json.loads(out_file.read_text())
    assert report["classes"] == [1, 2]
    assert report["method"] == "majority"
    by_id = {entry["annotator_id"]: entry for entry in report["annotators"]}
    assert by_id["c"] == {"annotator_id": "c", "labels": 2, "accuracy": 0.5, "confusion": [[0.0, 1.0], [0.0, 1.0]]}
    assert by_id["a"]["accuracy"] == 1.0
    assert by_id["a"]["confusion"] == [[1.0, 0.0], [0.0, 1.0]]


def test_annotators_file_dawid_skene(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "labels.jsonl", k2011_rows())
    out_file = tmp_path / "annotators.json"
    for method in ("dawid-skene", "weighted"):
        aggregate(path, "--method", method, "--annotators", out_file, "--max-iter", "50", "--tol", "1e-7")
        report = json.loads(out_file.read_text())
        fit = dawid_skene(Ratings.from_rows(r for r in k2011_rows() if r[2] is not None), max_iter=50, tol=1e-7)
        accuracy = fit.annotator_accuracy_estimate()
        assert fit.confusion is not None
        assert fit.prior is not None
        assert accuracy is not None
        assert report["method"] == method
        assert report["estimated_by"] == "dawid-skene"
        assert report["classes"] == [1, 2, 3, 4, 5]
        assert [a["annotator_id"] for a in report["annotators"]] == ["A", "B", "C", "D"]
        assert [a["labels"] for a in report["annotators"]] == [9, 11, 10, 11]
        assert report["prior"] == pytest.approx(fit.prior.tolist())
        assert report["iterations"] == fit.iterations
        for i, entry in enumerate(report["annotators"]):
            assert entry["accuracy"] == pytest.approx(float(accuracy[i]))
            assert entry["confusion"] == [pytest.approx(row) for row in fit.confusion[i].tolist()]
            assert [sum(row) for row in entry["confusion"]] == pytest.approx([1.0] * 5)


# --- errors -----------------------------------------------------------------------------------------------


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


GOOD = '{"item_id": "x", "annotator_id": "a", "label": 1}'
BAD_FILES = {
    "not JSON": ([GOOD, '{"item_id": "x",'], "labels.jsonl:2: not JSON"),
    "not an object": ([GOOD, GOOD, "[1, 2, 3]"], "labels.jsonl:3: a row must be a JSON object, got an array"),
    "missing key": ([GOOD, '{"item_id": "y", "annotator_id": "a"}'], "labels.jsonl:2: missing 'label'"),
    "float label": (['{"item_id": "x", "annotator_id": "a", "label": 1.5}'], "labels.jsonl:1: label must be"),
    "list label": ([GOOD, '{"item_id": "y", "annotator_id": "a", "label": [1]}'], "labels.jsonl:2: label must be"),
    "bool label": (['{"item_id": "x", "annotator_id": "a", "label": true}'], "labels.jsonl:1: label must be"),
    "number id": ([GOOD, '{"item_id": 3, "annotator_id": "a", "label": 1}'], "labels.jsonl:2: item_id must be"),
    "null annotator": (['{"item_id": "x", "annotator_id": null, "label": 1}'], "labels.jsonl:1: annotator_id must"),
    "two labels": (
        [GOOD, GOOD.replace('"x"', '"y"'), GOOD.replace("1}", "2}")],
        "labels.jsonl:3: annotator 'a' labeled item 'x' twice with different labels (1 on line 1, 2 here)",
    ),
    "int and string": ([GOOD, '{"item_id": "x", "annotator_id": "a", "label": "1"}'], "labels.jsonl:2: annotator"),
    "empty": ([], "labels.jsonl: the file is empty"),
    "blank lines only": (["", "  "], "labels.jsonl: the file is empty"),
}


@pytest.mark.parametrize("case", BAD_FILES)
@pytest.mark.parametrize("command", [["agreement"], ["aggregate", "--method", "majority"]])
def test_bad_jsonl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, command: list[str]) -> None:
    lines, message = BAD_FILES[case]
    monkeypatch.chdir(tmp_path)
    Path("labels.jsonl").write_text("".join(line + "\n" for line in lines))
    assert_one_line_error(run(*command, "labels.jsonl"), "error: " + message)


def test_bad_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("labels.csv").write_text("x,a,1\ny,a,2\n")
    assert_one_line_error(run("agreement", "labels.csv"), "labels.csv:1: the first line must be the header")
    Path("labels.csv").write_text("item_id,annotator_id,label\nx,a,1\ny,a\n")
    assert_one_line_error(run("agreement", "labels.csv"), "labels.csv:3: 2 fields, the header has 3")
    Path("labels.csv").write_text("item_id,annotator_id,label\nx,a,1\nx,a,one\n")
    assert_one_line_error(run("agreement", "labels.csv"), "labels.csv:3: annotator 'a' labeled item 'x' twice")
    Path("labels.csv").write_text("item_id,annotator_id,label\n")
    assert_one_line_error(run("agreement", "labels.csv"), "labels.csv: the file is empty")


def test_missing_file_and_only_nulls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run("agreement", "nope.jsonl"), "error: nope.jsonl: no such file")
    assert_one_line_error(run("aggregate", "nope.csv", "--method", "majority"), "error: nope.csv: no such file")
    jsonl(Path("labels.jsonl"), [("x", "a", None)])
    assert_one_line_error(run("agreement", "labels.jsonl"), "labels.jsonl: no labels")
    Path("bad.jsonl").write_bytes(GOOD.encode() + b"\n\xff\n")
    assert_one_line_error(run("agreement", "bad.jsonl"), "bad.jsonl:2: not UTF-8 text")


def test_interval_and_ratio_need_integer_labels(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "labels.jsonl", [("x", "a", 1), ("x", "b", "cat")])
    for level in ("interval", "ratio"):
        assert_one_line_error(run("agreement", path, "--level", level), f"--level {level} needs integer labels")
    assert agreement(path, "--level", "ordinal")["level"] == "ordinal"


def test_unknown_method_and_level(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "labels.jsonl", THREE_BY_TWO)
    result = run("aggregate", path, "--method", "vote")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    for choice in ("majority", "weighted", "dawid-skene"):
        assert choice in result.stderr
    assert run("aggregate", path).exit_code == 2  # --method is required
    assert run("agreement", path, "--level", "cardinal").exit_code == 2


def test_console_script(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "labels.jsonl", THREE_BY_TWO)
    done = subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [LABELGRAPH, "quality", "agreement", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cohen_kappa"] == pytest.approx(0.4)
    done = subprocess.run(  # noqa: S603
        [LABELGRAPH, "quality", "aggregate", str(path), "--method", "majority"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert [json.loads(line)["label"] for line in done.stdout.splitlines()] == [1, 1, 2]
    done = subprocess.run(  # noqa: S603
        [LABELGRAPH, "quality", "agreement", str(tmp_path / "missing.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'missing.jsonl'}: no such file"]
