"""What a schema change would do to the labels already made: the dry run's arithmetic.

Each value is carried to the proposed schema through the mappings of every version after the
one it was made under (``remap_through``) and validated there. Its outcome is VALID (valid and
unchanged), REMAPPED (valid once the mappings rewrote it) or INVALID (with the problems
validation found). A Tally counts outcomes and keeps the first EXAMPLES_PER_OUTCOME examples of
each, so a reviewer sees what happens without the report growing with the project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import Problem
from app.taxonomy.mapping import SchemaMapping, remap_through
from app.taxonomy.schema_language import LabelSchema, validate

OUTCOMES = ("VALID", "REMAPPED", "INVALID")
EXAMPLES_PER_OUTCOME = 5

Step = tuple[SchemaMapping, LabelSchema]


@dataclass(frozen=True)
class ImpactExample:
    subject_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    problems: tuple[Problem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "subjectId": self.subject_id,
            "before": self.before,
            "after": self.after,
            "problems": [{"code": p.code, "field": p.field, "message": p.message} for p in self.problems],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ImpactExample:
        problems = tuple(Problem(p["code"], p["message"], p["field"]) for p in raw["problems"])
        return cls(raw["subjectId"], dict(raw["before"]), dict(raw["after"]), problems)


@dataclass(frozen=True)
class Tally:
    valid: int
    remapped: int
    invalid: int
    # Keyed by outcome, every outcome present: the first examples seen, at most EXAMPLES_PER_OUTCOME.
    examples: Mapping[str, tuple[ImpactExample, ...]]

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "remapped": self.remapped,
            "invalid": self.invalid,
            "examples": {outcome: [e.to_json() for e in found] for outcome, found in self.examples.items()},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Tally:
        examples = {
            outcome: tuple(ImpactExample.from_json(e) for e in found) for outcome, found in raw["examples"].items()
        }
        return cls(raw["valid"], raw["remapped"], raw["invalid"], examples)


@dataclass(frozen=True)
class ImpactReport:
    labels: Tally  # every label of the project
    final_labels: Tally  # every item's final label

    def to_json(self) -> dict[str, Any]:
        return {"labels": self.labels.to_json(), "finalLabels": self.final_labels.to_json()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ImpactReport:
        """Reads what to_json wrote."""
        return cls(Tally.from_json(raw["labels"]), Tally.from_json(raw["finalLabels"]))


def assess(
    value: Mapping[str, Any], steps: Sequence[Step], item: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any], list[Problem]]:
    """The outcome for one value, the value as the last step's schema reads it, and its problems there.

    With no steps there is no schema to answer to: a JSON object stays as it is and counts VALID.
    """
    if not isinstance(value, Mapping):
        # Nothing carries over from a value that is no object; validation says so whatever the schema.
        return "INVALID", {}, validate(LabelSchema(()), value, item=item)
    after = remap_through(value, steps)
    problems = validate(steps[-1][1], after, item=item) if steps else []
    if problems:
        return "INVALID", after, problems
    return ("VALID" if after == dict(value) else "REMAPPED"), after, []


class TallyBuilder:
    """Counts outcomes one value at a time, keeping the first examples of each."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(OUTCOMES, 0)
        self._examples: dict[str, list[ImpactExample]] = {outcome: [] for outcome in OUTCOMES}

    def add(
        self, subject_id: str, value: Mapping[str, Any], steps: Sequence[Step], item: Mapping[str, Any] | None
    ) -> str:
        outcome, after, problems = assess(value, steps, item)
        self._counts[outcome] += 1
        examples = self._examples[outcome]
        if len(examples) < EXAMPLES_PER_OUTCOME:
            before = dict(value) if isinstance(value, Mapping) else {}
            examples.append(ImpactExample(subject_id, before, after, tuple(problems)))
        return outcome

    def build(self) -> Tally:
        return Tally(
            valid=self._counts["VALID"],
            remapped=self._counts["REMAPPED"],
            invalid=self._counts["INVALID"],
            examples={outcome: tuple(found) for outcome, found in self._examples.items()},
        )
