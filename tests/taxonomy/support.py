"""Shared by the schema-language tests: building a linted schema, reading problems compactly."""

from __future__ import annotations

from typing import Any

from app.taxonomy.schema_language import LabelSchema, lint, parse


def codes(problems: list[Any]) -> list[tuple[str, str | None]]:
    return [(p.code, p.field) for p in problems]


def schema_of(*fields: dict[str, Any]) -> LabelSchema:
    definition = {"fields": list(fields)}
    assert lint(definition) == []
    return parse(definition)
