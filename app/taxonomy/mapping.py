"""Carrying label values from one schema version into the next.

A change request says how the old schema maps onto the new one with two JSON objects:

- ``fieldMapping`` ``{"<old field>": "<new field>" | null}`` renames a field or drops its answers;
  fields it does not name keep their name.
- ``classMapping`` ``{"<old field>": {"<old class>": "<new class>" | null}}`` renames, merges or
  drops classes of a classed field (choice classes, taxonomy classes, span and box labels). Keys
  are old field names; a target class belongs to the field's new definition.

``lint_mapping`` reports everything wrong with the two objects against both schemas,
``parse_mapping`` turns clean ones into a SchemaMapping, and ``remap`` rewrites a value made
under the old schema so it reads under the new one. ``remap_through`` carries a value across
several versions, one approved mapping at a time.

remap rewrites only what the mapping touches: fields are renamed or dropped, and a field whose
classes the mapping changes (some class renamed, merged or dropped) has its value rewritten by
the kind it has in the new schema. Everything else is carried as it is, so the identity mapping
changes nothing and validation still sees whatever a value got wrong. Nothing here raises on any
JSON input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.errors import Problem
from app.taxonomy.schema_language import CLASSED, FieldSpec, LabelSchema


@dataclass(frozen=True)
class SchemaMapping:
    """How values of one schema version read under the next."""

    fields: Mapping[str, str | None] = field(default_factory=dict)  # old field -> new field (None: dropped)
    classes: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)  # old field -> old -> new class

    IDENTITY: ClassVar[SchemaMapping]

    def is_identity(self) -> bool:
        """Whether every value carries over untouched: nothing renamed, merged or dropped."""
        return all(old == new for old, new in self.fields.items()) and not any(
            _changes(classes) for classes in self.classes.values()
        )

    def to_json(self) -> dict[str, Any]:
        return {"fields": dict(self.fields), "classes": {name: dict(m) for name, m in self.classes.items()}}

    @classmethod
    def from_json(cls, raw: Any) -> SchemaMapping:
        """Reads what to_json wrote; entries of any other shape are left out."""
        if not isinstance(raw, Mapping):
            return cls()
        return parse_mapping(raw.get("classes"), raw.get("fields"))


SchemaMapping.IDENTITY = SchemaMapping()


def lint_mapping(old: LabelSchema, new: LabelSchema, class_mapping: Any, field_mapping: Any) -> list[Problem]:
    """Everything wrong with a change request's mappings from ``old`` into ``new``; empty when usable."""
    problems: list[Problem] = []
    if not isinstance(field_mapping, Mapping):
        problems.append(Problem("INVALID_MAPPING", "fieldMapping must be an object: old -> new field.", "fieldMapping"))
        field_mapping = {}
    if not isinstance(class_mapping, Mapping):
        problems.append(
            Problem("INVALID_MAPPING", "classMapping must be an object of field -> {old -> new class}.", "classMapping")
        )
        class_mapping = {}
    problems.extend(_lint_fields(old, new, field_mapping))
    problems.extend(_lint_classes(old, new, class_mapping, field_mapping))
    return problems


def _lint_fields(old: LabelSchema, new: LabelSchema, field_mapping: Mapping[Any, Any]) -> list[Problem]:
    # Where each old field's answers land: its target when mapped, else its own name.
    lands: dict[str, str] = {}
    for spec in old.fields:
        target = field_mapping.get(spec.name, spec.name)
        if isinstance(target, str):
            lands[spec.name] = target
    problems: list[Problem] = []
    for name, target in field_mapping.items():
        at = f"fieldMapping.{name}"
        if not isinstance(name, str) or not (target is None or isinstance(target, str)):
            problems.append(Problem("INVALID_MAPPING", "A field maps to a field name or to null.", at))
            continue
        before = old.field(name)
        if before is None:
            problems.append(Problem("UNKNOWN_FIELD", f"'{name}' is not a field of the current schema.", at))
            continue
        if target is None:
            continue
        after = new.field(target)
        if after is None:
            problems.append(Problem("UNKNOWN_FIELD", f"'{target}' is not a field of the proposed schema.", at))
            continue
        others = sorted(other for other, lands_on in lands.items() if lands_on == target and other != name)
        if others:
            sharing = ", ".join(f"'{other}'" for other in others)
            problems.append(
                Problem("DUPLICATE_TARGET", f"'{target}' would take the answers of '{name}' and of {sharing}.", at)
            )
        # Mapping a field onto itself only restates that it keeps its name: a change of kind is the impact's matter.
        if target != name and before.kind != after.kind:
            problems.append(
                Problem(
                    "KIND_CHANGED",
                    f"'{name}' is {before.kind} but '{target}' is {after.kind}: values cannot carry over.",
                    at,
                )
            )
    return problems


def _lint_classes(
    old: LabelSchema, new: LabelSchema, class_mapping: Mapping[Any, Any], field_mapping: Mapping[Any, Any]
) -> list[Problem]:
    problems: list[Problem] = []
    for name, classes in class_mapping.items():
        at = f"classMapping.{name}"
        if not isinstance(name, str) or not isinstance(classes, Mapping):
            problems.append(Problem("INVALID_MAPPING", "A field's class mapping is an object of old -> new class.", at))
            continue
        before = old.field(name)
        if before is None:
            problems.append(Problem("UNKNOWN_FIELD", f"'{name}' is not a field of the current schema.", at))
            continue
        renamed = name in field_mapping
        target = field_mapping.get(name, name)
        if target is None:
            problems.append(Problem("INVALID_MAPPING", f"fieldMapping drops '{name}': its classes go nowhere.", at))
            continue
        if before.kind not in CLASSED:
            problems.append(Problem("NOT_CLASSED", f"'{name}' is {before.kind}, a kind without classes.", at))
            continue
        after = new.field(target) if isinstance(target, str) else None
        if after is None:
            # A rename to nowhere is reported at fieldMapping already.
            if not renamed:
                problems.append(Problem("UNKNOWN_FIELD", f"'{name}' is not a field of the proposed schema.", at))
            continue
        if after.kind not in CLASSED:
            problems.append(Problem("NOT_CLASSED", f"'{target}' is {after.kind}, a kind without classes.", at))
            continue
        problems.extend(_lint_class_entries(before, after, classes, at))
    return problems


def _lint_class_entries(before: FieldSpec, after: FieldSpec, classes: Mapping[Any, Any], at: str) -> list[Problem]:
    problems: list[Problem] = []
    for old_class, new_class in classes.items():
        here = f"{at}.{old_class}"
        if not isinstance(old_class, str) or not (new_class is None or isinstance(new_class, str)):
            problems.append(Problem("INVALID_MAPPING", "A class maps to a class name or to null.", here))
            continue
        if old_class not in before.classes:
            problems.append(Problem("UNKNOWN_CLASS", f"'{old_class}' is not a class of '{before.name}'.", here))
        if new_class is not None and new_class not in after.classes:
            problems.append(
                Problem("UNKNOWN_CLASS", f"'{new_class}' is not a class of the proposed '{after.name}'.", here)
            )
    return problems


def parse_mapping(class_mapping: Any, field_mapping: Any) -> SchemaMapping:
    """The mappings as a SchemaMapping (lint them first: entries of the wrong shape are left out)."""
    fields = {old: new for old, new in _entries(field_mapping) if new is None or isinstance(new, str)}
    classes = {
        name: {old: new for old, new in _entries(entries) if new is None or isinstance(new, str)}
        for name, entries in _entries(class_mapping)
        if isinstance(entries, Mapping)
    }
    return SchemaMapping(fields, classes)


def _entries(raw: Any) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in raw.items() if isinstance(k, str)] if isinstance(raw, Mapping) else []


def _changes(classes: Mapping[str, str | None]) -> bool:
    return any(old != new for old, new in classes.items())


def remap(value: Mapping[str, Any], mapping: SchemaMapping, new: LabelSchema) -> dict[str, Any]:
    """``value`` as it reads under ``new``, the schema ``mapping`` maps into; anything not an object carries nothing."""
    result: dict[str, Any] = {}
    if not isinstance(value, Mapping):
        return result
    for name, present in value.items():
        target = mapping.fields.get(name, name)
        # Two fields landing on one name is a lint error; the first keeps it rather than a silent overwrite.
        if target is None or target in result:
            continue
        classes = mapping.classes.get(name, {})
        spec = new.field(target)
        if spec is not None and _changes(classes):
            present = _remap_classes(spec, present, classes)
            if present is _DROPPED:
                continue
        result[target] = present
    return result


def remap_through(value: Mapping[str, Any], steps: Sequence[tuple[SchemaMapping, LabelSchema]]) -> dict[str, Any]:
    """``value`` carried through each (mapping, schema it maps into) in turn."""
    result = dict(value) if isinstance(value, Mapping) else {}
    for mapping, schema in steps:
        result = remap(result, mapping, schema)
    return result


_DROPPED = object()  # a single choice whose class the mapping drops: the field goes


def _remap_classes(spec: FieldSpec, present: Any, classes: Mapping[str, str | None]) -> Any:
    if spec.kind == "single_choice":
        if isinstance(present, str) and present in classes:
            target = classes[present]
            return _DROPPED if target is None else target
        return present
    if not isinstance(present, list):
        return present
    if spec.kind == "multi_choice":
        return _unique(_renamed(present, classes))
    if spec.kind == "taxonomy":
        return _closed(spec, _renamed(present, classes))
    if spec.kind in ("spans", "boxes"):
        return [entry for entry in (_relabeled(e, classes) for e in present) if entry is not _DROPPED]
    return present


def _renamed(items: Iterable[Any], classes: Mapping[str, str | None]) -> list[Any]:
    """Each class name mapped; nulls, whether dropped classes or stray ones, removed."""
    mapped = (classes.get(item, item) if isinstance(item, str) else item for item in items)
    return [item for item in mapped if item is not None]


def _unique(items: Iterable[Any]) -> list[Any]:
    # Merging two classes may list the new one twice; only names are compared, odd entries stay for validation.
    seen: set[str] = set()
    result = []
    for item in items:
        if isinstance(item, str):
            if item in seen:
                continue
            seen.add(item)
        result.append(item)
    return result


def _closed(spec: FieldSpec, items: list[Any]) -> list[Any]:
    """The known classes with all their ancestors, in tree order, then whatever the tree does not know."""
    index = spec.index
    known = [item for item in items if isinstance(item, str) and item in index.parents]
    unknown = [item for item in items if not (isinstance(item, str) and item in index.parents)]
    return sorted(index.closed(known), key=index.order.__getitem__) + _unique(unknown)


def _relabeled(entry: Any, classes: Mapping[str, str | None]) -> Any:
    label = entry.get("label") if isinstance(entry, Mapping) else None
    if not isinstance(label, str) or label not in classes:
        return entry
    target = classes[label]
    return _DROPPED if target is None else {**entry, "label": target}
