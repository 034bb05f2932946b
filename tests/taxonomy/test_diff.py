"""What a schema change request changes (app/taxonomy/diff.py): fields, classes and rules.

Example tests pin each kind of change with the exact entry it produces, and the order entries
come in; property tests check that a definition compared with itself is no change, and that a
copy with fields and classes renamed (and the mapping saying so) is renames and nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from app.taxonomy.diff import ClassChange, FieldChange, RuleChange, SchemaDiff, diff
from app.taxonomy.mapping import SchemaMapping
from tests.taxonomy.test_mapping import PROPERTY, definitions, renamings

SENTIMENT = {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True}
TOPICS = {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"], "max": 2}
REASON = {"name": "reason", "kind": "text", "pattern": "[a-z ]+"}
TREE = [
    {"name": "animal", "children": [{"name": "dog"}, {"name": "cat"}]},
    {"name": "plant", "children": [{"name": "tree", "children": [{"name": "oak"}]}]},
]
CATEGORY = {"name": "category", "kind": "taxonomy", "tree": TREE}
ENTITIES = {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]}
REQUIRES = {"kind": "requires", "if": {"field": "sentiment", "class": "neg"}, "then": {"field": "reason"}}
EXCLUDES = {
    "kind": "excludes",
    "if": {"field": "sentiment", "class": "neg"},
    "and": {"field": "topics", "class": "price"},
}


def definition(*fields: dict[str, Any], rules: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"fields": list(fields), "rules": list(rules)}


def changed(field: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {**field, **settings}


OLD = definition(SENTIMENT, TOPICS, REASON, CATEGORY, ENTITIES, rules=(REQUIRES, EXCLUDES))


def test_a_definition_compared_with_itself_is_no_change() -> None:
    result = diff(OLD, OLD, SchemaMapping.IDENTITY)
    assert result == SchemaDiff()
    assert result.is_empty()


# --- fields ------------------------------------------------------------------------------------


def test_fields_added_and_removed() -> None:
    note = {"name": "note", "kind": "text"}
    result = diff(definition(SENTIMENT, REASON), definition(note, SENTIMENT), SchemaMapping.IDENTITY)
    assert result.fields == (FieldChange("reason", "REMOVED"), FieldChange("note", "ADDED"))
    assert not result.is_empty()


def test_a_field_the_mapping_drops_is_removed_even_if_a_new_field_takes_its_name() -> None:
    fresh = {"name": "reason", "kind": "rating", "min": 1, "max": 5}
    result = diff(definition(SENTIMENT, REASON), definition(SENTIMENT, fresh), SchemaMapping(fields={"reason": None}))
    assert result.fields == (FieldChange("reason", "REMOVED"), FieldChange("reason", "ADDED"))


def test_a_renamed_field_lists_its_other_changes() -> None:
    mood = changed(SENTIMENT, name="mood", required=False)
    result = diff(definition(SENTIMENT), definition(mood), SchemaMapping(fields={"sentiment": "mood"}))
    assert result.fields == (FieldChange("mood", "RENAMED", "sentiment", ("required: true -> false",)),)
    assert result.classes == ()


@pytest.mark.parametrize(
    ("before", "after", "details"),
    [
        (TOPICS, changed(TOPICS, max=3), ("max: 2 -> 3",)),
        (TOPICS, changed(TOPICS, max=None, min=1), ("min: none -> 1", "max: 2 -> none")),
        (
            REASON,
            changed(REASON, pattern="[a-z]+", required=True),
            ("required: false -> true", "pattern: [a-z ]+ -> [a-z]+"),
        ),
        (REASON, changed(REASON, max_length=40), ("max_length: none -> 40",)),
        (CATEGORY, changed(CATEGORY, multiple=True), ("multiple: false -> true",)),
        (
            ENTITIES,
            changed(ENTITIES, source="body", allow_overlap=True),
            ("source: text -> body", "allow_overlap: false -> true"),
        ),
        (SENTIMENT, changed(SENTIMENT, kind="multi_choice"), ("kind: single_choice -> multi_choice",)),
        (
            CATEGORY,
            changed(CATEGORY, tree=[{**TREE[0], "exclusive": True}, TREE[1]]),
            ("exclusive animal: false -> true",),
        ),
        # Spelling out a default is no change.
        (REASON, changed(REASON, required=False), ()),
    ],
)
def test_a_changed_field_says_what_changed(
    before: dict[str, Any], after: dict[str, Any], details: tuple[str, ...]
) -> None:
    result = diff(definition(before), definition(after), SchemaMapping.IDENTITY)
    assert result.fields == ((FieldChange(before["name"], "CHANGED", None, details),) if details else ())


def test_classes_of_added_and_removed_fields_are_not_listed_one_by_one() -> None:
    result = diff(definition(SENTIMENT, TOPICS), definition(SENTIMENT, ENTITIES), SchemaMapping.IDENTITY)
    assert result.fields == (FieldChange("topics", "REMOVED"), FieldChange("entities", "ADDED"))
    assert result.classes == ()


# --- classes -----------------------------------------------------------------------------------


def test_class_changes_of_a_flat_field() -> None:
    # pos -> positive (renamed), neg -> neu (merged into a class that stays), neu stays, 'mixed' added.
    after = changed(SENTIMENT, classes=["positive", "neu", "mixed"])
    mapping = SchemaMapping(classes={"sentiment": {"pos": "positive", "neg": "neu"}})
    assert diff(definition(SENTIMENT), definition(after), mapping).classes == (
        ClassChange("sentiment", "pos", "RENAMED", "positive"),
        ClassChange("sentiment", "neg", "MERGED", "neu"),
        ClassChange("sentiment", "mixed", "ADDED"),
    )


def test_classes_gone_without_a_mapping_or_mapped_to_null_are_removed() -> None:
    after = changed(TOPICS, classes=["price"])
    mapping = SchemaMapping(classes={"topics": {"quality": None}})
    assert diff(definition(TOPICS), definition(after), mapping).classes == (
        ClassChange("topics", "quality", "REMOVED"),
        ClassChange("topics", "delivery", "REMOVED"),
    )


def test_two_classes_renamed_onto_one_new_class_are_both_renamed() -> None:
    after = changed(TOPICS, classes=["price", "service"])
    mapping = SchemaMapping(classes={"topics": {"quality": "service", "delivery": "service"}})
    assert diff(definition(TOPICS), definition(after), mapping).classes == (
        ClassChange("topics", "quality", "RENAMED", "service"),
        ClassChange("topics", "delivery", "RENAMED", "service"),
    )


def test_swapped_classes_are_renames_not_merges() -> None:
    mapping = SchemaMapping(classes={"sentiment": {"pos": "neg", "neg": "pos"}})
    assert diff(definition(SENTIMENT), definition(SENTIMENT), mapping).classes == (
        ClassChange("sentiment", "pos", "RENAMED", "neg"),
        ClassChange("sentiment", "neg", "RENAMED", "pos"),
    )


def test_class_changes_follow_a_renamed_field() -> None:
    labels = changed(ENTITIES, name="names", labels=["PERSON", "ORG"])
    mapping = SchemaMapping(fields={"entities": "names"}, classes={"entities": {"PER": "PERSON"}})
    result = diff(definition(ENTITIES), definition(labels), mapping)
    assert result.fields == (FieldChange("names", "RENAMED", "entities"),)
    assert result.classes == (ClassChange("names", "PER", "RENAMED", "PERSON"),)


def test_taxonomy_classes_moved_to_another_parent_or_to_a_root() -> None:
    tree = [
        {"name": "animal", "children": [{"name": "cat"}]},
        {"name": "pet", "children": [{"name": "dog"}]},
        {"name": "plant"},
        {"name": "tree", "children": [{"name": "oak"}]},
    ]
    result = diff(definition(CATEGORY), definition(changed(CATEGORY, tree=tree)), SchemaMapping.IDENTITY)
    assert result.classes == (
        ClassChange("category", "dog", "MOVED", "pet"),
        ClassChange("category", "tree", "MOVED", None),
        ClassChange("category", "pet", "ADDED"),
    )


def test_a_class_under_a_renamed_parent_has_not_moved() -> None:
    tree = [{"name": "fauna", "children": [{"name": "dog"}, {"name": "cat"}]}, TREE[1]]
    mapping = SchemaMapping(classes={"category": {"animal": "fauna"}})
    assert diff(definition(CATEGORY), definition(changed(CATEGORY, tree=tree)), mapping).classes == (
        ClassChange("category", "animal", "RENAMED", "fauna"),
    )


def test_a_class_whose_parent_is_dropped_has_moved() -> None:
    tree = [{"name": "dog"}, {"name": "cat"}, TREE[1]]
    mapping = SchemaMapping(classes={"category": {"animal": None}})
    assert diff(definition(CATEGORY), definition(changed(CATEGORY, tree=tree)), mapping).classes == (
        ClassChange("category", "animal", "REMOVED"),
        ClassChange("category", "dog", "MOVED", None),
        ClassChange("category", "cat", "MOVED", None),
    )


# --- rules -------------------------------------------------------------------------------------


def test_a_rule_that_only_followed_a_rename_is_no_change() -> None:
    mood = changed(SENTIMENT, name="mood", classes=["pos", "negative", "neu"])
    renamed_rule = {"kind": "requires", "if": {"field": "mood", "class": "negative"}, "then": {"field": "reason"}}
    mapping = SchemaMapping(fields={"sentiment": "mood"}, classes={"sentiment": {"neg": "negative"}})
    result = diff(
        definition(SENTIMENT, REASON, rules=(REQUIRES,)), definition(mood, REASON, rules=(renamed_rule,)), mapping
    )
    assert result.rules == ()
    assert result.fields == (FieldChange("mood", "RENAMED", "sentiment"),)


def test_rules_added_and_removed_with_descriptions() -> None:
    neu = {"kind": "requires", "if": {"field": "sentiment", "class": "neu"}, "then": {"field": "reason"}}
    before = definition(SENTIMENT, TOPICS, REASON, rules=(REQUIRES, EXCLUDES))
    after = definition(SENTIMENT, TOPICS, REASON, rules=(EXCLUDES, neu))
    assert diff(before, after, SchemaMapping.IDENTITY).rules == (
        RuleChange("REMOVED", REQUIRES, "requires: sentiment=neg -> reason"),
        RuleChange("ADDED", neu, "requires: sentiment=neu -> reason"),
    )
    assert diff(after, before, SchemaMapping.IDENTITY).rules[0].description == "requires: sentiment=neu -> reason"


def test_rules_compare_by_content_not_key_order() -> None:
    shuffled = {"then": {"field": "reason"}, "if": {"class": "neg", "field": "sentiment"}, "kind": "requires"}
    before = definition(SENTIMENT, REASON, rules=(REQUIRES,))
    assert diff(before, definition(SENTIMENT, REASON, rules=(shuffled,)), SchemaMapping.IDENTITY).is_empty()


def test_a_rule_stated_twice_and_kept_once_is_one_removal() -> None:
    before = definition(SENTIMENT, TOPICS, REASON, rules=(EXCLUDES, EXCLUDES))
    after = definition(SENTIMENT, TOPICS, REASON, rules=(EXCLUDES,))
    assert diff(before, after, SchemaMapping.IDENTITY).rules == (
        RuleChange("REMOVED", EXCLUDES, "excludes: sentiment=neg & topics=price"),
    )


# --- JSON and properties -----------------------------------------------------------------------


def test_everything_at_once_in_order_and_through_json() -> None:
    tree = [{"name": "pet", "children": [{"name": "dog"}]}, {"name": "animal", "children": [{"name": "cat"}]}, TREE[1]]
    rule = {
        "kind": "excludes",
        "if": {"field": "mood", "class": "positive"},
        "and": {"field": "topics", "class": "price"},
    }
    old = definition(SENTIMENT, TOPICS, REASON, CATEGORY, rules=(REQUIRES,))
    new = definition(
        changed(SENTIMENT, name="mood", classes=["positive", "neu"]),
        changed(TOPICS, max=3),
        changed(CATEGORY, tree=tree),
        {"name": "note", "kind": "text"},
        rules=(rule,),
    )
    mapping = SchemaMapping(fields={"sentiment": "mood"}, classes={"sentiment": {"pos": "positive", "neg": None}})
    result = diff(old, new, mapping)
    assert result == SchemaDiff(
        fields=(
            FieldChange("mood", "RENAMED", "sentiment"),
            FieldChange("topics", "CHANGED", None, ("max: 2 -> 3",)),
            FieldChange("reason", "REMOVED"),
            FieldChange("note", "ADDED"),
        ),
        classes=(
            ClassChange("mood", "pos", "RENAMED", "positive"),
            ClassChange("mood", "neg", "REMOVED"),
            ClassChange("category", "dog", "MOVED", "pet"),
            ClassChange("category", "pet", "ADDED"),
        ),
        rules=(
            RuleChange("REMOVED", REQUIRES, "requires: sentiment=neg -> reason"),
            RuleChange("ADDED", rule, "excludes: mood=positive & topics=price"),
        ),
    )
    raw = result.to_json()
    assert raw["fields"][1] == {"field": "topics", "change": "CHANGED", "previous": None, "details": ["max: 2 -> 3"]}
    assert raw["classes"][2] == {"field": "category", "class": "dog", "change": "MOVED", "target": "pet"}
    assert raw["rules"][1] == {"change": "ADDED", "rule": rule, "description": "excludes: mood=positive & topics=price"}
    assert SchemaDiff.from_json(raw) == result
    assert SchemaDiff.from_json(SchemaDiff().to_json()) == SchemaDiff()


@PROPERTY
@given(definitions())
def test_any_definition_compared_with_itself_is_no_change(definition: dict[str, Any]) -> None:
    assert diff(definition, definition, SchemaMapping.IDENTITY).is_empty()


@PROPERTY
@given(renamings())
def test_a_renamed_copy_differs_by_renames_alone(
    renaming: tuple[dict[str, Any], dict[str, Any], SchemaMapping],
) -> None:
    old, new, mapping = renaming
    result = diff(old, new, mapping)
    assert {(c.previous, c.field) for c in result.fields} == set(mapping.fields.items())
    assert all(c.change == "RENAMED" and c.details == () for c in result.fields)
    expected = {(mapping.fields.get(f, f), c, t) for f, classes in mapping.classes.items() for c, t in classes.items()}
    assert {(c.field, c.class_, c.target) for c in result.classes} == expected
    assert all(c.change == "RENAMED" for c in result.classes)
    assert result.rules == ()
