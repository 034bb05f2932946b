"""Checking and reading structured guideline content (app/guidelines/content.py).

Example tests pin each problem with its code and exact field path, the implicit-field rule for class
references, the classes a decision tree never decides (taxonomy ancestors included) and the stored
round trip. Property tests build random decision trees as DAGs (always valid, never a cycle), add a
back edge (always a cycle), and feed arbitrary JSON to check and parse (never an exception).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import Problem
from app.guidelines.content import (
    EMPTY,
    MAX_ENTRIES,
    MAX_TEXT,
    Answer,
    ClassRef,
    DecisionNode,
    DecisionTree,
    Definition,
    EdgeCase,
    Example,
    GuidelineContent,
    check,
    parse,
    unreachable_classes,
)
from tests.guidelines.support import PROPERTY
from tests.taxonomy.support import schema_of

SENTIMENT = {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"]}
# "pos" is a class of both sentiment and stance: naming it needs the field.
STANCE = {"name": "stance", "kind": "multi_choice", "classes": ["pos", "against"]}
CATEGORY = {
    "name": "category",
    "kind": "taxonomy",
    "tree": [
        {"name": "animal", "children": [{"name": "dog"}, {"name": "cat"}]},
        {"name": "plant", "children": [{"name": "tree", "children": [{"name": "oak"}]}, {"name": "flower"}]},
    ],
}
ENTITIES = {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"]}
COMMENT = {"name": "comment", "kind": "text"}
SCHEMA = schema_of(SENTIMENT, STANCE, CATEGORY, ENTITIES, COMMENT)

BRIEF: dict[str, Any] = {
    "definitions": [{"field": "sentiment", "class": "pos", "definition": "The author is happy overall."}],
    "examples": [
        {"field": "sentiment", "class": "pos", "polarity": "POSITIVE", "text": "Love it", "note": "why"},
        {"class": "neg", "polarity": "NEGATIVE", "itemId": "SXRlbTo0Mg=="},
    ],
    "edgeCases": [
        {"title": "Sarcasm", "description": "Label the meaning, not the words.", "field": "sentiment", "class": "neg"}
    ],
    "decisionTree": {
        "root": "q1",
        "nodes": [
            {
                "id": "q1",
                "question": "Does the text express an opinion?",
                "answers": [{"answer": "no", "field": "sentiment", "class": "neu"}, {"answer": "yes", "next": "q2"}],
            },
            {
                "id": "q2",
                "question": "Is it mostly favourable?",
                "answers": [{"answer": "yes", "class": "neg"}, {"answer": "no", "class": "neg"}],
            },
        ],
    },
}


def codes(problems: tuple[Problem, ...]) -> list[tuple[str, str | None]]:
    return [(p.code, p.field) for p in problems]


def with_(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of the brief's content (or ``base``) with the value at a dotted path replaced."""
    doc = copy.deepcopy(BRIEF if base is None else base)
    *parents, last = path.split(".")
    here: Any = doc
    for part in parents:
        here = here[int(part)] if isinstance(here, list) else here[part]
    if isinstance(here, list):
        here[int(last)] = value
    else:
        here[last] = value
    return doc


def tree(*nodes: dict[str, Any], root: str = "q1") -> dict[str, Any]:
    return {"decisionTree": {"root": root, "nodes": list(nodes)}}


def node(node_id: str, *answers: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "question": f"Question {node_id}?", "answers": list(answers)}


def to(node_id: str, label: str = "go") -> dict[str, Any]:
    return {"answer": label, "next": node_id}


def leaf(cls: str = "neu", label: str = "stop") -> dict[str, Any]:
    return {"answer": label, "field": "sentiment", "class": cls}


# --- valid content -----------------------------------------------------------------------------


def test_the_brief_example_is_valid_and_normalized_with_every_field_spelled_out() -> None:
    checked = check(BRIEF, SCHEMA)
    assert checked.problems == ()
    assert checked.ok
    assert checked.normalized is not None
    assert checked.normalized["examples"][1] == {
        "field": "sentiment",
        "class": "neg",
        "polarity": "NEGATIVE",
        "itemId": "SXRlbTo0Mg==",
    }
    assert checked.normalized["decisionTree"]["nodes"][1]["answers"] == [
        {"answer": "yes", "field": "sentiment", "class": "neg"},
        {"answer": "no", "field": "sentiment", "class": "neg"},
    ]
    assert checked.content == GuidelineContent(
        definitions=(Definition(ClassRef("sentiment", "pos"), "The author is happy overall."),),
        examples=(
            Example(ClassRef("sentiment", "pos"), "POSITIVE", "Love it", None, "why"),
            Example(ClassRef("sentiment", "neg"), "NEGATIVE", None, "SXRlbTo0Mg==", ""),
        ),
        edge_cases=(EdgeCase("Sarcasm", "Label the meaning, not the words.", ClassRef("sentiment", "neg")),),
        tree=DecisionTree(
            "q1",
            (
                DecisionNode(
                    "q1",
                    "Does the text express an opinion?",
                    (Answer("no", None, ClassRef("sentiment", "neu")), Answer("yes", "q2", None)),
                ),
                DecisionNode(
                    "q2",
                    "Is it mostly favourable?",
                    (
                        Answer("yes", None, ClassRef("sentiment", "neg")),
                        Answer("no", None, ClassRef("sentiment", "neg")),
                    ),
                ),
            ),
        ),
    )
    # Only the tree's field is reported, and only the class no leaf reaches.
    assert checked.unreachable == (ClassRef("sentiment", "pos"),)
    assert checked.item_refs == (("content.examples.1.itemId", "SXRlbTo0Mg=="),)


@pytest.mark.parametrize("raw", [None, {}, {"definitions": [], "examples": None, "decisionTree": None}])
def test_empty_content_is_valid(raw: Any) -> None:
    checked = check(raw, SCHEMA)
    assert (checked.problems, checked.normalized, checked.content) == ((), {}, EMPTY)
    assert GuidelineContent.EMPTY == EMPTY == GuidelineContent()


def test_an_edge_case_may_name_no_class() -> None:
    checked = check({"edgeCases": [{"title": "Emoji only"}]}, SCHEMA)
    assert checked.content == GuidelineContent(edge_cases=(EdgeCase("Emoji only", "", None),))
    assert checked.normalized == {"edgeCases": [{"title": "Emoji only", "description": ""}]}


def test_the_field_may_be_left_out_when_one_classed_field_has_the_class() -> None:
    raw = {
        "definitions": [
            {"class": "neg", "definition": "Unhappy."},
            {"class": "PER", "definition": "A person."},
            {"class": "oak", "definition": "A tree."},
            {"field": "stance", "class": "pos", "definition": "In favour."},
        ]
    }
    checked = check(raw, SCHEMA)
    assert checked.normalized == {
        "definitions": [
            {"field": "sentiment", "class": "neg", "definition": "Unhappy."},
            {"field": "entities", "class": "PER", "definition": "A person."},
            {"field": "category", "class": "oak", "definition": "A tree."},
            {"field": "stance", "class": "pos", "definition": "In favour."},
        ]
    }


# --- problems ----------------------------------------------------------------------------------

TOO_LONG_TEXT = "x" * (MAX_TEXT + 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], [("INVALID_CONTENT", "content")]),
        ("text", [("INVALID_CONTENT", "content")]),
        ({**BRIEF, "glossary": []}, [("INVALID_CONTENT", "content.glossary")]),
        ({"definitions": {}}, [("INVALID_CONTENT", "content.definitions")]),
        ({"definitions": ["pos"]}, [("INVALID_CONTENT", "content.definitions.0")]),
        (
            with_("definitions.0.colour", "red"),
            [("INVALID_CONTENT", "content.definitions.0.colour")],
        ),
        (with_("definitions.0.definition", " \n"), [("REQUIRED", "content.definitions.0.definition")]),
        (with_("definitions.0.definition", 7), [("INVALID_CONTENT", "content.definitions.0.definition")]),
        (with_("definitions.0.definition", TOO_LONG_TEXT), [("TOO_LONG", "content.definitions.0.definition")]),
        (with_("definitions.0.class", None), [("INVALID_CONTENT", "content.definitions.0.class")]),
        (with_("definitions.0.field", 3), [("INVALID_CONTENT", "content.definitions.0.field")]),
        (with_("definitions.0.field", "mood"), [("UNKNOWN_FIELD", "content.definitions.0.field")]),
        (with_("definitions.0.field", "comment"), [("UNKNOWN_FIELD", "content.definitions.0.field")]),
        (with_("definitions.0.class", "dog"), [("UNKNOWN_CLASS", "content.definitions.0.class")]),
        (
            {"definitions": [{"class": "happy", "definition": "?"}]},
            [("UNKNOWN_CLASS", "content.definitions.0.class")],
        ),
        ({"definitions": [{"class": "pos", "definition": "?"}]}, [("AMBIGUOUS_CLASS", "content.definitions.0.class")]),
        (
            {
                "definitions": [
                    {"class": "neg", "definition": "a"},
                    {"field": "sentiment", "class": "neg", "definition": "b"},
                ]
            },
            [("DUPLICATE_DEFINITION", "content.definitions.1")],
        ),
        (
            {"definitions": [{"class": "neg", "definition": "a"}] * (MAX_ENTRIES + 1)},
            [("TOO_MANY", "content.definitions")],
        ),
        (with_("examples.0.polarity", "NEUTRAL"), [("INVALID_CONTENT", "content.examples.0.polarity")]),
        (with_("examples.0.itemId", "SXRlbTox"), [("INVALID_CONTENT", "content.examples.0")]),
        (with_("examples.1.itemId", None), [("INVALID_CONTENT", "content.examples.1")]),
        (with_("examples.0.text", "  "), [("REQUIRED", "content.examples.0.text")]),
        (with_("examples.1.itemId", 42), [("INVALID_CONTENT", "content.examples.1.itemId")]),
        (with_("examples.0.note", ["why"]), [("INVALID_CONTENT", "content.examples.0.note")]),
        (with_("examples.0.note", TOO_LONG_TEXT), [("TOO_LONG", "content.examples.0.note")]),
        (with_("examples.0.class", "cat"), [("UNKNOWN_CLASS", "content.examples.0.class")]),
        (with_("edgeCases.0.title", ""), [("REQUIRED", "content.edgeCases.0.title")]),
        (with_("edgeCases.0.class", None), [("INVALID_CONTENT", "content.edgeCases.0.class")]),
        (with_("edgeCases.0.field", "mood"), [("UNKNOWN_FIELD", "content.edgeCases.0.field")]),
        (
            {"edgeCases": [{"title": "Irony"}, {"title": "Irony", "description": "again"}]},
            [("DUPLICATE_EDGE_CASE", "content.edgeCases.1.title")],
        ),
        (with_("decisionTree", ["q1"]), [("INVALID_CONTENT", "content.decisionTree")]),
        (with_("decisionTree.depth", 3), [("INVALID_CONTENT", "content.decisionTree.depth")]),
        (with_("decisionTree.root", 1), [("INVALID_CONTENT", "content.decisionTree.root")]),
        (with_("decisionTree.root", "q9"), [("UNKNOWN_NODE", "content.decisionTree.root")]),
        (
            with_("decisionTree.nodes.1.id", "q1"),
            [
                ("DUPLICATE_NODE", "content.decisionTree.nodes.1.id"),
                ("UNKNOWN_NODE", "content.decisionTree.nodes.0.answers.1.next"),
            ],
        ),
        (
            with_("decisionTree.nodes.1.id", " "),
            [
                ("REQUIRED", "content.decisionTree.nodes.1.id"),
                ("UNKNOWN_NODE", "content.decisionTree.nodes.0.answers.1.next"),
            ],
        ),
        (with_("decisionTree.nodes.0.question", ""), [("REQUIRED", "content.decisionTree.nodes.0.question")]),
        (with_("decisionTree.nodes.1.answers", []), [("REQUIRED", "content.decisionTree.nodes.1.answers")]),
        (with_("decisionTree.nodes.1.answers", None), [("INVALID_CONTENT", "content.decisionTree.nodes.1.answers")]),
        (
            with_("decisionTree.nodes.1.answers.0.answer", "\t"),
            [("REQUIRED", "content.decisionTree.nodes.1.answers.0.answer")],
        ),
        (
            with_("decisionTree.nodes.1.answers.1.answer", "yes"),
            [("DUPLICATE_ANSWER", "content.decisionTree.nodes.1.answers.1.answer")],
        ),
        (
            with_("decisionTree.nodes.0.answers.1.class", "pos"),
            [("INVALID_ANSWER", "content.decisionTree.nodes.0.answers.1")],
        ),
        (
            with_("decisionTree.nodes.1.answers.0", {"answer": "yes"}),
            [("INVALID_ANSWER", "content.decisionTree.nodes.1.answers.0")],
        ),
        (
            with_("decisionTree.nodes.1.answers.0", {"answer": "yes", "field": "sentiment"}),
            [("INVALID_ANSWER", "content.decisionTree.nodes.1.answers.0")],
        ),
        (
            with_("decisionTree.nodes.0.answers.1.next", "q3"),
            [
                ("UNKNOWN_NODE", "content.decisionTree.nodes.0.answers.1.next"),
                ("UNREACHABLE_NODE", "content.decisionTree.nodes.1"),
            ],
        ),
        (
            with_("decisionTree.nodes.0.answers.1.next", ["q2"]),
            [
                ("INVALID_CONTENT", "content.decisionTree.nodes.0.answers.1.next"),
                ("UNREACHABLE_NODE", "content.decisionTree.nodes.1"),
            ],
        ),
        (
            with_("decisionTree.nodes.1.answers.0.class", "joy"),
            [("UNKNOWN_CLASS", "content.decisionTree.nodes.1.answers.0.class")],
        ),
        (
            with_("decisionTree.nodes.1.answers.0.class", "pos"),
            [("AMBIGUOUS_CLASS", "content.decisionTree.nodes.1.answers.0.class")],
        ),
        (
            with_("decisionTree.nodes.0.question", TOO_LONG_TEXT),
            [("TOO_LONG", "content.decisionTree.nodes.0.question")],
        ),
        (
            tree(*[node(f"q{k}", leaf()) for k in range(MAX_ENTRIES + 1)]),
            [("TOO_MANY", "content.decisionTree.nodes"), ("UNKNOWN_NODE", "content.decisionTree.root")],
        ),
        (
            tree(node("q1", *[leaf(label=f"a{k}") for k in range(MAX_ENTRIES + 1)])),
            [("TOO_MANY", "content.decisionTree.nodes.0.answers")],
        ),
    ],
    # Named after the first problem expected: "UNKNOWN_CLASS@content.definitions.0.class".
    ids=lambda v: f"{v[0][0]}@{v[0][1]}" if isinstance(v, list) and v and isinstance(v[0], tuple) else "",
)
def test_each_problem_is_reported_at_its_field(raw: Any, expected: list[tuple[str, str]]) -> None:
    checked = check(raw, SCHEMA)
    assert codes(checked.problems) == expected
    assert (checked.normalized, checked.content) == (None, None)


def test_field_paths_start_at_the_given_root() -> None:
    raw = with_("decisionTree.nodes.1.answers.0.class", "joy")
    assert codes(check(raw, SCHEMA, at="input.content").problems) == [
        ("UNKNOWN_CLASS", "input.content.decisionTree.nodes.1.answers.0.class")
    ]


def test_every_problem_is_reported_at_once() -> None:
    raw = {
        "definitions": [{"class": "pos", "definition": ""}],
        "examples": [{"class": "neg", "polarity": "MAYBE", "text": "Meh"}],
        "edgeCases": [{"title": "Irony", "field": "sentiment"}],
    }
    assert codes(check(raw, SCHEMA).problems) == [
        ("AMBIGUOUS_CLASS", "content.definitions.0.class"),
        ("REQUIRED", "content.definitions.0.definition"),
        ("INVALID_CONTENT", "content.examples.0.polarity"),
        ("INVALID_CONTENT", "content.edgeCases.0.class"),
    ]


def test_item_references_are_collected_even_when_there_are_problems() -> None:
    raw = with_("definitions.0.definition", "")
    raw["examples"].append({"class": "pos", "field": "stance", "polarity": "POSITIVE", "itemId": "SXRlbTo5"})
    checked = check(raw, SCHEMA)
    assert codes(checked.problems) == [("REQUIRED", "content.definitions.0.definition")]
    assert checked.item_refs == (
        ("content.examples.1.itemId", "SXRlbTo0Mg=="),
        ("content.examples.2.itemId", "SXRlbTo5"),
    )


# --- decision-tree shape -----------------------------------------------------------------------


def test_an_answer_leading_to_its_own_question_is_a_cycle() -> None:
    raw = tree(node("q1", to("q1", "again"), leaf()))
    assert codes(check(raw, SCHEMA).problems) == [("TREE_CYCLE", "content.decisionTree.nodes.0.answers.0.next")]


def test_a_longer_cycle_is_reported_once_at_the_answer_closing_it() -> None:
    raw = tree(node("q1", to("q2")), node("q2", to("q3"), leaf()), node("q3", to("q2", "back"), leaf()))
    problems = check(raw, SCHEMA).problems
    assert codes(problems) == [("TREE_CYCLE", "content.decisionTree.nodes.2.answers.0.next")]
    assert "'q2'" in problems[0].message


def test_each_of_two_cycles_is_reported_and_an_unreachable_cycle_too() -> None:
    raw = tree(
        node("q1", to("q2"), to("q1", "loop")),
        node("q2", leaf()),
        node("q3", to("q4")),
        node("q4", to("q3")),
    )
    assert codes(check(raw, SCHEMA).problems) == [
        ("TREE_CYCLE", "content.decisionTree.nodes.0.answers.1.next"),
        ("TREE_CYCLE", "content.decisionTree.nodes.3.answers.0.next"),
        ("UNREACHABLE_NODE", "content.decisionTree.nodes.2"),
        ("UNREACHABLE_NODE", "content.decisionTree.nodes.3"),
    ]


def test_questions_shared_by_several_answers_are_no_cycle() -> None:
    raw = tree(
        node("q1", to("q2", "a"), to("q3", "b"), to("q3", "c")),
        node("q2", to("q3")),
        node("q3", leaf()),
    )
    assert check(raw, SCHEMA).problems == ()


def test_a_chain_of_the_maximum_length_is_walked_without_recursion() -> None:
    nodes = [node(f"q{k}", to(f"q{k + 1}")) for k in range(MAX_ENTRIES - 1)]
    raw = tree(*nodes, node(f"q{MAX_ENTRIES - 1}", leaf(), to("q0", "restart")), root="q0")
    assert codes(check(raw, SCHEMA).problems) == [
        ("TREE_CYCLE", f"content.decisionTree.nodes.{MAX_ENTRIES - 1}.answers.1.next")
    ]


def test_decision_tree_node_lookup() -> None:
    content = check(BRIEF, SCHEMA).content
    assert content is not None
    assert content.tree is not None
    found = content.tree.node("q2")
    assert found is not None
    assert found.question == "Is it mostly favourable?"
    assert content.tree.node("q3") is None


# --- unreachable classes -----------------------------------------------------------------------


def test_unreachable_classes_are_reported_per_decided_field_in_schema_order() -> None:
    raw = tree(
        node(
            "q1",
            {"answer": "a", "class": "oak"},
            {"answer": "b", "class": "ORG"},
            {"answer": "c", "field": "sentiment", "class": "neg"},
        )
    )
    checked = check(raw, SCHEMA)
    assert checked.problems == ()
    # Reaching oak reaches tree and plant; stance was never decided, so it is not reported.
    assert checked.unreachable == (
        ClassRef("sentiment", "pos"),
        ClassRef("sentiment", "neu"),
        ClassRef("category", "animal"),
        ClassRef("category", "dog"),
        ClassRef("category", "cat"),
        ClassRef("category", "flower"),
        ClassRef("entities", "PER"),
    )


def test_a_taxonomy_class_does_not_reach_its_children() -> None:
    decided = DecisionTree("q1", (DecisionNode("q1", "?", (Answer("a", None, ClassRef("category", "animal")),)),))
    assert unreachable_classes(decided, SCHEMA) == tuple(
        ClassRef("category", c) for c in ("dog", "cat", "plant", "tree", "oak", "flower")
    )


def test_no_unreachable_classes_are_reported_for_an_unsound_tree() -> None:
    checked = check(with_("decisionTree.nodes.1.question", ""), SCHEMA)
    assert checked.unreachable == ()


# --- stored content ----------------------------------------------------------------------------


def test_stored_content_reads_back_as_checked() -> None:
    checked = check(BRIEF, SCHEMA)
    assert checked.normalized is not None
    assert parse(checked.normalized) == checked.content
    again = check(checked.normalized, SCHEMA)
    assert (again.normalized, again.content) == (checked.normalized, checked.content)


def test_rechecking_stored_content_against_a_newer_schema_reports_removed_classes() -> None:
    stored = check(BRIEF, SCHEMA).normalized
    newer = schema_of({**SENTIMENT, "classes": ["pos", "neu"]}, STANCE, CATEGORY, ENTITIES)
    assert codes(check(stored, newer).problems) == [
        ("UNKNOWN_CLASS", "content.examples.1.class"),
        ("UNKNOWN_CLASS", "content.edgeCases.0.class"),
        ("UNKNOWN_CLASS", "content.decisionTree.nodes.1.answers.0.class"),
        ("UNKNOWN_CLASS", "content.decisionTree.nodes.1.answers.1.class"),
    ]


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"definitions": "x", "examples": [1, None], "edgeCases": {}, "decisionTree": []},
        {"decisionTree": {"root": 3, "nodes": []}},
    ],
)
def test_parse_of_unreadable_sections_is_empty(stored: Any) -> None:
    assert parse(stored) == EMPTY


def test_parse_skips_entries_it_cannot_read_and_keeps_the_rest() -> None:
    stored = {
        "definitions": [{"class": "neg", "definition": "no field"}, {"field": "f", "class": "c", "definition": "ok"}],
        "examples": [
            {"field": "f", "class": "c", "polarity": "POSITIVE", "text": "t", "itemId": "both"},
            {"field": "f", "class": "c", "polarity": "NEGATIVE", "itemId": "i", "note": 5},
        ],
        "edgeCases": [{"description": "untitled"}, {"title": "T", "class": "c"}],
        "decisionTree": {
            "root": "q1",
            "nodes": [{"question": "no id"}, {"id": "q1", "answers": [{"answer": "x"}, {"answer": "y", "next": "q9"}]}],
        },
    }
    assert parse(stored) == GuidelineContent(
        definitions=(Definition(ClassRef("f", "c"), "ok"),),
        examples=(Example(ClassRef("f", "c"), "NEGATIVE", None, "i", ""),),
        edge_cases=(EdgeCase("T", "", None),),
        tree=DecisionTree("q1", (DecisionNode("q1", "", (Answer("y", "q9", None),)),)),
    )


# --- properties --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        *("definitions", "examples", "edgeCases", "decisionTree", "root", "nodes", "id", "question", "answers"),
        *("answer", "next", "field", "class", "definition", "polarity", "text", "itemId", "note", "title"),
        "description",
    ]
)
# JSON shaped like content: its keys are mostly the ones content uses, so the checks get past the top level.
CONTENTISH = st.recursive(
    st.none() | st.integers() | st.sampled_from(["q1", "pos", "neg", "sentiment", "POSITIVE", " ", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@PROPERTY
@given(st.one_of(JSON, CONTENTISH))
def test_check_and_parse_never_raise(raw: Any) -> None:
    checked = check(raw, SCHEMA)
    assert (checked.content is None) == bool(checked.problems)
    parse(raw)


@st.composite
def dags(draw: st.DrawFn) -> tuple[dict[str, Any], list[int]]:
    """Valid content whose tree is a random DAG over q0..qn-1 (edges only to later nodes), with each
    node's parent in a spanning tree from the root q0."""
    size = draw(st.integers(1, 12))
    parents = [-1] + [draw(st.integers(0, k - 1)) for k in range(1, size)]
    nodes = []
    for k in range(size):
        targets = [c for c in range(size) if parents[c] == k]
        if k + 1 < size:
            targets += draw(st.lists(st.integers(k + 1, size - 1), max_size=3))
        answers = [to(f"q{t}", f"a{j}") for j, t in enumerate(targets)]
        answers.append(leaf(draw(st.sampled_from(["pos", "neg", "neu"])), "decide"))
        nodes.append(node(f"q{k}", *draw(st.permutations(answers))))
    return tree(*draw(st.permutations(nodes)), root="q0"), parents


@PROPERTY
@given(dags())
def test_a_tree_built_as_a_dag_is_valid_and_reads_back(drawn: tuple[dict[str, Any], list[int]]) -> None:
    raw, _ = drawn
    checked = check(raw, SCHEMA)
    assert checked.problems == ()
    assert checked.normalized is not None
    assert parse(checked.normalized) == checked.content


@PROPERTY
@given(dags(), st.data())
def test_an_answer_back_to_an_ancestor_always_makes_a_cycle(
    drawn: tuple[dict[str, Any], list[int]], data: st.DataObject
) -> None:
    raw, parents = drawn
    nodes = raw["decisionTree"]["nodes"]
    by_id = {n["id"]: n for n in nodes}
    below = data.draw(st.integers(0, len(parents) - 1))
    ancestors = [below]
    while parents[ancestors[-1]] >= 0:
        ancestors.append(parents[ancestors[-1]])
    above = data.draw(st.sampled_from(ancestors))
    by_id[f"q{below}"]["answers"].append(to(f"q{above}", "back"))
    problems = check(raw, SCHEMA).problems
    assert problems
    assert {p.code for p in problems} == {"TREE_CYCLE"}
