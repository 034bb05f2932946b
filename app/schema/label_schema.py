"""A label schema as typed GraphQL: one type per field kind with its settings, and the rules.

A UI draws its labeling form from these types instead of interpreting the JSON `definition`;
both come from the same stored version. Everything here is built from the parsed schema
(app/taxonomy/schema_language.py), so the settings shown are the ones validation applies.

Bounds have a distinct name per kind (`min`/`max` of a rating, `minValue`/`maxValue` of a number,
`minSelections`/`maxSelections` of a multiple choice): their types differ, and a client selecting
all kinds in one query would otherwise hit GraphQL's "fields conflict" validation error.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import strawberry

from app.taxonomy import models, schema_language
from app.taxonomy.schema_language import ClassNode, Condition, FieldSpec, LabelSchema, Rule


@strawberry.enum(description="The kind of a label-schema field; the JSON definition spells it in lower case.")
class LabelFieldKind(enum.Enum):
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    RATING = "rating"
    NUMBER = "number"
    TEXT = "text"
    TAXONOMY = "taxonomy"
    SPANS = "spans"
    BOXES = "boxes"


@strawberry.enum(description="How a cross-field rule ties its two conditions.")
class LabelRuleKind(enum.Enum):
    REQUIRES = "requires"
    EXCLUDES = "excludes"


@strawberry.interface(
    description=(
        "One field of a label schema, in the schema's order. The label value is a JSON object keyed by "
        "field name; each implementing type says what its field takes."
    )
)
class LabelField:
    name: str = strawberry.field(description="The key of this field in a label value.")
    kind: LabelFieldKind
    required: bool = strawberry.field(
        description="Whether a label must answer it (an empty list or blank text does not answer)."
    )


@strawberry.type(description="A class a choice may pick, or a label a span or box may carry.")
class LabelClass:
    name: str = strawberry.field(description="The name a label value uses.")


@strawberry.type(description="Takes one class name.")
class SingleChoiceField(LabelField):
    classes: list[LabelClass]


@strawberry.type(description="Takes a list of distinct class names.")
class MultiChoiceField(LabelField):
    classes: list[LabelClass]
    min_selections: int | None = strawberry.field(description="The fewest classes an answer lists; null: no floor.")
    max_selections: int | None = strawberry.field(description="The most classes an answer lists; null: no ceiling.")


@strawberry.type(description="Takes an integer from min to max, both included.")
class RatingField(LabelField):
    min: int
    max: int


@strawberry.type(description="Takes a finite number.")
class NumberField(LabelField):
    min_value: float | None = strawberry.field(description="The lowest number allowed, included; null: no floor.")
    max_value: float | None = strawberry.field(description="The highest number allowed, included; null: no ceiling.")


@strawberry.type(description="Takes text.")
class TextField(LabelField):
    max_length: int | None = strawberry.field(description="The most characters (code points) allowed.")
    pattern: str | None = strawberry.field(
        description="A regular expression (Python syntax) the whole text must match; null: any text."
    )


@strawberry.type(description="A class of a taxonomy tree.")
class TaxonomyClass:
    name: str
    parent: str | None = strawberry.field(description="The class directly above; null for a root.")
    path: list[str] = strawberry.field(description="From the root down to this class: what a value lists to choose it.")
    children: list[str] = strawberry.field(description="The classes directly below, in order.")
    exclusive: bool = strawberry.field(description="Whether at most one of its children may be chosen.")


@strawberry.type(
    description=(
        "Takes a list of class names of a tree, each with its ancestors: choosing 'dog' under 'animal' "
        'is ["animal", "dog"].'
    )
)
class TaxonomyField(LabelField):
    multiple: bool = strawberry.field(
        description="Whether several paths of the tree may be chosen; false: one path from a root."
    )
    roots: list[str] = strawberry.field(description="The top classes, in order.")
    classes: list[TaxonomyClass] = strawberry.field(description="Every class, depth first in the tree's order.")


@strawberry.type(
    description=(
        "Takes a list of {start, end, label} over the item's text data[source]: integer offsets in code "
        "points, start < end, half-open."
    )
)
class SpanField(LabelField):
    source: str = strawberry.field(description="The key of the item's data holding the text.")
    allow_overlap: bool = strawberry.field(description="Whether spans may overlap.")
    labels: list[LabelClass]


@strawberry.type(
    description=(
        "Takes a list of {x, y, width, height, label} inside the image, whose size is the item's "
        "metadata width and height."
    )
)
class BoxField(LabelField):
    labels: list[LabelClass]


@strawberry.type(description="One side of a rule: a field answered, or holding a class.")
class LabelCondition:
    field: str
    class_name: str | None = strawberry.field(
        description="The class the field must hold (be, list, or label a span or box with); null: any answer."
    )


@strawberry.type(description="A cross-field rule; validation names it by its index ('Rule 0: ...').")
class LabelRule:
    index: int = strawberry.field(description="Its position in the definition's rules.")
    kind: LabelRuleKind
    when: LabelCondition = strawberry.field(description="The condition that sets the rule off (`if`).")
    then: LabelCondition = strawberry.field(
        description="What must then hold (requires: `then`) or must then not hold (excludes: `and`)."
    )
    description: str = strawberry.field(description="The rule in words.")


def _classes(names: tuple[str, ...]) -> list[LabelClass]:
    return [LabelClass(name=name) for name in names]


def _int(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


def _float(bound: float | None) -> float | None:
    return None if bound is None else float(bound)


def _single_choice(spec: FieldSpec) -> LabelField:
    return SingleChoiceField(
        name=spec.name, kind=LabelFieldKind.SINGLE_CHOICE, required=spec.required, classes=_classes(spec.classes)
    )


def _multi_choice(spec: FieldSpec) -> LabelField:
    return MultiChoiceField(
        name=spec.name,
        kind=LabelFieldKind.MULTI_CHOICE,
        required=spec.required,
        classes=_classes(spec.classes),
        min_selections=_int(spec.min),
        max_selections=_int(spec.max),
    )


def _rating(spec: FieldSpec) -> LabelField:
    # The language requires both bounds of a rating, as integers.
    assert spec.min is not None
    assert spec.max is not None
    return RatingField(
        name=spec.name, kind=LabelFieldKind.RATING, required=spec.required, min=int(spec.min), max=int(spec.max)
    )


def _number(spec: FieldSpec) -> LabelField:
    return NumberField(
        name=spec.name,
        kind=LabelFieldKind.NUMBER,
        required=spec.required,
        min_value=_float(spec.min),
        max_value=_float(spec.max),
    )


def _text(spec: FieldSpec) -> LabelField:
    return TextField(
        name=spec.name,
        kind=LabelFieldKind.TEXT,
        required=spec.required,
        max_length=spec.max_length,
        pattern=spec.pattern,
    )


def _taxonomy(spec: FieldSpec) -> LabelField:
    classes: list[TaxonomyClass] = []
    # Depth first in the tree's order, with an explicit stack (trees are up to 32 levels deep).
    stack: list[tuple[ClassNode, tuple[str, ...]]] = [(node, ()) for node in reversed(spec.tree)]
    while stack:
        node, above = stack.pop()
        path = (*above, node.name)
        classes.append(
            TaxonomyClass(
                name=node.name,
                parent=above[-1] if above else None,
                path=list(path),
                children=[child.name for child in node.children],
                exclusive=node.exclusive,
            )
        )
        stack.extend((child, path) for child in reversed(node.children))
    return TaxonomyField(
        name=spec.name,
        kind=LabelFieldKind.TAXONOMY,
        required=spec.required,
        multiple=spec.multiple,
        roots=[node.name for node in spec.tree],
        classes=classes,
    )


def _spans(spec: FieldSpec) -> LabelField:
    assert spec.source is not None  # the language requires it
    return SpanField(
        name=spec.name,
        kind=LabelFieldKind.SPANS,
        required=spec.required,
        source=spec.source,
        allow_overlap=spec.allow_overlap,
        labels=_classes(spec.classes),
    )


def _boxes(spec: FieldSpec) -> LabelField:
    return BoxField(name=spec.name, kind=LabelFieldKind.BOXES, required=spec.required, labels=_classes(spec.classes))


# One builder per kind of the language; tests/schema/test_label_schema.py checks the SDL covers them all.
BUILDERS: dict[LabelFieldKind, Callable[[FieldSpec], LabelField]] = {
    LabelFieldKind.SINGLE_CHOICE: _single_choice,
    LabelFieldKind.MULTI_CHOICE: _multi_choice,
    LabelFieldKind.RATING: _rating,
    LabelFieldKind.NUMBER: _number,
    LabelFieldKind.TEXT: _text,
    LabelFieldKind.TAXONOMY: _taxonomy,
    LabelFieldKind.SPANS: _spans,
    LabelFieldKind.BOXES: _boxes,
}
# The implementing types, which the schema must be told of: no field returns them by name.
TYPES = (
    SingleChoiceField,
    MultiChoiceField,
    RatingField,
    NumberField,
    TextField,
    TaxonomyField,
    SpanField,
    BoxField,
)


# How a condition on a class reads per kind: (as a fact, after "must"/"must not").
_VERBS = {
    "single_choice": ("is", "be"),
    "spans": ("has a span labeled", "have a span labeled"),
    "boxes": ("has a box labeled", "have a box labeled"),
}


def _verbs(schema: LabelSchema, cond: Condition) -> tuple[str, str]:
    spec = schema.field(cond.field)
    return _VERBS.get(spec.kind if spec else "", ("includes", "include"))


def describe_rule(schema: LabelSchema, rule: Rule) -> str:
    """A rule in words, e.g. "When 'sentiment' is 'neg', 'reason' is required."."""
    cond, then = rule.condition, rule.consequence
    if cond.class_ is None:
        when = f"'{cond.field}' is answered"
    else:
        when = f"'{cond.field}' {_verbs(schema, cond)[0]} '{cond.class_}'"
    if then.class_ is None:
        outcome = f"'{then.field}' is required" if rule.kind == "requires" else f"'{then.field}' must be left empty"
    else:
        modal = "must" if rule.kind == "requires" else "must not"
        outcome = f"'{then.field}' {modal} {_verbs(schema, then)[1]} '{then.class_}'"
    return f"When {when}, {outcome}."


def parsed(row: models.LabelSchemaVersion) -> LabelSchema:
    # Every stored version passed lint when it was proposed or created.
    return schema_language.parse(row.definition)


def label_fields(row: models.LabelSchemaVersion) -> list[LabelField]:
    return [BUILDERS[LabelFieldKind(spec.kind)](spec) for spec in parsed(row).fields]


def label_rules(row: models.LabelSchemaVersion) -> list[LabelRule]:
    schema = parsed(row)
    return [
        LabelRule(
            index=index,
            kind=LabelRuleKind(rule.kind),
            when=LabelCondition(field=rule.condition.field, class_name=rule.condition.class_),
            then=LabelCondition(field=rule.consequence.field, class_name=rule.consequence.class_),
            description=describe_rule(schema, rule),
        )
        for index, rule in enumerate(schema.rules)
    ]
