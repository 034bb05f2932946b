"""`labelgraph schema check`: lint a label-schema file (and a guideline file) offline, in a user's CI
before proposing a change, with the very checks the server runs (schema_language.lint and the
guideline content check), so a clean check here is not refused there for what a file can show.

The schema file holds the definition itself (`{"fields": [...], "rules": [...]}`), as JSON or, when
PyYAML is installed, YAML (.yaml, .yml). The guideline file is Markdown (.md: the body) or JSON/YAML:
either `{"body": "...", "content": {...}}` (saveGuidelineDraft's parts) or the content alone
(`{"definitions", "examples", "edgeCases", "decisionTree"}`). What needs the project's data (that an
`itemId` names one of its items) only the server can check.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import Problem

YAML_SUFFIXES = (".yaml", ".yml")


class Unreadable(Exception):
    """The file cannot be read or parsed (one line; exit code 2)."""


@dataclass(frozen=True)
class Finding:
    """One problem of one file: the server's code, the path in the document, its message."""

    file: Path
    code: str
    field: str | None
    message: str

    @classmethod
    def of(cls, file: Path, problem: Problem) -> Finding:
        return cls(file, problem.code, problem.field, problem.message)

    def line(self) -> str:
        where = f" at {self.field}" if self.field else ""
        return f"{self.file}: {self.code}{where}: {self.message}"


@dataclass(frozen=True)
class Checked:
    findings: list[Finding]
    notes: list[str]  # reported, never a failure (classes a decision tree cannot reach)


def check_files(schema_file: Path, guideline_file: Path | None) -> Checked:
    from app.guidelines import content as guideline_content
    from app.taxonomy import schema_language

    definition = read_document(schema_file)
    guideline = _guideline_parts(guideline_file) if guideline_file is not None else None
    findings = [Finding.of(schema_file, p) for p in schema_language.lint(definition)]
    notes: list[str] = []
    if guideline is None or guideline_file is None:
        return Checked(findings, notes)
    if findings:
        notes.append(f"{guideline_file}: not checked, the schema it refers to has problems")
        return Checked(findings, notes)
    body, content = guideline
    schema = schema_language.parse(definition)
    if body is not None:  # the checks saveGuidelineDraft makes, with its codes
        findings.extend(Finding.of(guideline_file, p) for p in guideline_content.check_body(body))
    checked = guideline_content.check(content, schema)
    findings.extend(Finding.of(guideline_file, p) for p in checked.problems)
    for ref in checked.unreachable:
        notes.append(f"{guideline_file}: the decision tree never decides {ref.field} = {ref.class_}")
    return Checked(findings, notes)


def read_document(path: Path) -> Any:
    """A JSON (or, with PyYAML, YAML) document; Unreadable with one line otherwise."""
    text = _text(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            yaml: Any = importlib.import_module("yaml")
        except ImportError:
            raise Unreadable(f"{path}: reading YAML needs PyYAML (pip install pyyaml); or give JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise Unreadable(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"{path} is not valid JSON: {exc}") from None


def _guideline_parts(path: Path) -> tuple[Any, Any]:
    """(body, content) of a guideline file."""
    if path.suffix.lower() in (".md", ".markdown"):
        return _text(path), None
    document = read_document(path)
    if isinstance(document, Mapping) and ("body" in document or "content" in document):
        return document.get("body"), document.get("content")
    return None, document


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable(f"{path} does not exist") from None
    except IsADirectoryError:
        raise Unreadable(f"{path} is a directory, not a file") from None
    except UnicodeDecodeError:
        raise Unreadable(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror}") from None
