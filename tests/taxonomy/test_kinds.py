"""The structured field kinds of the label-schema language: taxonomy trees, text spans and
image boxes (app/taxonomy/schema_language.py).

Example tests pin each lint and value rule with the code and field path it reports; property
tests check that any value built from a generated schema (and item) validates, that any JSON in
place of a definition or a value never makes lint or validate raise, and that a spans or boxes
value without the item it needs is a typed problem rather than an exception.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.taxonomy.schema_language import ClassNode, FieldSpec, lint, parse, validate
from tests.taxonomy.support import codes, schema_of

# st.DrawFn or DataObject.draw: either hands out values of strategies.
Draw = Callable[..., Any]
PROPERTY = settings(database=None, deadline=None, max_examples=200)

TREE = [
    {"name": "animal", "exclusive": True, "children": [{"name": "dog"}, {"name": "cat"}]},
    {"name": "plant", "children": [{"name": "tree", "children": [{"name": "oak"}]}, {"name": "flower"}]},
]
TEXT = "Ada Lovelace met Babbage"  # 24 code points
ITEM = {"data": {"text": TEXT}, "metadata": {"width": 640, "height": 480}}


def taxonomy(multiple: bool = False) -> Any:
    return schema_of({"name": "category", "kind": "taxonomy", "multiple": multiple, "tree": TREE})


SPANS = {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]}
BOXES = {"name": "objects", "kind": "boxes", "labels": ["car", "person"]}


def span(start: Any, end: Any, label: Any = "PER") -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


def box(x: Any, y: Any, width: Any, height: Any, label: Any = "car") -> dict[str, Any]:
    return {"x": x, "y": y, "width": width, "height": height, "label": label}


# --- lint --------------------------------------------------------------------------------------


def field_at(**settings: Any) -> dict[str, Any]:
    return {"fields": [{"name": "f", **settings}]}


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (field_at(kind="taxonomy"), [("INVALID_TREE", "labelSchema.fields.0.tree")]),
        (field_at(kind="taxonomy", tree=[]), [("INVALID_TREE", "labelSchema.fields.0.tree")]),
        (field_at(kind="taxonomy", tree=["dog"]), [("INVALID_TREE", "labelSchema.fields.0.tree.0")]),
        (field_at(kind="taxonomy", tree=[{"name": ""}]), [("INVALID_TREE", "labelSchema.fields.0.tree.0.name")]),
        (
            field_at(kind="taxonomy", tree=[{"name": "a", "children": "b"}]),
            [("INVALID_TREE", "labelSchema.fields.0.tree.0.children")],
        ),
        (
            field_at(kind="taxonomy", tree=[{"name": "a", "exclusive": "yes"}]),
            [("INVALID_TREE", "labelSchema.fields.0.tree.0.exclusive")],
        ),
        (
            field_at(kind="taxonomy", tree=[{"name": "a", "children": [{"name": "b"}]}, {"name": "b"}]),
            [("DUPLICATE_CLASS", "labelSchema.fields.0.tree.1.name")],
        ),
        (
            field_at(kind="taxonomy", tree=[{"name": "a", "children": [{"name": "b", "children": [{"name": "a"}]}]}]),
            [("CYCLIC_TAXONOMY", "labelSchema.fields.0.tree.0.children.0.children.0.name")],
        ),
        (
            field_at(kind="taxonomy", tree=[{"name": "a"}], multiple="many"),
            [("INVALID_SCHEMA", "labelSchema.fields.0.multiple")],
        ),
        (field_at(kind="spans", labels=["PER"]), [("INVALID_SCHEMA", "labelSchema.fields.0.source")]),
        (field_at(kind="spans", source="text"), [("INVALID_CLASSES", "labelSchema.fields.0.labels")]),
        (
            field_at(kind="spans", source="text", labels=["PER", "PER"]),
            [("DUPLICATE_CLASS", "labelSchema.fields.0.labels")],
        ),
        (
            field_at(kind="spans", source="text", labels=["PER"], allow_overlap=1),
            [("INVALID_SCHEMA", "labelSchema.fields.0.allow_overlap")],
        ),
        (field_at(kind="boxes", labels=[]), [("INVALID_CLASSES", "labelSchema.fields.0.labels")]),
        (field_at(kind="boxes", labels=["car", 3]), [("INVALID_CLASSES", "labelSchema.fields.0.labels")]),
    ],
    ids=[
        "taxonomy without tree",
        "empty tree",
        "class not an object",
        "class without name",
        "children not a list",
        "exclusive not a boolean",
        "class twice in the tree",
        "class under itself",
        "multiple not a boolean",
        "spans without source",
        "spans without labels",
        "duplicate span label",
        "allow_overlap not a boolean",
        "boxes with empty labels",
        "box label not text",
    ],
)
def test_lint_names_each_problem_of_the_new_kinds(definition: Any, expected: list[tuple[str, str]]) -> None:
    assert codes(lint(definition)) == expected


def chain(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "n0"}
    for depth in range(1, levels):
        node = {"name": f"n{depth}", "children": [node]}
    return node


def test_a_taxonomy_of_32_levels_is_accepted() -> None:
    assert lint(field_at(kind="taxonomy", tree=[chain(32)])) == []


def test_a_taxonomy_deeper_than_the_limit_is_refused_without_recursing() -> None:
    # 5000 levels would overflow a recursive walk; the class on level 32 is where it stops.
    assert codes(lint(field_at(kind="taxonomy", tree=[chain(5000)]))) == [
        ("INVALID_TREE", "labelSchema.fields.0.tree.0" + ".children.0" * 31)
    ]


def test_parse_reads_the_tree_labels_and_flags() -> None:
    schema = schema_of(
        {"name": "category", "kind": "taxonomy", "multiple": True, "tree": TREE},
        {**SPANS, "allow_overlap": True},
        BOXES,
    )
    category = schema.field("category")
    assert category.classes == ("animal", "dog", "cat", "plant", "tree", "oak", "flower")
    assert category.multiple is True
    assert category.tree[0] == ClassNode("animal", (ClassNode("dog"), ClassNode("cat")), exclusive=True)
    assert schema.field("entities") == FieldSpec(
        name="entities", kind="spans", classes=("PER", "ORG"), source="text", allow_overlap=True
    )
    assert schema.field("objects") == FieldSpec(name="objects", kind="boxes", classes=("car", "person"))


# --- taxonomy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [["animal"], ["animal", "dog"], ["dog", "animal"], ["plant", "tree", "oak"]],
    ids=["root", "child with parent", "any order", "three levels"],
)
def test_a_path_from_a_root_is_a_valid_single_taxonomy_value(value: list[str]) -> None:
    assert validate(taxonomy(), {"category": value}) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("dog", ["WRONG_KIND"]),
        (["animal", 3], ["WRONG_KIND"]),
        (["animal", "fish"], ["UNKNOWN_CLASS"]),
        (["animal", "animal"], ["DUPLICATE_CLASS"]),
        (["dog"], ["INCONSISTENT_HIERARCHY"]),
        (["plant", "oak"], ["INCONSISTENT_HIERARCHY"]),
        (["animal", "dog", "cat"], ["EXCLUSIVE_SIBLINGS", "TOO_MANY"]),
        (["animal", "plant"], ["TOO_MANY"]),
    ],
    ids=[
        "a single name is not a list",
        "names only",
        "unknown class",
        "class twice",
        "child without its parent",
        "grandchild without its parent",
        "exclusive siblings on one path",
        "two roots",
    ],
)
def test_single_taxonomy_problems(value: Any, expected: list[str]) -> None:
    problems = validate(taxonomy(), {"category": value})
    assert [p.code for p in problems] == expected
    assert {p.field for p in problems} == {"value.category"}


def test_a_multiple_taxonomy_takes_several_paths_but_not_exclusive_siblings() -> None:
    schema = taxonomy(multiple=True)
    assert validate(schema, {"category": ["animal", "dog", "plant", "tree", "flower"]}) == []
    assert codes(validate(schema, {"category": ["animal", "dog", "cat"]})) == [("EXCLUSIVE_SIBLINGS", "value.category")]


def test_siblings_under_a_node_not_marked_exclusive_may_go_together() -> None:
    assert validate(taxonomy(multiple=True), {"category": ["plant", "tree", "flower"]}) == []


def test_the_message_names_the_field_not_the_classes_chosen() -> None:
    # Messages reach readers who may not read the value (a schema change's impact report).
    (problem,) = validate(taxonomy(), {"category": ["plant", "oak"]})
    assert "'category'" in problem.message
    assert "oak" not in problem.message


def test_a_required_taxonomy_needs_a_class() -> None:
    schema = schema_of({"name": "category", "kind": "taxonomy", "tree": TREE, "required": True})
    assert codes(validate(schema, {"category": []})) == [("REQUIRED", "value.category")]


# --- spans -------------------------------------------------------------------------------------


def test_spans_inside_the_text_validate() -> None:
    value = {"entities": [span(0, 12), span(17, 24), span(12, 17, "ORG")]}
    assert validate(schema_of(SPANS), value, item=ITEM) == []


@pytest.mark.parametrize(
    ("entities", "expected"),
    [
        ("Ada", [("WRONG_KIND", "value.entities")]),
        (["Ada"], [("WRONG_KIND", "value.entities.0")]),
        ([{"start": 0, "end": 3}], [("WRONG_KIND", "value.entities.0")]),
        ([span(0, 3) | {"text": "Ada"}], [("UNKNOWN_FIELD", "value.entities.0.text")]),
        ([span(0, 3, "LOC")], [("UNKNOWN_CLASS", "value.entities.0.label")]),
        ([span(0, 3, ["PER"])], [("UNKNOWN_CLASS", "value.entities.0.label")]),
        ([span("0", 3)], [("WRONG_KIND", "value.entities.0")]),
        ([span(0.0, 3)], [("WRONG_KIND", "value.entities.0")]),
        ([span(False, True)], [("WRONG_KIND", "value.entities.0")]),
        ([span(3, 3)], [("EMPTY_SPAN", "value.entities.0")]),
        ([span(5, 3)], [("EMPTY_SPAN", "value.entities.0")]),
        ([span(-1, 3)], [("OUT_OF_RANGE", "value.entities.0")]),
        ([span(20, 25)], [("OUT_OF_RANGE", "value.entities.0")]),
        ([span(0, 12), span(4, 8, "ORG")], [("OVERLAP", "value.entities.1")]),
        ([span(4, 8), span(0, 12)], [("OVERLAP", "value.entities.0")]),
        ([span(0, 12), span(0, 12)], [("OVERLAP", "value.entities.1")]),
    ],
    ids=[
        "not a list",
        "entry not an object",
        "entry without label",
        "entry with an extra key",
        "unknown label",
        "label not text",
        "offset as text",
        "offset as float",
        "offsets as booleans",
        "empty span",
        "reversed span",
        "before the text",
        "past the text",
        "nested span",
        "overlap reported on the later start",
        "same span twice",
    ],
)
def test_span_problems(entities: Any, expected: list[tuple[str, str]]) -> None:
    assert codes(validate(schema_of(SPANS), {"entities": entities}, item=ITEM)) == expected


def test_adjacent_spans_do_not_overlap() -> None:
    assert validate(schema_of(SPANS), {"entities": [span(0, 3), span(3, 12)]}, item=ITEM) == []


def test_overlaps_pass_when_the_field_allows_them() -> None:
    schema = schema_of({**SPANS, "allow_overlap": True})
    assert validate(schema, {"entities": [span(0, 12), span(4, 8, "ORG"), span(0, 12, "ORG")]}, item=ITEM) == []


def test_offsets_count_code_points() -> None:
    item = {"data": {"text": "naïve 🙂"}}  # 7 code points, more bytes and UTF-16 units
    schema = schema_of(SPANS)
    assert validate(schema, {"entities": [span(6, 7)]}, item=item) == []
    assert codes(validate(schema, {"entities": [span(6, 8)]}, item=item)) == [("OUT_OF_RANGE", "value.entities.0")]


@pytest.mark.parametrize(
    "item",
    [None, {}, {"data": "text"}, {"data": {"body": TEXT}}, {"data": {"text": 42}}],
    ids=["no item", "no data", "data not an object", "no such text field", "source not text"],
)
def test_spans_without_their_text_are_a_typed_problem(item: Any) -> None:
    assert codes(validate(schema_of(SPANS), {"entities": [span(0, 3)]}, item=item)) == [
        ("MISSING_SOURCE", "value.entities")
    ]


def test_an_absent_spans_field_needs_no_item() -> None:
    # Callers that validate without an item keep working for labels that mark no spans.
    assert validate(schema_of(SPANS), {}) == []
    assert validate(schema_of(SPANS), {"entities": []}) == []
    assert codes(validate(schema_of({**SPANS, "required": True}), {"entities": []})) == [("REQUIRED", "value.entities")]


# --- boxes -------------------------------------------------------------------------------------


def test_boxes_inside_the_image_validate() -> None:
    value = {"objects": [box(0, 0, 640, 480), box(10.5, 20.25, 100, 50.5, "person")]}
    assert validate(schema_of(BOXES), value, item=ITEM) == []


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        ({"x": 0}, [("WRONG_KIND", "value.objects")]),
        ([[0, 0, 1, 1]], [("WRONG_KIND", "value.objects.0")]),
        ([{"x": 0, "y": 0, "width": 1, "label": "car"}], [("WRONG_KIND", "value.objects.0")]),
        ([box(0, 0, 1, 1) | {"score": 0.9}], [("UNKNOWN_FIELD", "value.objects.0.score")]),
        ([box(0, 0, 1, 1, "bike")], [("UNKNOWN_CLASS", "value.objects.0.label")]),
        ([box("0", 0, 1, 1)], [("WRONG_KIND", "value.objects.0")]),
        ([box(0, 0, True, 1)], [("WRONG_KIND", "value.objects.0")]),
        ([box(0, 0, float("inf"), 1)], [("WRONG_KIND", "value.objects.0")]),
        ([box(0, 0, 0, 1)], [("EMPTY_BOX", "value.objects.0")]),
        ([box(0, 0, 1, -1)], [("EMPTY_BOX", "value.objects.0")]),
        ([box(-1, 0, 1, 1)], [("OUT_OF_RANGE", "value.objects.0")]),
        ([box(600, 0, 41, 1)], [("OUT_OF_RANGE", "value.objects.0")]),
        ([box(0, 479.5, 1, 1)], [("OUT_OF_RANGE", "value.objects.0")]),
        ([box(0, 0, 1, 1), box(0, 0, 1, 1, "van")], [("UNKNOWN_CLASS", "value.objects.1.label")]),
    ],
    ids=[
        "not a list",
        "entry not an object",
        "entry without height",
        "entry with an extra key",
        "unknown label",
        "coordinate as text",
        "size as boolean",
        "infinite size",
        "zero width",
        "negative height",
        "left of the image",
        "past the right edge",
        "past the bottom edge",
        "second entry wrong",
    ],
)
def test_box_problems(objects: Any, expected: list[tuple[str, str]]) -> None:
    assert codes(validate(schema_of(BOXES), {"objects": objects}, item=ITEM)) == expected


@pytest.mark.parametrize(
    "item",
    [
        None,
        {"data": {}},
        {"metadata": {"width": 640}},
        {"metadata": {"width": 640, "height": 0}},
        {"metadata": {"width": "640", "height": 480}},
        {"metadata": {"width": True, "height": 480}},
    ],
    ids=["no item", "no metadata", "no height", "zero height", "width as text", "width as boolean"],
)
def test_boxes_without_the_image_size_are_a_typed_problem(item: Any) -> None:
    assert codes(validate(schema_of(BOXES), {"objects": [box(0, 0, 1, 1)]}, item=item)) == [
        ("MISSING_IMAGE_SIZE", "value.objects")
    ]


# --- properties --------------------------------------------------------------------------------

class_names = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


@st.composite
def trees(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A taxonomy tree with unique names, up to three levels deep."""
    names = iter(draw(st.lists(class_names, min_size=1, max_size=15, unique=True)))

    def level(depth: int) -> list[dict[str, Any]]:
        nodes = []
        for _ in range(draw(st.integers(1, 3))):
            name = next(names, None)
            if name is None:
                break
            node: dict[str, Any] = {"name": name, "exclusive": draw(st.booleans())}
            if depth < 3 and draw(st.booleans()):
                children = level(depth + 1)
                if children:
                    node["children"] = children
            nodes.append(node)
        return nodes

    return level(1)


def path_choice(draw: Draw, nodes: tuple[ClassNode, ...]) -> list[str]:
    """One path from a root, stopping at any depth."""
    node = draw(st.sampled_from(nodes))
    below = path_choice(draw, node.children) if node.children and draw(st.booleans()) else []
    return [node.name, *below]


def paths_choice(draw: Draw, nodes: tuple[ClassNode, ...]) -> list[str]:
    """Several paths: at most one child of an exclusive node, any children of the others."""
    chosen = []
    for node in draw(st.lists(st.sampled_from(nodes), min_size=1, unique_by=lambda n: n.name)):
        chosen.append(node.name)
        if node.children:
            if node.exclusive:
                chosen.extend(path_choice(draw, node.children) if draw(st.booleans()) else [])
            else:
                chosen.extend(paths_choice(draw, node.children))
    return chosen


@st.composite
def texts_and_spans(draw: st.DrawFn, allow_overlap: bool) -> tuple[str, list[dict[str, Any]]]:
    text = draw(st.text(min_size=1, max_size=40))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8, unique=True)))
    if allow_overlap:
        pairs = [
            (s, e) for s, e in draw(st.lists(st.tuples(st.integers(0, len(text)), st.integers(0, len(text))))) if s < e
        ]
    else:
        pairs = list(itertools.pairwise(cuts))[::2]
    spans = [span(s, e, draw(st.sampled_from(["PER", "ORG"]))) for s, e in pairs]
    return text, spans


@PROPERTY
@given(trees(), st.booleans(), st.data())
def test_any_taxonomy_value_built_from_the_tree_validates(tree: Any, multiple: bool, data: st.DataObject) -> None:
    schema = schema_of({"name": "category", "kind": "taxonomy", "multiple": multiple, "tree": tree})
    nodes = schema.field("category").tree
    value = paths_choice(data.draw, nodes) if multiple else path_choice(data.draw, nodes)
    assert validate(schema, {"category": data.draw(st.permutations(value))}) == []


@PROPERTY
@given(trees(), st.data())
def test_dropping_a_parent_from_a_path_is_inconsistent(tree: Any, data: st.DataObject) -> None:
    schema = schema_of({"name": "category", "kind": "taxonomy", "tree": tree})
    path = path_choice(data.draw, schema.field("category").tree)
    if len(path) > 1:
        gap = data.draw(st.integers(0, len(path) - 2))
        problems = validate(schema, {"category": path[:gap] + path[gap + 1 :]})
        assert [p.code for p in problems] == ["INCONSISTENT_HIERARCHY"]


@PROPERTY
@given(st.booleans(), st.data())
def test_any_spans_value_built_over_the_text_validates(allow_overlap: bool, data: st.DataObject) -> None:
    text, spans = data.draw(texts_and_spans(allow_overlap))
    schema = schema_of({**SPANS, "allow_overlap": allow_overlap})
    assert validate(schema, {"entities": spans}, item={"data": {"text": text}}) == []


@st.composite
def images_and_boxes(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    size = st.integers(1, 4000) | st.floats(0.5, 4000)
    width, height = draw(size), draw(size)
    boxes = []
    for _ in range(draw(st.integers(0, 5))):
        x, y = draw(st.floats(0, width, exclude_max=True)), draw(st.floats(0, height, exclude_max=True))
        w = draw(st.floats(0, width - x, exclude_min=True))
        h = draw(st.floats(0, height - y, exclude_min=True))
        if x + w <= width and y + h <= height:  # float rounding can push a sum past the edge
            boxes.append(box(x, y, w, h, draw(st.sampled_from(["car", "person"]))))
    return {"metadata": {"width": width, "height": height}}, boxes


@PROPERTY
@given(images_and_boxes())
def test_any_boxes_value_inside_the_image_validates(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    item, boxes = case
    assert validate(schema_of(BOXES), {"objects": boxes}, item=item) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
json_nodes = st.recursive(
    st.fixed_dictionaries({"name": class_names | json_values}, optional={"exclusive": st.booleans() | json_values}),
    lambda children: st.fixed_dictionaries(
        {"name": class_names | json_values, "children": st.lists(children, max_size=3) | json_values}
    ),
    max_leaves=12,
)
fuzzy_fields = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "c"]), "kind": st.sampled_from(["taxonomy", "spans", "boxes"])},
    optional={
        "tree": st.lists(json_nodes | json_values, max_size=3) | json_values,
        "multiple": st.booleans() | json_values,
        "labels": st.lists(class_names, max_size=3) | json_values,
        "source": st.just("text") | json_values,
        "allow_overlap": st.booleans() | json_values,
        "required": st.booleans(),
    },
)
fuzzy_items = st.fixed_dictionaries(
    {},
    optional={
        "data": st.fixed_dictionaries({}, optional={"text": st.text(max_size=20) | json_values}) | json_values,
        "metadata": st.fixed_dictionaries(
            {}, optional={"width": st.integers(-2, 50) | json_values, "height": st.integers(-2, 50) | json_values}
        )
        | json_values,
    },
)
fuzzy_entries = st.fixed_dictionaries(
    {},
    optional={
        key: st.integers(-2, 30) | st.floats() | json_values for key in ("start", "end", "x", "y", "width", "height")
    }
    | {"label": class_names | json_values},
)


@PROPERTY
@given(st.lists(fuzzy_fields, min_size=1, max_size=3), st.lists(fuzzy_entries | json_values, max_size=4), fuzzy_items)
def test_lint_and_validate_never_raise_on_odd_structured_fields(fields: Any, entries: Any, item: Any) -> None:
    definition = {"fields": fields}
    if lint(definition) == []:
        schema = parse(definition)
        for value in (dict.fromkeys((f.name for f in schema.fields), entries), {"a": entries[:1] or None}):
            assert isinstance(validate(schema, value, item=item), list)
            assert isinstance(validate(schema, value), list)
