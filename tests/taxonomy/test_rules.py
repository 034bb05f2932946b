"""Cross-field rules of the label-schema language (app/taxonomy/schema_language.py):
`requires` (if field A holds class X, field B must be answered or hold class Y) and `excludes`
(class X in A cannot go with class Y in B).

Example tests pin lint of the rules list and each violation with its code, field path and rule
index; property tests check that rules never fire on values they do not concern, that a
required consequence always silences its rule, and that odd rule JSON never makes lint raise.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.taxonomy.schema_language import Condition, Rule, lint, parse, validate
from tests.taxonomy.support import codes

PROPERTY = settings(database=None, deadline=None, max_examples=200)

FIELDS: list[dict[str, Any]] = [
    {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
    {"name": "topics", "kind": "multi_choice", "classes": ["price", "praise", "delivery"]},
    {"name": "reason", "kind": "text"},
    {"name": "stars", "kind": "rating", "min": 1, "max": 5},
    {
        "name": "category",
        "kind": "taxonomy",
        "multiple": True,
        "tree": [{"name": "food", "children": [{"name": "fruit"}]}],
    },
    {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]},
]
RULES = [
    {"kind": "requires", "if": {"field": "sentiment", "class": "neg"}, "then": {"field": "reason"}},
    {"kind": "excludes", "if": {"field": "sentiment", "class": "neg"}, "and": {"field": "topics", "class": "praise"}},
    {"kind": "requires", "if": {"field": "category", "class": "fruit"}, "then": {"field": "topics", "class": "price"}},
    {"kind": "excludes", "if": {"field": "entities", "class": "ORG"}, "and": {"field": "stars"}},
    {"kind": "requires", "if": {"field": "stars"}, "then": {"field": "sentiment", "class": "pos"}},
]
ITEM = {"data": {"text": "Acme sells fruit"}}


def ruled(*rules: dict[str, Any]) -> Any:
    definition = {"fields": FIELDS, "rules": list(rules)}
    assert lint(definition) == []
    return parse(definition)


# --- lint --------------------------------------------------------------------------------------


def test_the_example_rules_lint_clean_and_parse() -> None:
    schema = ruled(*RULES)
    assert schema.rules[0] == Rule("requires", Condition("sentiment", "neg"), Condition("reason"))
    assert schema.rules[1] == Rule("excludes", Condition("sentiment", "neg"), Condition("topics", "praise"))


def test_a_schema_without_rules_has_none() -> None:
    assert parse({"fields": FIELDS}).rules == ()


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"kind": "requires"}, [("INVALID_RULE", "labelSchema.rules")]),
        (["requires"], [("INVALID_RULE", "labelSchema.rules.0")]),
        ([{"kind": "implies"}], [("INVALID_RULE", "labelSchema.rules.0.kind")]),
        ([{"kind": "requires", "if": {"field": "sentiment"}}], [("INVALID_RULE", "labelSchema.rules.0.then")]),
        (
            [{"kind": "excludes", "if": "sentiment", "and": {"field": "topics"}}],
            [("INVALID_RULE", "labelSchema.rules.0.if")],
        ),
        (
            [{"kind": "requires", "if": {"field": "mood"}, "then": {"field": "reason"}}],
            [("UNKNOWN_FIELD", "labelSchema.rules.0.if.field")],
        ),
        (
            [{"kind": "requires", "if": {"field": "sentiment"}, "then": {"field": ["reason"]}}],
            [("UNKNOWN_FIELD", "labelSchema.rules.0.then.field")],
        ),
        (
            [{"kind": "requires", "if": {"field": "sentiment", "class": "angry"}, "then": {"field": "reason"}}],
            [("UNKNOWN_CLASS", "labelSchema.rules.0.if.class")],
        ),
        (
            [{"kind": "excludes", "if": {"field": "sentiment"}, "and": {"field": "category", "class": "meat"}}],
            [("UNKNOWN_CLASS", "labelSchema.rules.0.and.class")],
        ),
        (
            [{"kind": "requires", "if": {"field": "stars", "class": "5"}, "then": {"field": "reason"}}],
            [("INVALID_RULE", "labelSchema.rules.0.if.class")],
        ),
        (
            [{"kind": "requires", "if": {"field": "topics", "class": None}, "then": {"field": "reason"}}],
            [("UNKNOWN_CLASS", "labelSchema.rules.0.if.class")],
        ),
        (
            [{"kind": "requires", "if": {"field": "sentiment"}, "then": {"field": "reason"}}] * 101,
            [("INVALID_RULE", "labelSchema.rules")],
        ),
    ],
    ids=[
        "rules not a list",
        "rule not an object",
        "unknown rule kind",
        "requires without then",
        "condition not an object",
        "unknown field in if",
        "field name not text",
        "unknown class of a choice",
        "unknown class of a taxonomy",
        "class of a field without classes",
        "class not text",
        "too many rules",
    ],
)
def test_lint_names_each_rule_problem_and_where_it_is(rules: Any, expected: list[tuple[str, str]]) -> None:
    assert codes(lint({"fields": FIELDS, "rules": rules})) == expected


def test_rules_may_name_span_labels_and_taxonomy_classes() -> None:
    assert ruled(RULES[2], RULES[3]).rules[1].condition == Condition("entities", "ORG")


def test_field_and_rule_problems_are_reported_together() -> None:
    fields = [{"name": "a", "kind": "colour"}, {"name": "b", "kind": "text"}]
    rules = [{"kind": "requires", "if": {"field": "b"}, "then": {"field": "c"}}]
    assert codes(lint({"fields": fields, "rules": rules})) == [
        ("UNKNOWN_KIND", "labelSchema.fields.0.kind"),
        ("UNKNOWN_FIELD", "labelSchema.rules.0.then.field"),
    ]


# --- validate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"sentiment": "neg", "reason": "late"}, []),
        ({"sentiment": "pos"}, []),
        ({"sentiment": "neg"}, [("RULE_REQUIRES", "value.reason")]),
        ({"sentiment": "neg", "reason": "  "}, [("RULE_REQUIRES", "value.reason")]),
        ({"sentiment": "neg", "reason": "x", "topics": ["praise"]}, [("RULE_EXCLUDES", "value.topics")]),
        ({"sentiment": "pos", "topics": ["praise"]}, []),
        ({"sentiment": "pos", "category": ["food", "fruit"]}, [("RULE_REQUIRES", "value.topics")]),
        ({"sentiment": "pos", "category": ["food", "fruit"], "topics": ["price"]}, []),
        ({"sentiment": "pos", "category": ["food"]}, []),
        (
            {"sentiment": "pos", "stars": 4, "entities": [{"start": 0, "end": 4, "label": "ORG"}]},
            [("RULE_EXCLUDES", "value.stars")],
        ),
        ({"sentiment": "pos", "stars": 4, "entities": [{"start": 0, "end": 4, "label": "PER"}]}, []),
        ({"sentiment": "neu", "stars": 4}, [("RULE_REQUIRES", "value.sentiment")]),
        (
            {"sentiment": "neg", "stars": 1, "topics": ["praise"]},
            [
                ("RULE_REQUIRES", "value.reason"),
                ("RULE_EXCLUDES", "value.topics"),
                ("RULE_REQUIRES", "value.sentiment"),
            ],
        ),
    ],
    ids=[
        "requires met",
        "condition not met",
        "requires broken",
        "blank text does not meet requires",
        "excluded combination",
        "excluded class alone is fine",
        "requires a class",
        "required class present",
        "taxonomy parent does not trigger the child's rule",
        "span label excludes a field",
        "other span label",
        "any answer triggers a class-less condition",
        "every broken rule reported",
    ],
)
def test_rule_violations_name_the_field(value: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert codes(validate(ruled(*RULES), value, item=ITEM)) == expected


def test_the_message_names_the_rule_index() -> None:
    schema = ruled(*RULES)
    (requires,) = validate(schema, {"sentiment": "neg"})
    (excludes,) = validate(schema, {"sentiment": "neg", "reason": "x", "topics": ["praise"]})
    assert requires.message.startswith("Rule 0:")
    assert excludes.message.startswith("Rule 1:")


def test_rules_report_under_the_given_path() -> None:
    assert codes(validate(ruled(*RULES), {"sentiment": "neg"}, "correctedValue")) == [
        ("RULE_REQUIRES", "correctedValue.reason")
    ]


def test_rules_judge_values_of_the_wrong_shape_without_raising() -> None:
    # The field's own check reports the shape; the rule just does not see the class.
    value = {"sentiment": ["neg"], "topics": "praise", "entities": "ORG", "stars": 2}
    assert codes(validate(ruled(*RULES), value, item=ITEM)) == [
        ("WRONG_KIND", "value.sentiment"),
        ("WRONG_KIND", "value.topics"),
        ("WRONG_KIND", "value.entities"),
        ("RULE_REQUIRES", "value.sentiment"),
    ]


# --- properties --------------------------------------------------------------------------------

sentiments = st.sampled_from(["pos", "neg", "neu"])
topic_lists = st.lists(st.sampled_from(["price", "praise", "delivery"]), unique=True)


@PROPERTY
@given(sentiments, topic_lists, st.text(max_size=5))
def test_requires_fires_exactly_when_its_condition_holds_and_its_consequence_is_missing(
    sentiment: str, topics: list[str], reason: str
) -> None:
    value = {"sentiment": sentiment, "topics": topics, "reason": reason}
    fired = ("RULE_REQUIRES", "value.reason") in codes(validate(ruled(RULES[0]), value))
    assert fired == (sentiment == "neg" and not reason.strip())


@PROPERTY
@given(sentiments, topic_lists)
def test_excludes_fires_exactly_on_the_impossible_combination(sentiment: str, topics: list[str]) -> None:
    problems = validate(ruled(RULES[1]), {"sentiment": sentiment, "topics": topics})
    assert (problems != []) == (sentiment == "neg" and "praise" in topics)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)
field_names = st.sampled_from([f["name"] for f in FIELDS] + ["mood"])
class_names = st.sampled_from(["pos", "neg", "praise", "fruit", "ORG", "meat"])
conditions = st.fixed_dictionaries({"field": field_names | json_values}, optional={"class": class_names | json_values})
fuzzy_rules = st.fixed_dictionaries(
    {"kind": st.sampled_from(["requires", "excludes"]) | json_values},
    optional={"if": conditions | json_values, "then": conditions | json_values, "and": conditions | json_values},
)


@PROPERTY
@given(st.lists(fuzzy_rules | json_values, max_size=4) | json_values, json_values)
def test_lint_never_raises_on_odd_rules_and_what_it_passes_can_be_used(rules: Any, junk: Any) -> None:
    definition = {"fields": FIELDS, "rules": rules}
    if lint(definition) == []:
        schema = parse(definition)
        for value in ({"sentiment": "neg"}, dict.fromkeys(["sentiment", "topics", "stars", "entities"], junk)):
            assert isinstance(validate(schema, value), list)
            assert isinstance(validate(schema, value, item=ITEM), list)
