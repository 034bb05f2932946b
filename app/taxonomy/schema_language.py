"""The label-schema language: parsing a definition, linting it, validating a value against it.

Pure functions over plain JSON; every finding is a Problem naming the field and the rule, and
nothing raises on any JSON input.

Field kinds and the shape of their values:

- ``single_choice``: one class name; ``multi_choice``: a list of class names (``min``/``max``
  selections).
- ``rating`` (integers in ``min..max``), ``number`` (finite, optional ``min``/``max``), ``text``
  (optional ``max_length`` and ``pattern``, matched against the whole text). Patterns run on RE2,
  a linear-time engine, so no pattern can stall the server: RE2 syntax (as Python's ``re`` for
  the common part, with ``\\d``, ``\\w``, ``\\s`` and ``\\b`` ASCII-only), at most MAX_PATTERN
  characters; backreferences and lookaround are UNSUPPORTED_PATTERN.
- ``taxonomy``: ``tree`` is a list of class nodes ``{"name", "children"?, "exclusive"?}``; class
  names are unique across the whole tree. The value is always a *list* of class names, whether
  or not ``multiple`` is set, and it spells the ancestor chain out: choosing ``dog`` under
  ``animal`` is ``["animal", "dog"]``. A class held without its parent is INCONSISTENT_HIERARCHY;
  two children of a node marked ``exclusive`` are EXCLUSIVE_SIBLINGS; with ``multiple`` false
  (the default) the classes must lie on one path from a root, else TOO_MANY.
- ``spans`` over the text ``item["data"][source]``: a list of ``{"start", "end", "label"}`` with
  integer offsets in code points (Python string indices), ``0 <= start < end <= len(text)``,
  labels from ``labels``; overlapping spans are rejected unless ``allow_overlap`` is true
  (half-open intervals: ``[0, 5)`` and ``[5, 8)`` do not overlap).
- ``boxes`` over the image whose size is ``item["metadata"]["width"/"height"]``: a list of
  ``{"x", "y", "width", "height", "label"}`` numbers with a positive size, inside the image.

``spans`` and ``boxes`` need the item: ``validate(..., item={"data": ..., "metadata": ...})``.
Without it (or without the text or the image size) a present value is MISSING_SOURCE or
MISSING_IMAGE_SIZE, never an exception. An absent field, ``null``, ``[]`` or blank text answers
nothing: a ``required`` field then reports REQUIRED.

Cross-field rules live in the schema's ``rules`` list; a condition is ``{"field", "class"?}`` and
holds when the field is answered and, if a class is named, the value holds it (is it, lists it,
or has a span or box labeled with it):

- ``{"kind": "requires", "if": cond, "then": cond}``: RULE_REQUIRES at the ``then`` field;
- ``{"kind": "excludes", "if": cond, "and": cond}``: RULE_EXCLUDES at the ``and`` field.

Messages name the rule by its index in ``rules``.

Validation messages name the field and the rule broken, never the value checked (nor the
item's content): they reach readers who may not see either, such as the impact report of a
schema change. The value itself is where the field path points.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

from app import json_bounds
from app.errors import Problem

KINDS = ("single_choice", "multi_choice", "rating", "number", "text", "taxonomy", "spans", "boxes")
RULE_KINDS = ("requires", "excludes")
MAX_FIELDS = 100
MAX_CLASSES = 1000
MAX_DEPTH = 32
MAX_RULES = 100
MAX_PATTERN = 1000  # characters of a text field's pattern
# JSON nesting of a whole definition: a taxonomy of MAX_DEPTH levels takes two per level.
MAX_DEFINITION_DEPTH = 2 * MAX_DEPTH + 8
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Kinds whose values carry class names (or labels) a rule may name.
CLASSED = ("single_choice", "multi_choice", "taxonomy", "spans", "boxes")


@dataclass(frozen=True)
class ClassNode:
    """One class of a taxonomy with the classes under it."""

    name: str
    children: tuple[ClassNode, ...] = ()
    exclusive: bool = False


@dataclass(frozen=True)
class TreeIndex:
    """A taxonomy's shape, indexed once when the schema is parsed: validation and remapping
    ask it per value."""

    parents: Mapping[str, str | None] = field(default_factory=dict)  # None at a root
    order: Mapping[str, int] = field(default_factory=dict)  # depth-first position
    exclusive: tuple[ClassNode, ...] = ()  # nodes whose children exclude each other

    @classmethod
    def of(cls, tree: tuple[ClassNode, ...]) -> TreeIndex:
        parents: dict[str, str | None] = {}
        order: dict[str, int] = {}
        stack: list[tuple[ClassNode, str | None]] = [(node, None) for node in reversed(tree)]
        while stack:
            node, parent = stack.pop()
            parents[node.name], order[node.name] = parent, len(order)
            stack.extend((child, node.name) for child in reversed(node.children))
        exclusive = tuple(node for node in _walk(tree) if node.exclusive)
        return cls(parents, order, exclusive)

    def ancestors(self, name: str) -> Iterator[str]:
        parent = self.parents.get(name)
        while parent is not None:
            yield parent
            parent = self.parents.get(parent)

    def closed(self, names: Iterable[str]) -> set[str]:
        """The known names with all their ancestors: choosing a class implies its parents."""
        found: set[str] = set()
        for name in names:
            if name in self.parents:
                found.add(name)
                found.update(self.ancestors(name))
        return found


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    required: bool = False
    # Choice classes, taxonomy classes (tree order) or span/box labels.
    classes: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    tree: tuple[ClassNode, ...] = ()
    multiple: bool = False
    source: str | None = None
    allow_overlap: bool = False
    index: TreeIndex = field(default_factory=TreeIndex, compare=False, repr=False)


@dataclass(frozen=True)
class Condition:
    field: str
    class_: str | None = None


@dataclass(frozen=True)
class Rule:
    kind: str  # "requires" or "excludes"
    condition: Condition
    consequence: Condition  # "then" of requires, "and" of excludes


@dataclass(frozen=True)
class LabelSchema:
    fields: tuple[FieldSpec, ...]
    rules: tuple[Rule, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def reads_item(self) -> bool:
        """Whether validation needs the item (spans and boxes are checked against it)."""
        return any(spec.kind in ITEM_CHECKS for spec in self.fields)


def lint(definition: Any, root: str = "labelSchema") -> list[Problem]:
    """Everything wrong with a schema definition; empty when it can be used. ``root`` names the input."""
    if not isinstance(definition, Mapping):
        return [Problem("INVALID_SCHEMA", "The label schema must be a JSON object.", root)]
    raw_fields = definition.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        return [Problem("INVALID_SCHEMA", "The label schema needs a non-empty 'fields' list.", f"{root}.fields")]
    if len(raw_fields) > MAX_FIELDS:
        return [Problem("INVALID_SCHEMA", f"At most {MAX_FIELDS} fields.", f"{root}.fields")]
    problems: list[Problem] = []
    seen: set[str] = set()
    # What rules may name: each usable field with its classes (None for kinds without classes).
    named: dict[str, set[str] | None] = {}
    for i, raw in enumerate(raw_fields):
        at = f"{root}.fields.{i}"
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
            if kind in KINDS:
                named[name] = set(_raw_classes(kind, raw)) if kind in CLASSED else None
        if kind not in KINDS:
            problems.append(Problem("UNKNOWN_KIND", f"Field kind must be one of {', '.join(KINDS)}.", f"{at}.kind"))
            continue
        if "required" in raw and not isinstance(raw["required"], bool):
            problems.append(Problem("INVALID_SCHEMA", "'required' must be true or false.", f"{at}.required"))
        problems.extend(_lint_kind(kind, raw, at))
    if "rules" in definition:
        problems.extend(_lint_rules(definition["rules"], named, f"{root}.rules"))
    if not problems:  # what lint does not read (unknown keys) is stored too: within the JSON bounds
        problems = json_bounds.check(definition, root, max_depth=MAX_DEFINITION_DEPTH)
    return problems


def _lint_kind(kind: str, raw: Mapping[str, Any], at: str) -> list[Problem]:
    problems: list[Problem] = []
    if kind in ("single_choice", "multi_choice"):
        problems.extend(_lint_names(raw.get("classes"), f"{at}.classes", "A choice field needs"))
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
        problems.extend(_lint_pattern(raw.get("pattern"), at))
        max_length = raw.get("max_length")
        if max_length is not None and not (isinstance(max_length, int) and max_length > 0):
            problems.append(Problem("INVALID_BOUNDS", "'max_length' must be a positive integer.", at))
    if kind == "taxonomy":
        problems.extend(_lint_tree(raw.get("tree"), f"{at}.tree"))
        problems.extend(_lint_flag(raw, "multiple", at))
    if kind in ("spans", "boxes"):
        problems.extend(_lint_names(raw.get("labels"), f"{at}.labels", f"A {kind} field needs"))
    if kind == "spans":
        source = raw.get("source")
        if not isinstance(source, str) or not source:
            problems.append(
                Problem("INVALID_SCHEMA", "A spans field names the item's text field in 'source'.", f"{at}.source")
            )
        problems.extend(_lint_flag(raw, "allow_overlap", at))
    return problems


def _lint_pattern(pattern: Any, at: str) -> list[Problem]:
    if pattern is None:
        return []
    if not isinstance(pattern, str):
        return [Problem("INVALID_PATTERN", "'pattern' is not a valid regular expression.", at)]
    if len(pattern) > MAX_PATTERN:
        return [Problem("INVALID_PATTERN", f"'pattern' allows at most {MAX_PATTERN} characters.", at)]
    if _matcher(pattern) is not None:
        return []
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return [Problem("INVALID_PATTERN", "'pattern' is not a valid regular expression.", at)]
    return [
        Problem(
            "UNSUPPORTED_PATTERN",
            "'pattern' needs what linear-time matching lacks (a backreference, lookaround) or repeats too much.",
            at,
        )
    ]


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is a Problem, not a line on stderr
# Memory per compiled pattern (program and DFA cache; RE2's default is 8 MiB): what the cache
# below may hold stays bounded, and a pattern needing more is refused at lint.
_RE2_OPTIONS.max_mem = 2 << 20


@functools.lru_cache(maxsize=256)
def _matcher(pattern: str) -> Callable[[str], bool] | None:
    """A whole-text matcher for the pattern on RE2, or None when RE2 cannot compile it."""
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error:
        return None

    def matches(text: str) -> bool:
        try:
            return compiled.fullmatch(text) is not None
        except UnicodeEncodeError:  # a lone surrogate stored before such text was refused
            return False

    return matches


def _lint_names(names: Any, at: str, needs: str) -> list[Problem]:
    if not isinstance(names, list) or not names or not all(isinstance(c, str) and c.strip() for c in names):
        return [Problem("INVALID_CLASSES", f"{needs} a non-empty list of class names.", at)]
    problems = []
    if len(names) > MAX_CLASSES:
        problems.append(Problem("INVALID_CLASSES", f"At most {MAX_CLASSES} classes.", at))
    if len(set(names)) != len(names):
        problems.append(Problem("DUPLICATE_CLASS", "Class names must be unique within a field.", at))
    return problems


def _lint_flag(raw: Mapping[str, Any], key: str, at: str) -> list[Problem]:
    if key in raw and not isinstance(raw[key], bool):
        return [Problem("INVALID_SCHEMA", f"'{key}' must be true or false.", f"{at}.{key}")]
    return []


def _lint_tree(tree: Any, at: str) -> list[Problem]:
    if not isinstance(tree, list) or not tree:
        return [Problem("INVALID_TREE", "A taxonomy needs a non-empty 'tree' list of classes.", at)]
    problems: list[Problem] = []
    seen: set[str] = set()
    count = 0
    # Depth first with an explicit stack: any nesting of JSON is walked without recursion.
    stack: list[tuple[Any, str, tuple[str, ...]]] = [
        (node, f"{at}.{k}", ()) for k, node in reversed(list(enumerate(tree)))
    ]
    while stack:
        node, here, path = stack.pop()
        count += 1
        if count > MAX_CLASSES:
            problems.append(Problem("INVALID_TREE", f"At most {MAX_CLASSES} classes.", at))
            break
        if not isinstance(node, Mapping):
            problems.append(Problem("INVALID_TREE", "Each class of a taxonomy is an object.", here))
            continue
        name = node.get("name")
        if not isinstance(name, str) or not name:
            problems.append(Problem("INVALID_TREE", "Each class needs a non-empty 'name'.", f"{here}.name"))
            name = None
        elif name in path:
            problems.append(Problem("CYCLIC_TAXONOMY", f"'{name}' appears under itself.", f"{here}.name"))
        elif name in seen:
            problems.append(Problem("DUPLICATE_CLASS", f"Class '{name}' appears twice in the tree.", f"{here}.name"))
        else:
            seen.add(name)
        if "exclusive" in node and not isinstance(node["exclusive"], bool):
            problems.append(Problem("INVALID_TREE", "'exclusive' must be true or false.", f"{here}.exclusive"))
        children = node.get("children", [])
        if not isinstance(children, list):
            problems.append(Problem("INVALID_TREE", "'children' must be a list of classes.", f"{here}.children"))
            continue
        if children and len(path) + 1 >= MAX_DEPTH:
            problems.append(Problem("INVALID_TREE", f"A taxonomy is at most {MAX_DEPTH} levels deep.", here))
            continue
        below = (*path, name) if name is not None else path
        stack.extend((child, f"{here}.children.{k}", below) for k, child in reversed(list(enumerate(children))))
    return problems


def _raw_classes(kind: str, raw: Mapping[str, Any]) -> Iterator[str]:
    """The class names a raw field definition declares, skipping anything malformed."""
    if kind in ("single_choice", "multi_choice", "spans", "boxes"):
        names = raw.get("classes" if kind.endswith("choice") else "labels")
        if isinstance(names, list):
            yield from (c for c in names if isinstance(c, str))
        return
    tree = raw.get("tree")
    stack: list[Any] = list(tree) if isinstance(tree, list) else []
    while stack and len(stack) < 10 * MAX_CLASSES:
        node = stack.pop()
        if isinstance(node, Mapping):
            if isinstance(node.get("name"), str):
                yield node["name"]
            if isinstance(node.get("children"), list):
                stack.extend(node["children"])


def _lint_rules(rules: Any, named: Mapping[str, set[str] | None], at: str) -> list[Problem]:
    if not isinstance(rules, list):
        return [Problem("INVALID_RULE", "'rules' must be a list.", at)]
    if len(rules) > MAX_RULES:
        return [Problem("INVALID_RULE", f"At most {MAX_RULES} rules.", at)]
    problems: list[Problem] = []
    for j, rule in enumerate(rules):
        here = f"{at}.{j}"
        if not isinstance(rule, Mapping):
            problems.append(Problem("INVALID_RULE", "Each rule must be an object.", here))
            continue
        kind = rule.get("kind")
        if kind not in RULE_KINDS:
            problems.append(
                Problem("INVALID_RULE", f"Rule kind must be one of {', '.join(RULE_KINDS)}.", f"{here}.kind")
            )
            continue
        for key in ("if", "then" if kind == "requires" else "and"):
            problems.extend(_lint_condition(rule.get(key), f"{here}.{key}", named))
    return problems


def _lint_condition(cond: Any, at: str, named: Mapping[str, set[str] | None]) -> list[Problem]:
    if not isinstance(cond, Mapping):
        return [Problem("INVALID_RULE", "A rule condition is an object naming a 'field'.", at)]
    name, cls = cond.get("field"), cond.get("class")
    if not isinstance(name, str) or name not in named:
        return [Problem("UNKNOWN_FIELD", f"The rule names no field of the schema: {name!r}.", f"{at}.field")]
    if "class" not in cond:
        return []
    classes = named[name]
    if classes is None:
        return [Problem("INVALID_RULE", f"'{name}' has no classes for a rule to name.", f"{at}.class")]
    if not isinstance(cls, str) or cls not in classes:
        return [Problem("UNKNOWN_CLASS", f"{cls!r} is not a class of '{name}'.", f"{at}.class")]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse(definition: Mapping[str, Any]) -> LabelSchema:
    """A linted definition as typed specs (call lint first: this trusts its input)."""
    specs = []
    for raw in definition["fields"]:
        kind = raw["kind"]
        tree = tuple(_node(n) for n in raw.get("tree") or ()) if kind == "taxonomy" else ()
        specs.append(
            FieldSpec(
                name=raw["name"],
                kind=kind,
                required=bool(raw.get("required", False)),
                # Only the key the kind declares classes under: lint ignores the others, so they may hold anything.
                classes=tuple(_walk_names(tree)) if tree else tuple(_raw_classes(kind, raw)),
                min=raw.get("min"),
                max=raw.get("max"),
                max_length=raw.get("max_length"),
                pattern=raw.get("pattern"),
                tree=tree,
                multiple=bool(raw.get("multiple", False)),
                source=raw.get("source"),
                allow_overlap=bool(raw.get("allow_overlap", False)),
                index=TreeIndex.of(tree),
            )
        )
    rules = tuple(
        Rule(
            kind=r["kind"],
            condition=_condition(r["if"]),
            consequence=_condition(r["then" if r["kind"] == "requires" else "and"]),
        )
        for r in definition.get("rules") or ()
    )
    return LabelSchema(tuple(specs), rules)


def _node(raw: Mapping[str, Any]) -> ClassNode:
    return ClassNode(
        name=raw["name"],
        children=tuple(_node(c) for c in raw.get("children") or ()),
        exclusive=bool(raw.get("exclusive", False)),
    )


def _walk(nodes: tuple[ClassNode, ...]) -> Iterator[ClassNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _walk_names(nodes: tuple[ClassNode, ...]) -> Iterator[str]:
    return (node.name for node in _walk(nodes))


def _condition(raw: Mapping[str, Any]) -> Condition:
    return Condition(field=raw["field"], class_=raw.get("class"))


def validate(
    schema: LabelSchema, value: Any, at: str = "value", *, item: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Everything wrong with a label value under the schema; empty when it may be saved.

    ``item`` is ``{"data": ..., "metadata": ...}`` of the item labeled; spans and boxes read it.
    """
    if not isinstance(value, Mapping):
        return [Problem("INVALID_VALUE", "A label value must be a JSON object keyed by field name.", at)]
    problems = [
        Problem("UNKNOWN_FIELD", "This is not a field of the label schema.", f"{at}.{name}")
        for name in value
        if schema.field(name) is None
    ]
    for spec in schema.fields:
        here = f"{at}.{spec.name}"
        present = value.get(spec.name)
        # An empty list or blank text answers nothing: a required field needs a real answer.
        if not _answered(present):
            if spec.required:
                problems.append(Problem("REQUIRED", f"'{spec.name}' is required.", here))
            continue
        if spec.kind in ITEM_CHECKS:
            problems.extend(ITEM_CHECKS[spec.kind](spec, present, here, item))
        else:
            problems.extend(CHECKS[spec.kind](spec, present, here))
    problems.extend(_check_rules(schema, value, at))
    return problems


def _answered(present: Any) -> bool:
    return not (present is None or present == [] or (isinstance(present, str) and not present.strip()))


def _single(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, str):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes one class name.", at)]
    if v not in spec.classes:
        return [Problem("UNKNOWN_CLASS", f"The answer to '{spec.name}' is not one of its classes.", at)]
    return []


def _multi(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, list) or not all(isinstance(c, str) for c in v):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes a list of class names.", at)]
    problems = [
        Problem("UNKNOWN_CLASS", f"'{spec.name}' lists a class it does not have.", at)
        for c in v
        if c not in spec.classes
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
    if spec.pattern is not None:
        matches = _matcher(spec.pattern)
        if matches is None:  # stored before patterns ran on RE2: propose a schema change to fix it
            return [Problem("UNSUPPORTED_PATTERN", f"'{spec.name}' has a pattern that cannot be checked.", at)]
        if not matches(v):
            return [Problem("PATTERN_MISMATCH", f"'{spec.name}' does not match its pattern.", at)]
    return []


def _taxonomy(spec: FieldSpec, v: Any, at: str) -> list[Problem]:
    if not isinstance(v, list) or not all(isinstance(c, str) for c in v):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes a list of class names.", at)]
    parents = spec.index.parents
    problems = [
        Problem("UNKNOWN_CLASS", f"'{spec.name}' lists a class its tree does not have.", at)
        for c in v
        if c not in parents
    ]
    if len(set(v)) != len(v):
        problems.append(Problem("DUPLICATE_CLASS", f"'{spec.name}' lists a class twice.", at))
    chosen = {c for c in v if c in parents}
    for c in dict.fromkeys(v):
        parent = parents.get(c)
        if parent is not None and parent not in chosen:
            problems.append(
                Problem("INCONSISTENT_HIERARCHY", f"'{spec.name}' holds a class without the classes above it.", at)
            )
    for node in spec.index.exclusive:
        picked = [child.name for child in node.children if child.name in chosen]
        if len(picked) > 1:
            problems.append(
                Problem("EXCLUSIVE_SIBLINGS", f"Only one class under '{node.name}' of '{spec.name}' may be chosen.", at)
            )
    if not spec.multiple:
        # One path from a root: at most one chosen class has no chosen class anywhere below it
        # (a missing link in the chain is the hierarchy's problem, not a second path).
        above = {ancestor for c in chosen for ancestor in spec.index.ancestors(c)}
        tips = chosen - above
        if len(tips) > 1:
            problems.append(Problem("TOO_MANY", f"'{spec.name}' takes one path of classes.", at))
    return problems


def _spans(spec: FieldSpec, v: Any, at: str, item: Mapping[str, Any] | None) -> list[Problem]:
    data = item.get("data") if isinstance(item, Mapping) else None
    text = data.get(spec.source) if isinstance(data, Mapping) and spec.source is not None else None
    if not isinstance(text, str):
        return [Problem("MISSING_SOURCE", f"'{spec.name}' needs the item's text field '{spec.source}'.", at)]
    if not isinstance(v, list):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes a list of spans.", at)]
    problems: list[Problem] = []
    good: list[tuple[int, int, str, int]] = []
    for k, span in enumerate(v):
        here = f"{at}.{k}"
        found = _element(span, ("start", "end", "label"), spec, here)
        if isinstance(found, list):
            problems.extend(found)
            continue
        start, end, label = found["start"], found["end"], found["label"]
        if not all(isinstance(o, int) and not isinstance(o, bool) for o in (start, end)):
            problems.append(Problem("WRONG_KIND", "A span's start and end are integer offsets.", here))
        elif start >= end:
            problems.append(Problem("EMPTY_SPAN", "A span's start must come before its end.", here))
        elif start < 0 or end > len(text):
            problems.append(Problem("OUT_OF_RANGE", f"A span must lie within the text '{spec.source}'.", here))
        else:
            good.append((start, end, label, k))
    if not spec.allow_overlap:
        reach, holder = -1, -1
        for start, end, _label, k in sorted(good):
            if start < reach:
                problems.append(Problem("OVERLAP", f"This span overlaps span {holder}.", f"{at}.{k}"))
            if end > reach:
                reach, holder = end, k
    return problems


def _boxes(spec: FieldSpec, v: Any, at: str, item: Mapping[str, Any] | None) -> list[Problem]:
    meta = item.get("metadata") if isinstance(item, Mapping) else None
    size: tuple[Any, Any] = (meta.get("width"), meta.get("height")) if isinstance(meta, Mapping) else (None, None)
    if not all(_is_number(s) and s > 0 for s in size):
        return [Problem("MISSING_IMAGE_SIZE", f"'{spec.name}' needs the image's width and height.", at)]
    image_w, image_h = size
    if not isinstance(v, list):
        return [Problem("WRONG_KIND", f"'{spec.name}' takes a list of boxes.", at)]
    problems: list[Problem] = []
    for k, box in enumerate(v):
        here = f"{at}.{k}"
        found = _element(box, ("x", "y", "width", "height", "label"), spec, here)
        if isinstance(found, list):
            problems.extend(found)
            continue
        x, y, w, h = found["x"], found["y"], found["width"], found["height"]
        if not all(_is_number(n) for n in (x, y, w, h)):
            problems.append(Problem("WRONG_KIND", "A box's x, y, width and height are finite numbers.", here))
        elif w <= 0 or h <= 0:
            problems.append(Problem("EMPTY_BOX", "A box needs a positive width and height.", here))
        elif x < 0 or y < 0 or x + w > image_w or y + h > image_h:
            problems.append(Problem("OUT_OF_RANGE", "A box must lie within the image.", here))
    return problems


def _element(raw: Any, keys: tuple[str, ...], spec: FieldSpec, at: str) -> Mapping[str, Any] | list[Problem]:
    """A span or box with exactly its keys and a known label, or what is wrong with it."""
    if not isinstance(raw, Mapping):
        return [Problem("WRONG_KIND", f"Each entry of '{spec.name}' is an object with {', '.join(keys)}.", at)]
    problems = [
        Problem("UNKNOWN_FIELD", f"This is not part of an entry of '{spec.name}'.", f"{at}.{key}")
        for key in raw
        if key not in keys
    ]
    missing = [key for key in keys if key not in raw]
    if missing:
        problems.append(Problem("WRONG_KIND", f"The entry lacks {', '.join(missing)}.", at))
    elif not isinstance(raw["label"], str) or raw["label"] not in spec.classes:
        problems.append(Problem("UNKNOWN_CLASS", f"The label is not one of those of '{spec.name}'.", f"{at}.label"))
    return problems or raw


def _holds(schema: LabelSchema, value: Mapping[str, Any], cond: Condition) -> bool:
    present = value.get(cond.field)
    if not _answered(present):
        return False
    if cond.class_ is None:
        return True
    spec = schema.field(cond.field)
    if spec is None:
        return False
    if spec.kind == "single_choice":
        return bool(present == cond.class_)
    if not isinstance(present, list):
        return False
    if spec.kind in ("spans", "boxes"):
        return any(isinstance(e, Mapping) and e.get("label") == cond.class_ for e in present)
    return any(c == cond.class_ for c in present)


def _describe(cond: Condition) -> str:
    return f"'{cond.field}' is '{cond.class_}'" if cond.class_ is not None else f"'{cond.field}' is answered"


def _check_rules(schema: LabelSchema, value: Mapping[str, Any], at: str) -> list[Problem]:
    problems = []
    for j, rule in enumerate(schema.rules):
        if not _holds(schema, value, rule.condition):
            continue
        then, here = rule.consequence, f"{at}.{rule.consequence.field}"
        if rule.kind == "requires" and not _holds(schema, value, then):
            wanted = (
                f"'{then.field}' must hold '{then.class_}'"
                if then.class_ is not None
                else f"'{then.field}' is required"
            )
            problems.append(Problem("RULE_REQUIRES", f"Rule {j}: {wanted} when {_describe(rule.condition)}.", here))
        elif rule.kind == "excludes" and _holds(schema, value, then):
            problems.append(
                Problem(
                    "RULE_EXCLUDES", f"Rule {j}: {_describe(then)} cannot go with {_describe(rule.condition)}.", here
                )
            )
    return problems


CHECKS: dict[str, Callable[[FieldSpec, Any, str], list[Problem]]] = {
    "single_choice": _single,
    "multi_choice": _multi,
    "rating": _rating,
    "number": _number,
    "text": _text,
    "taxonomy": _taxonomy,
}
# Kinds whose values are judged against the item labeled.
ITEM_CHECKS: dict[str, Callable[[FieldSpec, Any, str, Mapping[str, Any] | None], list[Problem]]] = {
    "spans": _spans,
    "boxes": _boxes,
}
