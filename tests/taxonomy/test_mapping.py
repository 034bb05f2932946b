"""Class and field mappings of a schema change request (app/taxonomy/mapping.py): linting the
client's classMapping and fieldMapping, and carrying label values into the new schema.

Example tests pin every lint code with its field path and what remap does to each field kind;
property tests check that the identity mapping changes nothing, that remapping twice with a
mapping whose targets are not sources changes nothing more, and that no JSON makes lint or remap
raise. The strategies for lint-clean definitions and their renamed copies live here and are
shared with test_diff and test_impact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.taxonomy.mapping import SchemaMapping, lint_mapping, parse_mapping, remap, remap_through
from app.taxonomy.schema_language import ClassNode, FieldSpec, LabelSchema, lint, parse
from tests.taxonomy.support import codes, schema_of

# st.DrawFn or DataObject.draw: either hands out values of strategies.
Draw = Callable[..., Any]
PROPERTY = settings(database=None, deadline=None, max_examples=200)

TREE = [
    {"name": "animal", "exclusive": True, "children": [{"name": "dog"}, {"name": "cat"}]},
    {"name": "plant", "children": [{"name": "tree", "children": [{"name": "oak"}]}, {"name": "flower"}]},
]
OLD = schema_of(
    {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"]},
    {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"]},
    {"name": "category", "kind": "taxonomy", "tree": TREE},
    {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]},
    {"name": "objects", "kind": "boxes", "labels": ["car", "person"]},
    {"name": "note", "kind": "text"},
    {"name": "comment", "kind": "text"},
    {"name": "status", "kind": "single_choice", "classes": ["open", "closed"]},
)
NEW_TREE = [
    {"name": "animal", "children": [{"name": "cat"}]},
    {"name": "pet", "children": [{"name": "puppy"}]},
    {"name": "plant", "children": [{"name": "tree", "children": [{"name": "oak"}]}, {"name": "flower"}]},
]
NEW = schema_of(
    {"name": "mood", "kind": "single_choice", "classes": ["positive", "negative", "neu"]},
    {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "shipping"]},
    {"name": "category", "kind": "taxonomy", "multiple": True, "tree": NEW_TREE},
    {"name": "entities", "kind": "spans", "source": "text", "labels": ["PERSON", "ORG"]},
    {"name": "objects", "kind": "boxes", "labels": ["vehicle", "person"]},
    {"name": "note", "kind": "text"},
    {"name": "summary", "kind": "text"},
    {"name": "status", "kind": "text"},
)
MOOD = {"sentiment": "mood"}


# --- lint --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("class_mapping", "field_mapping", "expected"),
    [
        # Shapes.
        ([], {}, [("INVALID_MAPPING", "classMapping")]),
        ({}, "sentiment", [("INVALID_MAPPING", "fieldMapping")]),
        ({}, None, [("INVALID_MAPPING", "fieldMapping")]),
        ({}, {"sentiment": 3}, [("INVALID_MAPPING", "fieldMapping.sentiment")]),
        ({"sentiment": "mood"}, MOOD, [("INVALID_MAPPING", "classMapping.sentiment")]),
        ({"sentiment": {"pos": ["positive"]}}, MOOD, [("INVALID_MAPPING", "classMapping.sentiment.pos")]),
        # Fields.
        ({}, {"tone": "mood"}, [("UNKNOWN_FIELD", "fieldMapping.tone")]),
        ({}, {"sentiment": "feeling"}, [("UNKNOWN_FIELD", "fieldMapping.sentiment")]),
        ({"tone": {}}, MOOD, [("UNKNOWN_FIELD", "classMapping.tone")]),
        # Not renamed, and the new schema has no 'sentiment' to map classes into.
        ({"sentiment": {"pos": "positive"}}, {}, [("UNKNOWN_FIELD", "classMapping.sentiment")]),
        # A rename to nowhere is reported once, where it is made.
        ({"sentiment": {"pos": "positive"}}, {"sentiment": "feeling"}, [("UNKNOWN_FIELD", "fieldMapping.sentiment")]),
        ({"sentiment": {"pos": "positive"}}, {"sentiment": None}, [("INVALID_MAPPING", "classMapping.sentiment")]),
        # 'note' is not renamed, so it still holds 'note' in the new schema.
        ({}, {"comment": "note"}, [("DUPLICATE_TARGET", "fieldMapping.comment")]),
        (
            {},
            {"comment": "summary", "note": "summary"},
            [("DUPLICATE_TARGET", "fieldMapping.comment"), ("DUPLICATE_TARGET", "fieldMapping.note")],
        ),
        ({}, {"sentiment": "summary"}, [("KIND_CHANGED", "fieldMapping.sentiment")]),
        # Classes.
        ({"note": {"a": "b"}}, {}, [("NOT_CLASSED", "classMapping.note")]),
        # 'status' kept its name but is text in the new schema.
        ({"status": {"open": None}}, {}, [("NOT_CLASSED", "classMapping.status")]),
        ({"sentiment": {"meh": "positive"}}, MOOD, [("UNKNOWN_CLASS", "classMapping.sentiment.meh")]),
        ({"sentiment": {"pos": "great"}}, MOOD, [("UNKNOWN_CLASS", "classMapping.sentiment.pos")]),
        # 'pos' is no class of the new 'mood', so keeping it is no option either.
        ({"sentiment": {"pos": "pos"}}, MOOD, [("UNKNOWN_CLASS", "classMapping.sentiment.pos")]),
        (
            {"sentiment": {"meh": "great"}},
            MOOD,
            [("UNKNOWN_CLASS", "classMapping.sentiment.meh"), ("UNKNOWN_CLASS", "classMapping.sentiment.meh")],
        ),
    ],
)
def test_lint_reports_each_fault_where_it_was_made(
    class_mapping: Any, field_mapping: Any, expected: list[tuple[str, str]]
) -> None:
    assert codes(lint_mapping(OLD, NEW, class_mapping, field_mapping)) == expected


@pytest.mark.parametrize(
    ("class_mapping", "field_mapping"),
    [
        ({"sentiment": {"pos": "positive", "neg": "negative"}}, MOOD),
        # Merging two classes, dropping one, renaming a field, dropping fields.
        ({"topics": {"delivery": "price", "quality": None}}, {"sentiment": None, "comment": "summary"}),
        # 'comment' may take 'note' because 'note' moves on to 'summary'.
        ({}, {"comment": "note", "note": "summary", "sentiment": "mood"}),
        # Pointless but harmless: a class or a field mapped onto itself, even one whose kind changed.
        ({"topics": {"price": "price"}}, {"status": "status", "sentiment": "mood"}),
        (
            {"category": {"dog": "puppy"}, "entities": {"PER": "PERSON"}, "objects": {"car": "vehicle"}},
            {"sentiment": "mood"},
        ),
    ],
)
def test_lint_accepts_sound_mappings(class_mapping: Any, field_mapping: Any) -> None:
    assert lint_mapping(OLD, NEW, class_mapping, field_mapping) == []


def test_a_mapping_messages_name_what_is_wrong() -> None:
    (problem,) = lint_mapping(OLD, NEW, {}, {"sentiment": "summary"})
    assert problem.message == "'sentiment' is single_choice but 'summary' is text: values cannot carry over."
    first, second = lint_mapping(OLD, NEW, {}, {"comment": "summary", "note": "summary"})
    assert first.message == "'summary' would take the answers of 'comment' and of 'note'."
    assert second.message == "'summary' would take the answers of 'note' and of 'comment'."


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
field_names = st.sampled_from([spec.name for spec in OLD.fields] + ["mood", "summary", "x"])


class_names = st.sampled_from([*sorted({c for spec in OLD.fields + NEW.fields for c in spec.classes}), "x"])


@PROPERTY
@given(
    json_values | st.dictionaries(field_names, json_values | st.dictionaries(class_names, json_values | class_names)),
    json_values | st.dictionaries(field_names, json_values | field_names),
)
def test_lint_and_parse_never_raise_on_any_json(class_mapping: Any, field_mapping: Any) -> None:
    problems = lint_mapping(OLD, NEW, class_mapping, field_mapping)
    assert all(p.code and p.message and p.field for p in problems)
    assert isinstance(parse_mapping(class_mapping, field_mapping), SchemaMapping)


# --- parse, identity, JSON ---------------------------------------------------------------------


def test_parse_keeps_the_mappings_as_given() -> None:
    mapping = parse_mapping({"topics": {"delivery": "price", "quality": None}}, {"sentiment": "mood", "note": None})
    assert mapping == SchemaMapping(
        fields={"sentiment": "mood", "note": None}, classes={"topics": {"delivery": "price", "quality": None}}
    )
    assert mapping.to_json() == {
        "fields": {"sentiment": "mood", "note": None},
        "classes": {"topics": {"delivery": "price", "quality": None}},
    }
    assert SchemaMapping.from_json(mapping.to_json()) == mapping


def test_from_json_reads_nothing_from_what_is_not_a_mapping() -> None:
    assert SchemaMapping.from_json(None) == SchemaMapping.IDENTITY
    assert SchemaMapping.from_json({"fields": {"a": 1, "b": "c"}, "classes": {"x": [], "y": {"p": 2}}}) == (
        SchemaMapping(fields={"b": "c"}, classes={"y": {}})
    )


@pytest.mark.parametrize(
    ("mapping", "identity"),
    [
        (SchemaMapping.IDENTITY, True),
        (SchemaMapping(fields={"note": "note"}, classes={"topics": {"price": "price"}, "sentiment": {}}), True),
        (SchemaMapping(fields={"note": "summary"}), False),
        (SchemaMapping(fields={"note": None}), False),
        (SchemaMapping(classes={"topics": {"price": "quality"}}), False),
        (SchemaMapping(classes={"topics": {"price": None}}), False),
    ],
)
def test_is_identity_when_nothing_is_renamed_merged_or_dropped(mapping: SchemaMapping, identity: bool) -> None:
    assert mapping.is_identity() is identity


# --- remap -------------------------------------------------------------------------------------


def test_remap_renames_and_drops_fields_and_keeps_the_rest() -> None:
    mapping = SchemaMapping(fields={"sentiment": "mood", "comment": None})
    value = {"sentiment": "neu", "note": "fine", "comment": "gone"}
    assert remap(value, mapping, NEW) == {"mood": "neu", "note": "fine"}
    assert value == {"sentiment": "neu", "note": "fine", "comment": "gone"}


def test_remap_lets_a_field_take_the_name_another_one_vacates() -> None:
    mapping = SchemaMapping(fields={"comment": "note", "note": "summary"})
    assert remap({"note": "a", "comment": "b"}, mapping, NEW) == {"summary": "a", "note": "b"}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"sentiment": "pos"}, {"mood": "positive"}),
        ({"sentiment": "neg"}, {"mood": "negative"}),
        ({"sentiment": "neu"}, {"mood": "neu"}),  # not in the mapping: as it was
        ({"sentiment": "meh"}, {"mood": "meh"}),  # unknown: left for validation to report
        ({"sentiment": ["pos"]}, {"mood": ["pos"]}),
    ],
)
def test_remap_single_choice(before: dict[str, Any], after: dict[str, Any]) -> None:
    mapping = SchemaMapping(fields=MOOD, classes={"sentiment": {"pos": "positive", "neg": "negative"}})
    assert remap(before, mapping, NEW) == after


def test_remap_drops_a_single_choice_whose_class_is_dropped() -> None:
    mapping = SchemaMapping(fields=MOOD, classes={"sentiment": {"neu": None}})
    assert remap({"sentiment": "neu", "note": "n"}, mapping, NEW) == {"note": "n"}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (["delivery", "quality"], ["shipping"]),
        # Merged into a class chosen too: listed once, where it first appears.
        (["price", "delivery", "shipping"], ["price", "shipping"]),
        (["shipping", "delivery"], ["shipping"]),
        (["quality"], []),
        ([None, "price", 3, "price"], ["price", 3]),
        ("price", "price"),
    ],
)
def test_remap_multi_choice_maps_removes_and_deduplicates(before: Any, after: Any) -> None:
    mapping = SchemaMapping(classes={"topics": {"delivery": "shipping", "quality": None}})
    assert remap({"topics": before}, mapping, NEW) == {"topics": after}


def test_remap_leaves_a_field_the_mapping_does_not_touch_exactly_as_it_was() -> None:
    # Another field's classes change; this one keeps its duplicates and odd entries for validation to report.
    mapping = SchemaMapping(classes={"sentiment": {"pos": "positive"}}, fields=MOOD)
    value = {"topics": ["price", "price", None], "category": ["dog"], "entities": [{"label": "PER"}]}
    assert remap(value, mapping, NEW) == value


@pytest.mark.parametrize(
    ("classes", "before", "after"),
    [
        # 'dog' became 'puppy', which lives under 'pet': the value gets its new parent chain.
        ({"dog": "puppy", "animal": None}, ["animal", "dog"], ["pet", "puppy"]),
        # The old parent stays chosen too (validation judges whether that may be); new tree order.
        ({"dog": "puppy"}, ["dog", "animal"], ["animal", "pet", "puppy"]),
        # A child implies its ancestors: 'oak' brings 'tree' and 'plant'.
        ({"dog": None}, ["oak"], ["plant", "tree", "oak"]),
        ({"dog": None}, ["animal", "dog"], ["animal"]),
        # Names the new tree does not know stay, last and once.
        ({"cat": "ghost"}, ["ghost", "animal", "cat", "ghost", 7], ["animal", "ghost", 7]),
        ({"dog": "cat"}, ["animal", "dog", "cat"], ["animal", "cat"]),
        ({"dog": "puppy"}, "dog", "dog"),
    ],
)
def test_remap_taxonomy_closes_under_ancestors_in_the_new_tree(
    classes: dict[str, str | None], before: Any, after: Any
) -> None:
    assert remap({"category": before}, SchemaMapping(classes={"category": classes}), NEW) == {"category": after}


def test_remap_relabels_spans_and_drops_those_whose_label_is_dropped() -> None:
    mapping = SchemaMapping(classes={"entities": {"PER": "PERSON", "ORG": None}})
    value = {
        "entities": [
            {"start": 0, "end": 3, "label": "PER"},
            {"start": 4, "end": 8, "label": "ORG"},
            {"start": 9, "end": 12, "label": "MISC"},
            "odd",
        ]
    }
    assert remap(value, mapping, NEW) == {
        "entities": [{"start": 0, "end": 3, "label": "PERSON"}, {"start": 9, "end": 12, "label": "MISC"}, "odd"]
    }
    assert value["entities"][0] == {"start": 0, "end": 3, "label": "PER"}


def test_remap_relabels_boxes_and_merges_labels() -> None:
    mapping = SchemaMapping(classes={"objects": {"car": "vehicle", "person": None}})
    value = {"objects": [{"x": 1, "y": 2, "width": 3, "height": 4, "label": "car"}, {"label": "person"}]}
    assert remap(value, mapping, NEW) == {"objects": [{"x": 1, "y": 2, "width": 3, "height": 4, "label": "vehicle"}]}


def test_remap_leaves_values_of_fields_the_new_schema_lacks_or_gives_no_classes() -> None:
    mapping = SchemaMapping(classes={"sentiment": {"pos": "positive"}, "status": {"open": "closed"}})
    # No 'sentiment' in the new schema, and the new 'status' is text: nothing to map classes by.
    assert remap({"sentiment": "pos", "status": "open"}, mapping, NEW) == {"sentiment": "pos", "status": "open"}


def test_remap_carries_nothing_from_what_is_not_an_object() -> None:
    assert remap(["sentiment"], SchemaMapping(fields=MOOD), NEW) == {}  # type: ignore[arg-type]


def test_remap_through_carries_a_value_across_two_versions() -> None:
    v2 = NEW
    v3 = schema_of(
        {"name": "feeling", "kind": "single_choice", "classes": ["good", "bad", "neu"]},
        {"name": "topics", "kind": "multi_choice", "classes": ["cost", "quality", "shipping"]},
    )
    first = SchemaMapping(
        fields={"sentiment": "mood", "note": None},
        classes={"sentiment": {"pos": "positive"}, "topics": {"delivery": "shipping"}},
    )
    second = SchemaMapping(
        fields={"mood": "feeling"}, classes={"mood": {"positive": "good"}, "topics": {"price": "cost"}}
    )
    value = {"sentiment": "pos", "topics": ["price", "delivery"], "note": "n"}
    assert remap_through(value, [(first, v2), (second, v3)]) == {"feeling": "good", "topics": ["cost", "shipping"]}
    assert remap_through(value, []) == value


@PROPERTY
@given(st.dictionaries(field_names | st.text(max_size=4), json_values, max_size=6))
def test_the_identity_mapping_leaves_any_value_unchanged(value: dict[str, Any]) -> None:
    for schema in (OLD, NEW):
        assert remap(value, SchemaMapping.IDENTITY, schema) == value
        assert remap(value, SchemaMapping(fields={"note": "note"}, classes={"topics": {"price": "price"}}), schema) == (
            value
        )


# --- generated definitions, shared with test_diff and test_impact ---------------------------------

NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
TEXT = "Ada Lovelace met Babbage"
ITEM = {"data": {"text": TEXT}, "metadata": {"width": 640, "height": 480}}


@st.composite
def trees(draw: Draw) -> list[dict[str, Any]]:
    """A taxonomy tree: each class hangs under an earlier one or at a root."""
    names = draw(st.lists(NAMES, min_size=1, max_size=7, unique=True))
    nodes: list[dict[str, Any]] = []
    roots: list[dict[str, Any]] = []
    for name in names:
        node: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            node["exclusive"] = True
        parent = draw(st.sampled_from([None, *nodes]))
        (roots if parent is None else parent.setdefault("children", [])).append(node)
        nodes.append(node)
    return roots


@st.composite
def field_definitions(draw: Draw, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["single_choice", "multi_choice", "taxonomy", "spans", "boxes", "text", "rating"]))
    spec: dict[str, Any] = {"name": name, "kind": kind, "required": draw(st.booleans())}
    classes = st.lists(NAMES, min_size=1, max_size=5, unique=True)
    if kind.endswith("choice"):
        spec["classes"] = draw(classes)
    elif kind == "taxonomy":
        spec["tree"] = draw(trees())
        spec["multiple"] = draw(st.booleans())
    elif kind in ("spans", "boxes"):
        spec["labels"] = draw(classes)
        if kind == "spans":
            spec["source"] = "text"
            spec["allow_overlap"] = draw(st.booleans())
    elif kind == "rating":
        spec["min"], spec["max"] = 1, draw(st.integers(1, 10))
    elif draw(st.booleans()):
        spec["max_length"] = draw(st.integers(1, 20))
    return spec


@st.composite
def definitions(draw: Draw) -> dict[str, Any]:
    """A lint-clean definition with every kind that has classes and a few cross-field rules."""
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    fields = [draw(field_definitions(name)) for name in names]
    classed = [f for f in fields if f["kind"] in ("single_choice", "multi_choice", "taxonomy", "spans", "boxes")]
    rules = []
    for _ in range(draw(st.integers(0, 2))):
        if not classed:
            break
        first, then = draw(st.sampled_from(classed)), draw(st.sampled_from(fields))
        cond = {"field": first["name"], "class": draw(st.sampled_from(parse({"fields": [first]}).fields[0].classes))}
        kind = draw(st.sampled_from(["requires", "excludes"]))
        rules.append({"kind": kind, "if": cond, ("then" if kind == "requires" else "and"): {"field": then["name"]}})
    definition = {"fields": fields, "rules": rules}
    assert lint(definition) == []
    return definition


def renamed(definition: dict[str, Any], fields: set[str], classes: set[str]) -> tuple[dict[str, Any], SchemaMapping]:
    """The definition with the named fields and classes renamed (``x`` -> ``x_r``), and the mapping that says so.

    The generated names have no underscore, so no new name is an old one.
    """

    def field_name(name: str) -> str:
        return f"{name}_r" if name in fields else name

    def class_name(name: str) -> str:
        return f"{name}_r" if name in classes else name

    def node(raw: dict[str, Any]) -> dict[str, Any]:
        return {**raw, "name": class_name(raw["name"]), "children": [node(c) for c in raw.get("children", [])]}

    new_fields = []
    class_mapping: dict[str, dict[str, str | None]] = {}
    for raw in definition["fields"]:
        field = {**raw, "name": field_name(raw["name"])}
        for key in ("classes", "labels"):
            if key in raw:
                field[key] = [class_name(c) for c in raw[key]]
        if "tree" in raw:
            field["tree"] = [node(n) for n in raw["tree"]]
        new_fields.append(field)
        renames = {c: class_name(c) for c in parse({"fields": [raw]}).fields[0].classes if c in classes}
        if renames:
            class_mapping[raw["name"]] = dict(renames)

    def condition(cond: dict[str, Any]) -> dict[str, Any]:
        moved = {**cond, "field": field_name(cond["field"])}
        if "class" in cond:
            moved["class"] = class_name(cond["class"])
        return moved

    rules = [{k: condition(v) if isinstance(v, dict) else v for k, v in rule.items()} for rule in definition["rules"]]
    new_definition = {"fields": new_fields, "rules": rules}
    assert lint(new_definition) == []
    field_mapping: dict[str, str | None] = {name: field_name(name) for name in fields}
    return new_definition, SchemaMapping(field_mapping, class_mapping)


@st.composite
def renamings(draw: Draw) -> tuple[dict[str, Any], dict[str, Any], SchemaMapping]:
    """A definition, a copy with some fields and classes renamed, and the mapping between them."""
    old = draw(definitions())
    schema = parse(old)
    fields = draw(st.sets(st.sampled_from([f.name for f in schema.fields])))
    all_classes = sorted({c for f in schema.fields for c in f.classes})
    classes = draw(st.sets(st.sampled_from(all_classes))) if all_classes else set()
    return (old, *renamed(old, fields, classes))


@PROPERTY
@given(renamings())
def test_a_renaming_mapping_lints_clean(renaming: tuple[dict[str, Any], dict[str, Any], SchemaMapping]) -> None:
    old, new, mapping = renaming
    raw = mapping.to_json()
    assert lint_mapping(parse(old), parse(new), raw["classes"], raw["fields"]) == []


@st.composite
def disjoint_mappings(draw: Draw) -> tuple[SchemaMapping, LabelSchema]:
    """A mapping of OLD whose targets are never sources, and the schema it maps into."""
    fields: dict[str, str | None] = {}
    classes: dict[str, dict[str, str | None]] = {}
    new_fields = []
    for spec in OLD.fields:
        target = draw(st.sampled_from([spec.name, f"{spec.name}_r", None]))
        if target is not None and target != spec.name:
            fields[spec.name] = target
        elif target is None:
            fields[spec.name] = None
            continue
        renames: dict[str, str | None] = {}
        if spec.classes and spec.kind != "taxonomy":
            # Flat classes may also merge ('_m') or go.
            for cls in spec.classes:
                renames[cls] = draw(st.sampled_from([f"{cls}_r", "merged_m", None]))
        elif spec.kind == "taxonomy":
            for cls in spec.classes:
                renames[cls] = draw(st.sampled_from([f"{cls}_r", None]))
        classes[spec.name] = {c: t for c, t in renames.items() if draw(st.booleans())}
        new_fields.append(_renamed_spec(spec, target, classes[spec.name]))
    return SchemaMapping(fields, classes), LabelSchema(tuple(new_fields))


def _renamed_spec(spec: FieldSpec, name: str, renames: dict[str, str | None]) -> FieldSpec:
    # A tree keeps the node of a dropped class under a new name of its own, so its children keep a parent.
    def node(n: ClassNode) -> ClassNode:
        target = renames.get(n.name, n.name)
        return ClassNode(target or f"{n.name}_k", tuple(node(c) for c in n.children), n.exclusive)

    tree = tuple(node(n) for n in spec.tree)
    flat = tuple(dict.fromkeys(t for c in spec.classes if (t := renames.get(c, c)) is not None))
    return FieldSpec(name, spec.kind, classes=flat, tree=tree, source=spec.source)


values_of_old = st.fixed_dictionaries(
    {},
    optional={
        "sentiment": st.sampled_from(["pos", "neg", "neu", "x"]) | json_values,
        "topics": st.lists(st.sampled_from(["price", "quality", "delivery", "x"]) | json_values, max_size=4),
        "category": st.lists(st.sampled_from(["animal", "dog", "cat", "plant", "tree", "oak", "x"]), max_size=5),
        "entities": st.lists(
            st.fixed_dictionaries({"label": st.sampled_from(["PER", "ORG", "x"])}) | json_values, max_size=3
        ),
        "objects": st.lists(st.fixed_dictionaries({"label": st.sampled_from(["car", "person"])}), max_size=3),
        "note": json_values,
        "status": st.sampled_from(["open", "closed"]),
    },
)


@PROPERTY
@given(disjoint_mappings(), values_of_old)
def test_remapping_again_changes_nothing_when_no_target_is_a_source(
    mapped: tuple[SchemaMapping, LabelSchema], value: dict[str, Any]
) -> None:
    mapping, new = mapped
    once = remap(value, mapping, new)
    assert remap(once, mapping, new) == once


@PROPERTY
@given(json_values, st.sampled_from([SchemaMapping.IDENTITY, SchemaMapping(MOOD, {"category": {"dog": None}})]))
def test_remap_never_raises_on_any_json(value: Any, mapping: SchemaMapping) -> None:
    assert isinstance(remap(value, mapping, NEW), dict)
    assert isinstance(remap_through(value, [(mapping, NEW), (mapping, OLD)]), dict)
