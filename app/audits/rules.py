"""Which decisions the audit policy picks, and what a class of a value is: pure, no I/O.

auditRate             share of decided items audited: a uniform draw fixed by the project's
                      seed and the item's id, salted so it is independent of the review sample
auditBelowConfidence  every decision whose confidence is under it
highImpactClasses     field -> class values: every decision giving one of them
rareClassShare        every decision giving a class that fewer than this share of the
                      project's decisions in force give (0 turns it off)
auditExpertDecisions  every EXPERT_RESOLVED decision
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from app.errors import Problem
from app.quality.consensus import canonical
from app.taxonomy.schema_language import FieldSpec, LabelSchema

# Kinds whose values are classes (or lists of classes), as projectQuality counts them.
CLASS_KINDS = ("single_choice", "multi_choice", "taxonomy", "rating")
AUDIT_SALT = "audit"
MAX_HIGH_IMPACT = 1000  # class values over all fields


def sampled_for_audit(seed: int, rate: float, item_id: uuid.UUID) -> bool:
    """blake2b-64 of "<seed>:audit:<item id>" read as a fraction of 2**64, under the rate. The review
    sample hashes "<seed>:<item id>": the two draws are independent."""
    if rate >= 1.0:
        return True
    digest = hashlib.blake2b(f"{seed}:{AUDIT_SALT}:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def classes_of(kind: str, answer: Any) -> list[str]:
    """The classes a field's answer gives, as canonical JSON: one for a choice or a rating, each
    member of a multi-choice or taxonomy answer; none when unanswered or not a class kind."""
    if kind not in CLASS_KINDS or answer is None:
        return []
    if isinstance(answer, list):
        return sorted({canonical(member) for member in answer})
    return [canonical(answer)]


def is_class(spec: FieldSpec, value: Any) -> bool:
    """Whether `value` is one class of the field (a rating's class is an integer within its bounds)."""
    if spec.kind == "rating":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (spec.min is None or value >= spec.min)
            and (spec.max is None or value <= spec.max)
        )
    return spec.kind in CLASS_KINDS and isinstance(value, str) and value in spec.classes


def check_high_impact(raw: Any, schema: LabelSchema, at: str = "highImpactClasses") -> list[Problem]:
    """An object: field of the schema in force with classes -> list of its classes."""
    if not isinstance(raw, Mapping):
        return [Problem("INVALID_VALUE", f"{at} must map field names to lists of classes.", at)]
    problems: list[Problem] = []
    total = 0
    for name, values in raw.items():
        here = f"{at}.{name}"
        spec = schema.field(name)
        if spec is None or spec.kind not in CLASS_KINDS:
            problems.append(Problem("INVALID_VALUE", "Not a field with classes in the schema in force.", here))
            continue
        if not isinstance(values, list):
            problems.append(Problem("INVALID_VALUE", f"{here} must be a list of classes.", here))
            continue
        total += len(values)
        problems.extend(
            Problem("INVALID_VALUE", f"Not a class of '{name}'.", f"{here}.{i}")
            for i, value in enumerate(values)
            if not is_class(spec, value)
        )
    if total > MAX_HIGH_IMPACT:
        problems.append(Problem("OUT_OF_RANGE", f"{at} holds at most {MAX_HIGH_IMPACT} classes.", at))
    return problems


def high_impact(schema: LabelSchema, value: Mapping[str, Any], classes: Mapping[str, Any]) -> bool:
    for name, wanted in classes.items():
        spec = schema.field(name)
        if spec is None:
            continue  # a field a later schema dropped
        given = set(classes_of(spec.kind, value.get(name)))
        if given & {canonical(v) for v in wanted}:
            return True
    return False


def class_fields(schema: LabelSchema) -> list[FieldSpec]:
    return [spec for spec in schema.fields if spec.kind in CLASS_KINDS]
