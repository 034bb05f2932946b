"""What a schema change request changes, field by field, class by class and rule by rule.

``diff`` compares two lint-clean definitions through the request's SchemaMapping, so a renamed
field or class reads as a rename rather than a removal plus an addition:

- fields: ADDED, REMOVED (dropped by the mapping, or gone with no mapping), RENAMED (with any
  other changes as details) or CHANGED (details only). Details are readable lines such as
  ``"required: false -> true"``; taxonomy nodes add ``"exclusive <class>: false -> true"``.
- classes of a field on both sides: ADDED, REMOVED (mapped to null, or gone with no mapping),
  RENAMED (mapped onto a class the old field did not keep), MERGED (mapped onto a class the old
  field had and keeps) and, for a taxonomy class kept by name, MOVED (to another parent, or to a
  root). Classes of an added or removed field are not listed one by one.
- rules: ADDED or REMOVED, compared as canonical JSON after the old rules follow the mapping's
  field and class renames, so a rule that only followed a rename is no change.

Order is deterministic: old fields in their order, then added fields; each field's classes in
old order, then added classes in new order; removed rules, then added ones.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.taxonomy.mapping import SchemaMapping
from app.taxonomy.schema_language import CLASSED, ClassNode, FieldSpec, parse

# Field settings compared one by one; classes and the tree are compared as ClassChanges.
SETTINGS = ("kind", "required", "min", "max", "max_length", "pattern", "multiple", "source", "allow_overlap")


@dataclass(frozen=True)
class FieldChange:
    field: str  # the new name (the old one when REMOVED)
    change: str  # "ADDED" | "REMOVED" | "RENAMED" | "CHANGED"
    previous: str | None = None  # the old name when RENAMED
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "change": self.change, "previous": self.previous, "details": list(self.details)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FieldChange:
        return cls(raw["field"], raw["change"], raw["previous"], tuple(raw["details"]))


@dataclass(frozen=True)
class ClassChange:
    field: str  # the new field name
    class_: str  # the old class name (the new one when ADDED)
    change: str  # "ADDED" | "REMOVED" | "RENAMED" | "MERGED" | "MOVED"
    target: str | None = None  # the new class when RENAMED or MERGED; the new parent (None: a root) when MOVED

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "class": self.class_, "change": self.change, "target": self.target}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ClassChange:
        return cls(raw["field"], raw["class"], raw["change"], raw["target"])


@dataclass(frozen=True)
class RuleChange:
    change: str  # "ADDED" | "REMOVED"
    rule: dict[str, Any]  # as written in the definition it comes from
    description: str  # e.g. "requires: sentiment=neg -> reason"

    def to_json(self) -> dict[str, Any]:
        return {"change": self.change, "rule": self.rule, "description": self.description}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RuleChange:
        return cls(raw["change"], dict(raw["rule"]), raw["description"])


@dataclass(frozen=True)
class SchemaDiff:
    fields: tuple[FieldChange, ...] = ()
    classes: tuple[ClassChange, ...] = ()
    rules: tuple[RuleChange, ...] = ()

    def is_empty(self) -> bool:
        return not (self.fields or self.classes or self.rules)

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": [c.to_json() for c in self.fields],
            "classes": [c.to_json() for c in self.classes],
            "rules": [c.to_json() for c in self.rules],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SchemaDiff:
        """Reads what to_json wrote."""
        return cls(
            tuple(FieldChange.from_json(c) for c in raw["fields"]),
            tuple(ClassChange.from_json(c) for c in raw["classes"]),
            tuple(RuleChange.from_json(c) for c in raw["rules"]),
        )


def diff(old_definition: Mapping[str, Any], new_definition: Mapping[str, Any], mapping: SchemaMapping) -> SchemaDiff:
    """The changes from ``old_definition`` to ``new_definition`` (both lint-clean) under ``mapping``."""
    old, new = parse(old_definition), parse(new_definition)
    fields: list[FieldChange] = []
    classes: list[ClassChange] = []
    carried: set[str] = set()
    for before in old.fields:
        target = mapping.fields.get(before.name, before.name)
        after = new.field(target) if target is not None else None
        if after is None:
            fields.append(FieldChange(before.name, "REMOVED"))
            continue
        carried.add(after.name)
        renames = mapping.classes.get(before.name, {})
        details = _settings(before, after) + _exclusive(before, after, renames)
        if after.name != before.name:
            fields.append(FieldChange(after.name, "RENAMED", before.name, details))
        elif details:
            fields.append(FieldChange(after.name, "CHANGED", None, details))
        if before.kind in CLASSED and after.kind in CLASSED:
            classes.extend(_class_changes(before, after, renames))
    fields.extend(FieldChange(spec.name, "ADDED") for spec in new.fields if spec.name not in carried)
    rules = _rule_changes(old_definition.get("rules") or [], new_definition.get("rules") or [], mapping)
    return SchemaDiff(tuple(fields), tuple(classes), tuple(rules))


def _settings(before: FieldSpec, after: FieldSpec) -> tuple[str, ...]:
    return tuple(
        f"{name}: {_show(getattr(before, name))} -> {_show(getattr(after, name))}"
        for name in SETTINGS
        if getattr(before, name) != getattr(after, name)
    )


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _exclusive(before: FieldSpec, after: FieldSpec, renames: Mapping[str, str | None]) -> tuple[str, ...]:
    """Taxonomy nodes whose 'exclusive' flag changed, named as in the new tree."""
    was = {node.name: node.exclusive for node, _parent in _nodes(before.tree)}
    now = {node.name: node.exclusive for node, _parent in _nodes(after.tree)}
    details: dict[str, str] = {}
    for name, flag in was.items():
        target = renames.get(name, name)
        if target in now and target not in details and now[target] != flag:
            details[target] = f"exclusive {target}: {_show(flag)} -> {_show(now[target])}"
    return tuple(details.values())


def _nodes(tree: Sequence[ClassNode]) -> list[tuple[ClassNode, str | None]]:
    """Every node of the tree with its parent's name (None at a root), depth first."""
    found: list[tuple[ClassNode, str | None]] = []
    stack: list[tuple[ClassNode, str | None]] = [(node, None) for node in reversed(tree)]
    while stack:
        node, parent = stack.pop()
        found.append((node, parent))
        stack.extend((child, node.name) for child in reversed(node.children))
    return found


def _class_changes(before: FieldSpec, after: FieldSpec, renames: Mapping[str, str | None]) -> list[ClassChange]:
    kept_by_name = set(after.classes)
    # Classes of the old field that carry into the new one under their own name.
    staying = {c for c in before.classes if renames.get(c, c) == c and c in kept_by_name}
    moves = before.kind == after.kind == "taxonomy"
    old_parent = {node.name: parent for node, parent in _nodes(before.tree)} if moves else {}
    new_parent = {node.name: parent for node, parent in _nodes(after.tree)} if moves else {}
    changes: list[ClassChange] = []
    reached: set[str] = set()
    for cls in before.classes:
        target = renames.get(cls, cls)
        if target is None or target not in kept_by_name:
            changes.append(ClassChange(after.name, cls, "REMOVED"))
        elif target != cls:
            reached.add(target)
            changes.append(ClassChange(after.name, cls, "MERGED" if target in staying else "RENAMED", target))
        else:
            reached.add(cls)
            if moves and _moved(old_parent[cls], new_parent[cls], renames):
                changes.append(ClassChange(after.name, cls, "MOVED", new_parent[cls]))
    changes.extend(ClassChange(after.name, cls, "ADDED") for cls in after.classes if cls not in reached)
    return changes


def _moved(was: str | None, now: str | None, renames: Mapping[str, str | None]) -> bool:
    if was is None:
        return now is not None
    # Under a parent that was only renamed, a class stays where it was; under a dropped one it moved.
    carried = renames.get(was, was)
    return carried is None or carried != now


def _rule_changes(old_rules: Sequence[Any], new_rules: Sequence[Any], mapping: SchemaMapping) -> list[RuleChange]:
    old_keys = [_canonical(_follow(rule, mapping)) for rule in old_rules]
    new_keys = [_canonical(rule) for rule in new_rules]
    # Multisets: a rule stated twice and kept once is one removal.
    unmatched_new, unmatched_old = Counter(new_keys), Counter(old_keys)
    changes = []
    for rule, key in zip(old_rules, old_keys, strict=True):
        if unmatched_new[key]:
            unmatched_new[key] -= 1
        else:
            changes.append(RuleChange("REMOVED", dict(rule), _describe(rule)))
    for rule, key in zip(new_rules, new_keys, strict=True):
        if unmatched_old[key]:
            unmatched_old[key] -= 1
        else:
            changes.append(RuleChange("ADDED", dict(rule), _describe(rule)))
    return changes


def _follow(rule: Mapping[str, Any], mapping: SchemaMapping) -> dict[str, Any]:
    """The rule with its conditions naming fields and classes as the mapping renames them."""
    followed = dict(rule)
    for key in ("if", "then", "and"):
        cond = rule.get(key)
        if not isinstance(cond, Mapping) or not isinstance(cond.get("field"), str):
            continue
        name = cond["field"]
        renamed = dict(cond, field=mapping.fields.get(name, name) or name)
        if isinstance(cond.get("class"), str):
            renamed["class"] = mapping.classes.get(name, {}).get(cond["class"], cond["class"]) or cond["class"]
        followed[key] = renamed
    return followed


def _canonical(rule: Any) -> str:
    return json.dumps(rule, sort_keys=True, separators=(",", ":"), default=str)


def _describe(rule: Mapping[str, Any]) -> str:
    kind = rule.get("kind")
    first = _condition(rule.get("if"))
    if kind == "requires":
        return f"requires: {first} -> {_condition(rule.get('then'))}"
    return f"{kind}: {first} & {_condition(rule.get('and'))}"


def _condition(cond: Any) -> str:
    if not isinstance(cond, Mapping):
        return "?"
    return f"{cond.get('field')}={cond['class']}" if "class" in cond else str(cond.get("field"))
