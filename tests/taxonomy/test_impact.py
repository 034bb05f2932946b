"""The impact of a schema change on existing labels (app/taxonomy/impact.py): each value carried
through the mappings and judged VALID, REMAPPED or INVALID under the proposed schema, tallied
with a few examples of each.

Example tests pin the outcome of each case, the counts and the example cap, and the report's
JSON; the property test checks that renaming fields and classes (with the mapping that says so)
never makes a valid value invalid.
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from app.errors import Problem
from app.taxonomy.impact import (
    EXAMPLES_PER_OUTCOME,
    OUTCOMES,
    ImpactExample,
    ImpactReport,
    Tally,
    TallyBuilder,
    assess,
)
from app.taxonomy.mapping import SchemaMapping
from app.taxonomy.schema_language import FieldSpec, parse, validate
from tests.taxonomy.support import codes, schema_of
from tests.taxonomy.test_mapping import ITEM, PROPERTY, TEXT, Draw, renamings

OLD = schema_of(
    {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
    {"name": "note", "kind": "text"},
)
NEW = schema_of(
    {"name": "mood", "kind": "single_choice", "classes": ["positive", "neg", "neu"], "required": True},
    {"name": "note", "kind": "text", "max_length": 5},
)
STEP = (SchemaMapping(fields={"sentiment": "mood"}, classes={"sentiment": {"pos": "positive"}}), NEW)
SPANS = schema_of({"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]})


def test_a_value_the_mapping_leaves_alone_and_that_fits_is_valid() -> None:
    same = schema_of({"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg"]})
    assert assess({"sentiment": "neg"}, [(SchemaMapping.IDENTITY, same)], None) == ("VALID", {"sentiment": "neg"}, [])


def test_a_value_the_mapping_rewrites_and_that_fits_is_remapped() -> None:
    assert assess({"sentiment": "pos", "note": "ok"}, [STEP], None) == (
        "REMAPPED",
        {"mood": "positive", "note": "ok"},
        [],
    )


def test_a_value_that_does_not_fit_is_invalid_with_its_problems() -> None:
    outcome, after, problems = assess({"sentiment": "neg", "note": "too long"}, [STEP], None)
    assert (outcome, after) == ("INVALID", {"mood": "neg", "note": "too long"})
    assert codes(problems) == [("TOO_LONG", "value.note")]


def test_a_value_is_judged_by_the_last_schema_of_the_chain() -> None:
    v3 = schema_of({"name": "feeling", "kind": "single_choice", "classes": ["good", "neg", "neu"]})
    then = (SchemaMapping(fields={"mood": "feeling", "note": None}, classes={"mood": {"positive": "good"}}), v3)
    assert assess({"sentiment": "pos", "note": "too long"}, [STEP, then], None) == (
        "REMAPPED",
        {"feeling": "good"},
        [],
    )
    outcome, _after, problems = assess({"sentiment": "neg", "note": "x"}, [(SchemaMapping.IDENTITY, v3)], None)
    assert outcome == "INVALID"
    assert codes(problems) == [("UNKNOWN_FIELD", "value.sentiment"), ("UNKNOWN_FIELD", "value.note")]


def test_spans_are_judged_against_the_item() -> None:
    value = {"entities": [{"start": 0, "end": 3, "label": "PER"}]}
    assert assess(value, [(SchemaMapping.IDENTITY, SPANS)], ITEM)[0] == "VALID"
    outcome, _after, problems = assess(value, [(SchemaMapping.IDENTITY, SPANS)], None)
    assert (outcome, codes(problems)) == ("INVALID", [("MISSING_SOURCE", "value.entities")])


def test_a_value_that_is_no_object_is_invalid_whatever_the_steps() -> None:
    for steps in ([STEP], []):
        outcome, after, problems = assess(["pos"], steps, None)  # type: ignore[arg-type]
        assert (outcome, after, codes(problems)) == ("INVALID", {}, [("INVALID_VALUE", "value")])


def test_without_steps_a_value_is_taken_as_it_is() -> None:
    assert assess({"anything": 1}, [], None) == ("VALID", {"anything": 1}, [])


def test_a_tally_counts_every_outcome_and_keeps_the_first_examples() -> None:
    builder = TallyBuilder()
    for n in range(7):
        assert builder.add(f"L{n}", {"sentiment": "pos"}, [STEP], None) == "REMAPPED"
    # Steps differ per value: each goes through the mappings after the version it was made under.
    assert builder.add("V", {"mood": "neu"}, [(SchemaMapping.IDENTITY, NEW)], None) == "VALID"
    for n in range(6):
        assert builder.add(f"I{n}", {"note": "x"}, [STEP], None) == "INVALID"
    tally = builder.build()
    assert (tally.valid, tally.remapped, tally.invalid) == (1, 7, 6)
    assert [e.subject_id for e in tally.examples["REMAPPED"]] == ["L0", "L1", "L2", "L3", "L4"]
    assert [e.subject_id for e in tally.examples["INVALID"]] == ["I0", "I1", "I2", "I3", "I4"]
    assert len(tally.examples["REMAPPED"]) == EXAMPLES_PER_OUTCOME
    assert tally.examples["VALID"] == (ImpactExample("V", {"mood": "neu"}, {"mood": "neu"}, ()),)
    assert tally.examples["INVALID"][0] == ImpactExample(
        "I0", {"note": "x"}, {"note": "x"}, (Problem("REQUIRED", "'mood' is required.", "value.mood"),)
    )


def test_an_empty_tally_lists_every_outcome() -> None:
    tally = TallyBuilder().build()
    assert tally == Tally(0, 0, 0, dict.fromkeys(OUTCOMES, ()))
    assert tally.to_json() == {"valid": 0, "remapped": 0, "invalid": 0, "examples": {key: [] for key in OUTCOMES}}


def test_a_report_round_trips_through_json() -> None:
    labels, finals = TallyBuilder(), TallyBuilder()
    labels.add("L1", {"sentiment": "pos"}, [STEP], None)
    labels.add("L2", {"sentiment": "meh"}, [STEP], None)
    finals.add("I1", {"sentiment": "neg"}, [STEP], None)
    report = ImpactReport(labels=labels.build(), final_labels=finals.build())
    raw = report.to_json()
    assert raw["labels"]["examples"]["INVALID"] == [
        {
            "subjectId": "L2",
            "before": {"sentiment": "meh"},
            "after": {"mood": "meh"},
            "problems": [
                {
                    "code": "UNKNOWN_CLASS",
                    "field": "value.mood",
                    "message": "The answer to 'mood' is not one of its classes.",
                }
            ],
        }
    ]
    assert (raw["finalLabels"]["valid"], raw["finalLabels"]["remapped"], raw["finalLabels"]["invalid"]) == (0, 1, 0)
    assert ImpactReport.from_json(raw) == report


# --- property: renaming never makes a valid value invalid -------------------------------------


def answer(draw: Draw, spec: FieldSpec) -> Any:
    """A value of the field that validation accepts on its own (rules aside)."""
    if spec.kind == "single_choice":
        return draw(st.sampled_from(spec.classes))
    if spec.kind == "multi_choice":
        return draw(st.lists(st.sampled_from(spec.classes), min_size=1, unique=True))
    if spec.kind == "taxonomy":
        parents = {child.name: node.name for node in _walk(spec.tree) for child in node.children}
        path = [draw(st.sampled_from(spec.classes))]
        while path[0] in parents:
            path.insert(0, parents[path[0]])
        return path
    if spec.kind == "spans":
        cuts = sorted(draw(st.sets(st.integers(0, len(TEXT)), min_size=2, max_size=6)))
        labels = st.sampled_from(spec.classes)
        return [{"start": s, "end": e, "label": draw(labels)} for s, e in zip(cuts[::2], cuts[1::2], strict=False)]
    if spec.kind == "boxes":
        box = st.fixed_dictionaries(
            {
                "x": st.integers(0, 600),
                "y": st.integers(0, 400),
                "width": st.integers(1, 40),
                "height": st.integers(1, 80),
                "label": st.sampled_from(spec.classes),
            }
        )
        return draw(st.lists(box, min_size=1, max_size=3))
    if spec.kind == "rating":
        return draw(st.integers(int(spec.min or 0), int(spec.max or 0)))
    return draw(st.text(alphabet="ab", min_size=1, max_size=spec.max_length or 10))


def _walk(tree: Any) -> list[Any]:
    stack, found = list(tree), []
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.children)
    return found


@PROPERTY
@given(renamings(), st.data())
def test_renaming_fields_and_classes_keeps_every_valid_value_valid(
    renaming: tuple[dict[str, Any], dict[str, Any], SchemaMapping], data: st.DataObject
) -> None:
    old, new, mapping = renaming
    schema = parse(old)
    value = {spec.name: answer(data.draw, spec) for spec in schema.fields if spec.required or data.draw(st.booleans())}
    # Rules may refuse what the fields accept; only values valid where they were made count.
    assume(not validate(schema, value, item=ITEM))
    outcome, after, problems = assess(value, [(mapping, parse(new))], ITEM)
    assert (outcome, problems) in (("VALID", []), ("REMAPPED", []))
    assert list(after) == [mapping.fields.get(name, name) for name in value]
