"""`labelgraph schema check`: the server's own lint of a schema file (and a guideline file against
it), offline, in a user's CI: exit 0 clean, 1 with the typed problems, 2 for a file it cannot read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from app.cli import cli

SCHEMA = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality"]},
    ]
}
GUIDELINE = {
    "definitions": [{"field": "sentiment", "class": "pos", "definition": "The author is happy overall."}],
    "decisionTree": {
        "root": "q1",
        "nodes": [
            {
                "id": "q1",
                "question": "Is it favourable?",
                "answers": [{"answer": "yes", "class": "pos"}, {"answer": "no", "class": "neg"}],
            }
        ],
    },
}


def check(*args: str) -> Result:
    # No database anywhere: a URL that could not even be parsed shows the check never opens one.
    return CliRunner().invoke(cli, ["schema", "check", *args], env={"LABELGRAPH_DATABASE_URL": "not a url"})


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_clean_schema_and_guideline_exit_0(tmp_path: Path) -> None:
    schema = write(tmp_path / "schema.json", SCHEMA)
    guideline = write(tmp_path / "guideline.json", GUIDELINE)

    result = check(str(schema), "--guideline", str(guideline))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "note: " + f"{guideline}: the decision tree never decides sentiment = neu",
        f"{schema}: no problems; {guideline}: no problems",
    ]


def test_problems_are_listed_with_code_and_path_and_exit_1(tmp_path: Path) -> None:
    broken = {
        "fields": [
            {"name": "sentiment", "kind": "single_choice", "classes": ["pos"]},
            {"name": "sentiment", "kind": "single_choice", "classes": ["neg"]},
            {"name": "size", "kind": "dimension"},
        ]
    }
    schema = write(tmp_path / "schema.json", broken)

    result = check(str(schema))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{schema}: DUPLICATE_FIELD at labelSchema.fields.1: Field 'sentiment' is defined twice.",
        f"{schema}: UNKNOWN_KIND at labelSchema.fields.2.kind: Field kind must be one of "
        "single_choice, multi_choice, rating, number, text, taxonomy, spans, boxes.",
    ]
    assert result.stderr == "2 problems\n"


def test_a_guideline_is_checked_against_the_schema(tmp_path: Path) -> None:
    schema = write(tmp_path / "schema.json", SCHEMA)
    content = {"definitions": [{"field": "sentiment", "class": "angry", "definition": "Very unhappy."}]}
    guideline = write(tmp_path / "draft.json", {"body": "# Guide", "content": content})

    result = check(str(schema), "--guideline", str(guideline))

    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{guideline}: UNKNOWN_CLASS at content.definitions.0")


def test_yaml_and_markdown_files_are_read(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    schema = tmp_path / "schema.yaml"
    schema.write_text("fields:\n  - name: sentiment\n    kind: single_choice\n    classes: [pos, neg]\n")
    guideline = tmp_path / "guideline.md"
    guideline.write_text("# Sentiment\n\nLabel the author's overall feeling.\n")

    result = check(str(schema), "--guideline", str(guideline))

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("missing.json", None, "{path} does not exist", id="missing"),
        pytest.param("schema.json", "{not json", "{path} is not valid JSON: ", id="not-json"),
        pytest.param("schema.yaml", "fields: [unclosed", "{path} is not valid YAML: ", id="not-yaml"),
        pytest.param("schema.json", b"\xff\xfe", "{path} is not UTF-8 text", id="not-utf8"),
    ],
)
def test_a_file_it_cannot_read_is_one_line_and_exit_2(
    tmp_path: Path, name: str, text: str | bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)

    result = check(str(path))

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: " + expected.format(path=path))


def test_an_unreadable_guideline_is_exit_2_too(tmp_path: Path) -> None:
    schema = write(tmp_path / "schema.json", SCHEMA)

    result = check(str(schema), "--guideline", str(tmp_path / "nowhere.md"))

    assert (result.exit_code, result.stderr) == (2, f"error: {tmp_path / 'nowhere.md'} does not exist\n")
