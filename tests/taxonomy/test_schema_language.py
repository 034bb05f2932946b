"""The label-schema language (app/taxonomy/schema_language.py): lint a definition, parse it,
validate label values against it.

Example tests pin each rule and the field path it reports; property tests check that any value
built from a schema's own classes validates, that any class outside them is rejected, and that
no JSON input, however odd, makes lint or validate raise.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.taxonomy.schema_language import FieldSpec, lint, parse, validate
from tests.conftest import SCHEMA
from tests.taxonomy.support import codes, schema_of

PROPERTY = settings(database=None, deadline=None, max_examples=200)


# --- lint --------------------------------------------------------------------------------------


def test_the_test_programs_schema_is_clean() -> None:
    assert lint(SCHEMA) == []


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ([], [("INVALID_SCHEMA", "labelSchema")]),
        ({}, [("INVALID_SCHEMA", "labelSchema.fields")]),
        ({"fields": []}, [("INVALID_SCHEMA", "labelSchema.fields")]),
        ({"fields": ["sentiment"]}, [("INVALID_SCHEMA", "labelSchema.fields.0")]),
        ({"fields": [{"name": "1st", "kind": "text"}]}, [("INVALID_NAME", "labelSchema.fields.0")]),
        (
            {"fields": [{"name": "a", "kind": "text"}, {"name": "a", "kind": "text"}]},
            [("DUPLICATE_FIELD", "labelSchema.fields.1")],
        ),
        ({"fields": [{"name": "a", "kind": "colour"}]}, [("UNKNOWN_KIND", "labelSchema.fields.0.kind")]),
        (
            {"fields": [{"name": "a", "kind": "text", "required": "yes"}]},
            [("INVALID_SCHEMA", "labelSchema.fields.0.required")],
        ),
        ({"fields": [{"name": "a", "kind": "single_choice"}]}, [("INVALID_CLASSES", "labelSchema.fields.0.classes")]),
        (
            {"fields": [{"name": "a", "kind": "multi_choice", "classes": ["x", ""]}]},
            [("INVALID_CLASSES", "labelSchema.fields.0.classes")],
        ),
        (
            {"fields": [{"name": "a", "kind": "single_choice", "classes": ["x", "x"]}]},
            [("DUPLICATE_CLASS", "labelSchema.fields.0.classes")],
        ),
        ({"fields": [{"name": "a", "kind": "rating", "min": 1}]}, [("INVALID_BOUNDS", "labelSchema.fields.0")]),
        (
            {"fields": [{"name": "a", "kind": "rating", "min": 1.5, "max": 5}]},
            [("INVALID_BOUNDS", "labelSchema.fields.0.min"), ("INVALID_BOUNDS", "labelSchema.fields.0")],
        ),
        (
            {"fields": [{"name": "a", "kind": "number", "min": 3, "max": 1}]},
            [("INVALID_BOUNDS", "labelSchema.fields.0")],
        ),
        ({"fields": [{"name": "a", "kind": "number", "max": True}]}, [("INVALID_BOUNDS", "labelSchema.fields.0.max")]),
        ({"fields": [{"name": "a", "kind": "text", "pattern": "("}]}, [("INVALID_PATTERN", "labelSchema.fields.0")]),
        ({"fields": [{"name": "a", "kind": "text", "max_length": 0}]}, [("INVALID_BOUNDS", "labelSchema.fields.0")]),
        (
            {"fields": [{"name": f"f{i}", "kind": "text"} for i in range(101)]},
            [("INVALID_SCHEMA", "labelSchema.fields")],
        ),
    ],
    ids=[
        "not an object",
        "no fields",
        "empty fields",
        "field not an object",
        "bad name",
        "duplicate field",
        "unknown kind",
        "required not a boolean",
        "choice without classes",
        "empty class name",
        "duplicate class",
        "rating without max",
        "fractional rating bound",
        "min above max",
        "boolean bound",
        "bad pattern",
        "zero max_length",
        "too many fields",
    ],
)
def test_lint_names_each_problem_and_where_it_is(definition: Any, expected: list[tuple[str, str]]) -> None:
    assert codes(lint(definition)) == expected


def test_lint_reports_every_problem_at_once() -> None:
    definition = {"fields": [{"name": "a", "kind": "colour"}, {"name": "b", "kind": "single_choice", "classes": []}]}
    assert codes(lint(definition)) == [
        ("UNKNOWN_KIND", "labelSchema.fields.0.kind"),
        ("INVALID_CLASSES", "labelSchema.fields.1.classes"),
    ]


# --- parse -------------------------------------------------------------------------------------


def test_parse_gives_typed_specs_with_defaults() -> None:
    schema = parse(SCHEMA)
    assert schema.field("sentiment") == FieldSpec(
        name="sentiment", kind="single_choice", required=True, classes=("pos", "neg", "neu")
    )
    topics = schema.field("topics")
    assert topics is not None
    assert (topics.required, topics.min, topics.max, topics.pattern) == (False, None, None, None)
    assert schema.field("nope") is None


# --- validate ----------------------------------------------------------------------------------

RICH = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"], "min": 1, "max": 2},
        {"name": "stars", "kind": "rating", "min": 1, "max": 5},
        {"name": "score", "kind": "number", "min": 0, "max": 1},
        {"name": "note", "kind": "text", "max_length": 10},
        {"name": "sku", "kind": "text", "pattern": "[A-Z]{3}-[0-9]+"},
    ]
}


def test_a_full_valid_value_passes() -> None:
    value = {"sentiment": "pos", "topics": ["price"], "stars": 5, "score": 0.5, "note": "ok", "sku": "ABC-12"}
    assert validate(parse(RICH), value) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pos", [("INVALID_VALUE", "value")]),
        ({}, [("REQUIRED", "value.sentiment")]),
        ({"sentiment": None}, [("REQUIRED", "value.sentiment")]),
        ({"sentiment": "pos", "mood": "x"}, [("UNKNOWN_FIELD", "value.mood")]),
        ({"sentiment": ["pos"]}, [("WRONG_KIND", "value.sentiment")]),
        ({"sentiment": "meh"}, [("UNKNOWN_CLASS", "value.sentiment")]),
        ({"sentiment": "pos", "topics": "price"}, [("WRONG_KIND", "value.topics")]),
        ({"sentiment": "pos", "topics": ["price", "price"]}, [("DUPLICATE_CLASS", "value.topics")]),
        ({"sentiment": "pos", "topics": ["price", "cost"]}, [("UNKNOWN_CLASS", "value.topics")]),
        ({"sentiment": "pos", "topics": ["price", "quality", "delivery"]}, [("TOO_MANY", "value.topics")]),
        ({"sentiment": "pos", "stars": 6}, [("OUT_OF_RANGE", "value.stars")]),
        ({"sentiment": "pos", "stars": 4.5}, [("WRONG_KIND", "value.stars")]),
        ({"sentiment": "pos", "stars": True}, [("WRONG_KIND", "value.stars")]),
        ({"sentiment": "pos", "score": float("nan")}, [("WRONG_KIND", "value.score")]),
        ({"sentiment": "pos", "score": 1.5}, [("OUT_OF_RANGE", "value.score")]),
        ({"sentiment": "pos", "score": "0.5"}, [("WRONG_KIND", "value.score")]),
        ({"sentiment": "pos", "note": "x" * 11}, [("TOO_LONG", "value.note")]),
        ({"sentiment": "pos", "note": 3}, [("WRONG_KIND", "value.note")]),
        ({"sentiment": "pos", "sku": "ABC-12 and more"}, [("PATTERN_MISMATCH", "value.sku")]),
    ],
    ids=[
        "not an object",
        "required missing",
        "required null",
        "unknown field",
        "single takes one class",
        "unknown single class",
        "multi takes a list",
        "multi lists a class twice",
        "unknown multi class",
        "too many classes",
        "rating out of range",
        "fractional rating",
        "boolean rating",
        "nan",
        "number out of range",
        "number as text",
        "text too long",
        "text not text",
        "pattern must match whole text",
    ],
)
def test_validate_names_each_problem_and_where_it_is(value: Any, expected: list[tuple[str, str]]) -> None:
    assert codes(validate(parse(RICH), value)) == expected


def test_an_empty_required_multi_choice_counts_as_missing() -> None:
    schema = schema_of({"name": "topics", "kind": "multi_choice", "classes": ["a"], "required": True})
    assert codes(validate(schema, {"topics": []})) == [("REQUIRED", "value.topics")]


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_text_in_a_required_field_counts_as_missing(blank: str) -> None:
    schema = schema_of({"name": "notes", "kind": "text", "required": True})
    assert codes(validate(schema, {"notes": blank})) == [("REQUIRED", "value.notes")]


def test_problems_are_reported_under_the_given_path() -> None:
    # Reviewers' corrections are validated the same way, reported under their own input name.
    assert codes(validate(parse(SCHEMA), {"sentiment": "meh"}, "correctedValue")) == [
        ("UNKNOWN_CLASS", "correctedValue.sentiment")
    ]


# --- properties --------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
# Blank text as a value answers nothing, so a blank class name could never be chosen: keep them out.
# NUL and lone surrogates are no storable text (app.json_bounds).
class_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=12
).filter(str.strip)
class_lists = st.lists(class_text, min_size=1, max_size=8, unique=True)


@st.composite
def field_definitions(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["single_choice", "multi_choice", "rating", "number", "text"]))
    field: dict[str, Any] = {"name": name, "kind": kind, "required": draw(st.booleans())}
    if kind in ("single_choice", "multi_choice"):
        field["classes"] = draw(class_lists)
    elif kind == "rating":
        low = draw(st.integers(-5, 5))
        field.update(min=low, max=draw(st.integers(low, low + 10)))
    elif kind == "number":
        low = draw(st.floats(-1e6, 1e6))
        field.update(min=low, max=draw(st.floats(low, 2e6)))
    elif draw(st.booleans()):
        field["pattern"] = "[a-z]{1,8}(-[0-9]{1,3})?"
    else:
        field["max_length"] = draw(st.integers(1, 40))
    return field


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    field_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    return {"fields": [draw(field_definitions(name)) for name in field_names]}


def value_for(draw: st.DrawFn, spec: FieldSpec) -> Any:
    if spec.kind == "single_choice":
        return draw(st.sampled_from(spec.classes))
    if spec.kind == "multi_choice":
        return draw(st.lists(st.sampled_from(spec.classes), min_size=1, unique=True))
    if spec.kind == "rating":
        return draw(st.integers(int(spec.min or 0), int(spec.max or 0)))
    if spec.kind == "number":
        return draw(st.floats(spec.min, spec.max))
    text = (
        st.from_regex(spec.pattern, fullmatch=True)
        if spec.pattern is not None
        else st.text(max_size=spec.max_length or 0)
    )
    # Blank text does not answer a required field (it counts as missing).
    return draw(text.filter(lambda t: t.strip()) if spec.required else text)


@st.composite
def schemas_with_values(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    definition = draw(definitions())
    value = {
        spec.name: value_for(draw, spec) for spec in parse(definition).fields if spec.required or draw(st.booleans())
    }
    return definition, value


@PROPERTY
@given(definitions())
def test_generated_definitions_lint_clean(definition: dict[str, Any]) -> None:
    assert lint(definition) == []


@PROPERTY
@given(schemas_with_values())
def test_any_value_built_from_the_schema_validates(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    definition, value = case
    assert validate(parse(definition), value) == []


@PROPERTY
# Likewise a blank stranger would read as no answer rather than as an unknown class.
@given(class_lists, class_text, st.sampled_from(["single_choice", "multi_choice"]))
def test_any_class_outside_the_schema_is_rejected(classes: list[str], stranger: str, kind: str) -> None:
    if stranger in classes:
        classes = [c for c in classes if c != stranger] or [stranger + "_other"]
    schema = schema_of({"name": "field", "kind": kind, "classes": classes})
    value = stranger if kind == "single_choice" else [classes[0], stranger]

    assert ("UNKNOWN_CLASS", "value.field") in codes(validate(schema, {"field": value}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@PROPERTY
@given(schemas_with_values(), json_values)
def test_validate_never_raises_on_any_json(case: tuple[dict[str, Any], dict[str, Any]], junk: Any) -> None:
    definition, value = case
    schema = parse(definition)
    for candidate in (junk, {**value, **(junk if isinstance(junk, dict) else {})}, dict.fromkeys(value, junk)):
        assert isinstance(validate(schema, candidate), list)


# Plausible field definitions with any of their settings wrong, in any JSON way.
fuzzy_fields = st.fixed_dictionaries(
    {
        "name": names | json_values,
        "kind": st.sampled_from(["single_choice", "multi_choice", "rating", "number", "text"]),
    },
    optional={
        "classes": st.lists(st.text(max_size=5), max_size=4) | json_values,
        "min": st.integers(-3, 3) | json_values,
        "max": st.integers(-3, 3) | json_values,
        "required": st.booleans() | json_values,
        "pattern": st.sampled_from(["[a-z]+", "(", "a*"]) | json_values,
        "max_length": st.integers(-1, 5) | json_values,
    },
)


fuzzy_definitions = (
    st.fixed_dictionaries({"fields": st.lists(fuzzy_fields, min_size=1, max_size=3)})
    | st.fixed_dictionaries({"fields": st.lists(fuzzy_fields | json_values, max_size=3)})
    | json_values
)


@PROPERTY
@given(fuzzy_definitions, json_values)
def test_lint_never_raises_and_what_it_passes_can_be_used(definition: Any, value: Any) -> None:
    if lint(definition) == []:
        # parse trusts linted input: it must never meet one it cannot read, nor build a schema
        # that validate cannot apply.
        schema = parse(definition)
        assert isinstance(validate(schema, value), list)
        assert isinstance(validate(schema, dict.fromkeys((f.name for f in schema.fields), value)), list)


def test_keys_a_kind_does_not_read_are_ignored_by_parse_as_by_lint() -> None:
    # Found by the property test above: lint passed a number field with `"classes": true`, and
    # parse then tried to iterate it.
    definition = {"fields": [{"name": "n", "kind": "number", "classes": True, "labels": 3}]}
    assert lint(definition) == []
    assert parse(definition).fields[0].classes == ()


def test_lint_rejects_blank_class_names() -> None:
    definition = {"fields": [{"name": "s", "kind": "single_choice", "classes": ["ok", "  "]}]}
    assert [p.code for p in lint(definition)] == ["INVALID_CLASSES"]
