"""The label-schema language: parsing a definition, linting it, validating a value against it.

Pure functions over plain JSON; every finding is a Problem naming the field and the rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import Problem

KINDS = ("single_choice", "multi_choice", "rating", "number", "text")
MAX_FIELDS = 100
MAX_CLASSES = 1000
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    required: bool = False
    classes: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelSchema:
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def lint(definition: Any) -> list[Problem]:
    """Everything wrong with a schema definition; empty when it can be used."""
    if not isinstance(definition, Mapping):
        return [Problem("INVALID_SCHEMA", "The label schema must be a JSON object.", "labelSchema")]
    raw_fields = definition.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        return [Problem("INVALID_SCHEMA", "The label schema needs a non-empty 'fields' list.", "labelSchema.fields")]
    if len(raw_fields) > MAX_FIELDS:
        return [Problem("INVALID_SCHEMA", f"At most {MAX_FIELDS} fields.", "labelSchema.fields")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_fields):
        at = f"labelSchema.fields.{i}"
        if not isinstance(raw, Mapping):
            problems.append(Problem("INVALID_SCHEMA", "Each field must be an object.", at))
            continue
        name, kind = raw.get("name"), raw.get("kind")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(Problem("INVALID_NAME", "Field names are identifiers of up to 64 characters.", at))
        elif name in seen:
            problems.append(Problem("DUPLICATE_FIELD", f"Field '{name}' is defined twice.", at))
        else:
            seen.add(name)
        if kind not in KINDS:
            problems.append(Problem("UNKNOWN_KIND", f"Field kind must be one of {', '.join(KINDS)}.", f"{at}.kind"))
            continue
        if "required" in raw and not isinstance(raw["required"], bool):
            problems.append(Problem("INVALID_SCHEMA", "'required' must be true or false.", f"{at}.required"))
        problems.extend(_lint_kind(kind, raw, at))
    return problems


def _lint_kind(kind: str, raw: Mapping[str, Any], at: str) -> list[Problem]:
    problems: list[Problem] = []
    if kind in ("single_choice", "multi_choice"):
        classes = raw.get("classes")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes):
            return [
                Problem(
                    "INVALID_CLASSES",
                    "A choice field needs a non-empty list of class names.",
                    f"{at}.classes",
                )
            ]
        if len(classes) > MAX_CLASSES:
            problems.append(Problem("INVALID_CLASSES", f"At most {MAX_CLASSES} classes.", f"{at}.classes"))
        if len(set(classes)) != len(classes):
            problems.append(Problem("DUPLICATE_CLASS", "Class names must be unique within a field.", f"{at}.classes"))
    if kind in ("multi_choice", "rating", "number"):
        lo, hi = raw.get("min"), raw.get("max")
        for bound, key in ((lo, "min"), (hi, "max")):
            if bound is not None and (not _is_number(bound) or (kind != "number" and not isinstance(bound, int))):
                problems.append(Problem("INVALID_BOUNDS", f"'{key}' must be a number.", f"{at}.{key}"))
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            problems.append(Problem("INVALID_BOUNDS", "'min' is above 'max'.", at))
        if kind == "rating" and not (isinstance(lo, int) and isinstance(hi, int)):
            problems.append(Problem("INVALID_BOUNDS", "A rating needs integer 'min' and 'max'.", at))
    if kind == "text":
        pattern = raw.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except (re.error, TypeError):
                problems.append(Problem("INVALID_PATTERN", "'pattern' is not a valid regular expression.", at))
        max_length = raw.get("max_length")
        if max_length is not None and not (isinstance(max_length, int) and max_length > 0):
            problems.append(Problem("INVALID_BOUNDS", "'max_length' must be a positive integer.", at))
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse(definition: Mapping[str, Any]) -> LabelSchema:
    """A linted definition as typed specs (call lint first: this trusts its input)."""
    specs = []
    for raw in definition["fields"]:
        specs.append(
            FieldSpec(
                name=raw["name"],
                kind=raw["kind"],
                required=bool(raw.get("required", False)),
                classes=tuple(raw.get("classes") or ()),
                min=raw.get("min"),
                max=raw.get("max"),
                max_length=raw.get("max_length"),
                pattern=raw.get("pattern"),
            )
        )
    return LabelSchema(tuple(specs))


def validate(schema: LabelSchema, value: Any, at: str = "value") -> list[Problem]:
    """Everything wrong with a label value under the schema; empty when it may be saved."""
    if not isinstance(value, Mapping):
        return [Problem("INVALID_VALUE", "A label value must be a JSON object keyed by field name.", at)]
    problems = [
        Problem("UNKNOWN_FIELD", f"'{name}' is not a field of the label schema.", f"{at}.{name}")
        for name in value
        if schema.field(name) is None
    ]
    for spec in schema.fields:
        here = f"{at}.{spec.name}"
        present = value.get(spec.name)
        # An empty list or blank text answers nothing: a required field needs a real answer.
        if present is None or present == [] or (isinstance(present, str) and not present.strip()):
            if spec.required:
                problems.append(Problem("REQUIRED", f"'{spec.name}' is required.", here))
            continue
        problems.extend(CHECKS[spec.kind](spec, present, here))
    return problems


def _single(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, str):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes one class name.", at)]
    if v not in spec.classes:
        return [Problem("UNKNOWN_CLASS", f"'{v}' is not a class of '{spec.name}'.", at)]
    return []


def _multi(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, list) or not all(isinstance(c, str) for c in v):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes a list of class names.", at)]
    problems = [
        Problem("UNKNOWN_CLASS", f"'{c}' is not a class of '{spec.name}'.", at) for c in v if c not in spec.classes
    ]
    if len(set(v)) != len(v):
        problems.append(Problem("DUPLICATE_CLASS", f"'{spec.name}' lists a class twice.", at))
    if spec.min is not None and len(v) < spec.min:
        problems.append(Problem("TOO_FEW", f"'{spec.name}' needs at least {spec.min:g} classes.", at))
    if spec.max is not None and len(v) > spec.max:
        problems.append(Problem("TOO_MANY", f"'{spec.name}' allows at most {spec.max:g} classes.", at))
    return problems


def _rating(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, int) or isinstance(v, bool):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes an integer rating.", at)]
    return _in_bounds(spec, v, at)


def _number(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not _is_number(v):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes a finite number.", at)]
    return _in_bounds(spec, v, at)


def _in_bounds(spec: FieldSpec, v: float, at: str) -> list[Problem]:
    if (spec.min is not None and v < spec.min) or (spec.max is not None and v > spec.max):
        return [Problem("OUT_OF_RANGE", f"'{spec.name}' must lie within {spec.min}..{spec.max}.", at)]
    return []


def _text(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, str):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes text.", at)]
    if spec.max_length is not None and len(v) > spec.max_length:
        return [Problem("TOO_LONG", f"'{spec.name}' allows at most {spec.max_length} characters.", at)]
    if spec.pattern is not None and not re.fullmatch(spec.pattern, v):
        return [Problem("PATTERN_MISMATCH", f"'{spec.name}' does not match its pattern.", at)]
    return []


CHECKS: dict[str, Callable[[FieldSpec, Any, str], list[Problem]]] = {
    "single_choice": _single,
    "multi_choice": _multi,
    "rating": _rating,
    "number": _number,
    "text": _text,
}
