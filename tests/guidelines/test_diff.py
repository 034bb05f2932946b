"""What changed between two guideline versions (app/guidelines/diff.py).

Example tests pin the body's unified diff and line counts and each section's changes with their keys
and one-line renderings; properties check that a version compared with itself has no changes and that
swapping the versions swaps ADDED and REMOVED.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from app.guidelines.content import (
    EMPTY,
    Answer,
    ClassRef,
    DecisionNode,
    DecisionTree,
    Definition,
    EdgeCase,
    Example,
    GuidelineContent,
)
from app.guidelines.diff import Change, GuidelineDiff, diff
from tests.guidelines.support import NEG, NEU, POS, PROPERTY, TREE


def changes(old: GuidelineContent, new: GuidelineContent) -> tuple[Change, ...]:
    return diff("", old, "", new).changes


def test_the_bodies_are_compared_as_a_unified_diff_with_line_counts() -> None:
    result = diff(
        "Intro\nKeep\nOld rule\n", EMPTY, "Intro\nKeep\nNew rule\nAnother\n", EMPTY, old_label="v1 (published)"
    )
    assert result == GuidelineDiff(
        body=("--- v1 (published)\n+++ v2\n@@ -1,3 +1,4 @@\n Intro\n Keep\n-Old rule\n+New rule\n+Another\n"),
        body_added=2,
        body_removed=1,
        changes=(),
    )


def test_lines_that_look_like_diff_headers_are_counted_as_lines() -> None:
    result = diff("-- a\n", EMPTY, "++ b\n", EMPTY, old_label="v4", new_label="v5")
    assert result.body.splitlines()[:2] == ["--- v4", "+++ v5"]
    assert (result.body_added, result.body_removed) == (1, 1)


def test_equal_bodies_have_an_empty_diff() -> None:
    assert diff("Same\ntext", EMPTY, "Same\ntext", EMPTY) == GuidelineDiff("", 0, 0, ())


def test_definitions_are_added_removed_and_changed_by_field_and_class() -> None:
    old = GuidelineContent(definitions=(Definition(POS, "Happy."), Definition(NEU, "Neither.")))
    new = GuidelineContent(definitions=(Definition(NEG, "Unhappy."), Definition(POS, "Happy\noverall.")))
    assert changes(old, new) == (
        Change("definition", "ADDED", "sentiment.neg", None, "Unhappy."),
        Change("definition", "REMOVED", "sentiment.neu", "Neither.", None),
        Change("definition", "CHANGED", "sentiment.pos", "Happy.", "Happy overall."),
    )


def test_examples_are_only_added_or_removed() -> None:
    love = Example(POS, "POSITIVE", "Love it", None, "")
    item = Example(NEG, "NEGATIVE", None, "SXRlbTo0Mg==", "")
    old = GuidelineContent(examples=(love, item))
    new = GuidelineContent(examples=(replace(love, note="the verb says it"), item))
    assert changes(old, new) == (
        Change("example", "REMOVED", "sentiment.pos POSITIVE: Love it", '"Love it"', None),
        Change("example", "ADDED", "sentiment.pos POSITIVE: Love it", None, '"Love it" — the verb says it'),
    )
    assert changes(new, GuidelineContent()) == (
        Change("example", "REMOVED", "sentiment.neg NEGATIVE: SXRlbTo0Mg==", "item SXRlbTo0Mg==", None),
        Change("example", "REMOVED", "sentiment.pos POSITIVE: Love it", '"Love it" — the verb says it', None),
    )


def test_a_duplicate_example_removed_is_one_change() -> None:
    love = Example(POS, "POSITIVE", "Love it", None, "")
    assert changes(GuidelineContent(examples=(love, love)), GuidelineContent(examples=(love,))) == (
        Change("example", "REMOVED", "sentiment.pos POSITIVE: Love it", '"Love it"', None),
    )


def test_edge_cases_are_keyed_by_title() -> None:
    old = GuidelineContent(edge_cases=(EdgeCase("Sarcasm", "Label the meaning.", NEG), EdgeCase("Emoji", "", None)))
    new = GuidelineContent(edge_cases=(EdgeCase("Sarcasm", "Label the meaning.", None), EdgeCase("Quotes", "Skip.")))
    assert changes(old, new) == (
        Change("edgeCase", "REMOVED", "Emoji", "", None),
        Change("edgeCase", "ADDED", "Quotes", None, "Skip."),
        Change("edgeCase", "CHANGED", "Sarcasm", "Label the meaning. (sentiment: neg)", "Label the meaning."),
    )


def test_decision_tree_nodes_are_keyed_by_id_and_the_root_by_root() -> None:
    new = DecisionTree(
        "q0",
        (
            DecisionNode("q0", "Any text?", (Answer("no", None, NEU), Answer("yes", "q1", None))),
            TREE.nodes[0],
            DecisionNode("q2", "Favourable?", (Answer("yes", None, POS), Answer("no", None, NEU))),
        ),
    )
    assert changes(GuidelineContent(tree=TREE), GuidelineContent(tree=new)) == (
        Change("decisionTree", "ADDED", "q0", None, "Any text? [no → sentiment: neu; yes → q1]"),
        Change(
            "decisionTree",
            "CHANGED",
            "q2",
            "Favourable? [yes → sentiment: pos; no → sentiment: neg]",
            "Favourable? [yes → sentiment: pos; no → sentiment: neu]",
        ),
        Change("decisionTree", "CHANGED", "root", "q1", "q0"),
    )


def test_an_edit_of_line_breaks_and_spaces_alone_is_no_change() -> None:
    old = GuidelineContent(
        definitions=(Definition(POS, "Happy\noverall."),), examples=(Example(POS, "POSITIVE", "Love  it", None),)
    )
    new = GuidelineContent(
        definitions=(Definition(POS, "Happy overall."),), examples=(Example(POS, "POSITIVE", "Love it\n", None),)
    )
    assert changes(old, new) == ()


def test_a_tree_added_adds_its_root_and_every_node() -> None:
    assert [(c.kind, c.key) for c in changes(EMPTY, GuidelineContent(tree=TREE))] == [
        ("ADDED", "q1"),
        ("ADDED", "q2"),
        ("ADDED", "root"),
    ]


def test_changes_are_ordered_by_section_then_key() -> None:
    old = GuidelineContent(tree=TREE, edge_cases=(EdgeCase("B", "b"),), definitions=(Definition(POS, "p"),))
    new = GuidelineContent(examples=(Example(NEU, "NEGATIVE", "Fine", None),), edge_cases=(EdgeCase("A", "a"),))
    assert [(c.section, c.key) for c in changes(old, new)] == [
        ("definition", "sentiment.pos"),
        ("example", "sentiment.neu NEGATIVE: Fine"),
        ("edgeCase", "A"),
        ("edgeCase", "B"),
        ("decisionTree", "q1"),
        ("decisionTree", "q2"),
        ("decisionTree", "root"),
    ]


# --- properties --------------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c"])
TEXTS = st.text(alphabet="ab \n", max_size=6)
REFS = st.builds(ClassRef, NAMES, NAMES)
EXAMPLES = st.builds(
    lambda ref, polarity, text, by_item, note: Example(
        ref, polarity, None if by_item else text, text if by_item else None, note
    ),
    REFS,
    st.sampled_from(["POSITIVE", "NEGATIVE"]),
    TEXTS,
    st.booleans(),
    TEXTS,
)
ANSWERS = st.builds(
    lambda label, target, to: Answer(label, None if target else to, target), TEXTS, st.none() | REFS, NAMES
)
CONTENTS = st.builds(
    GuidelineContent,
    definitions=st.lists(st.builds(Definition, REFS, TEXTS), max_size=4).map(tuple),
    examples=st.lists(EXAMPLES, max_size=4).map(tuple),
    edge_cases=st.lists(st.builds(EdgeCase, TEXTS, TEXTS, st.none() | REFS), max_size=4).map(tuple),
    tree=st.none()
    | st.builds(
        DecisionTree,
        NAMES,
        st.lists(st.builds(DecisionNode, NAMES, TEXTS, st.lists(ANSWERS, max_size=3).map(tuple)), max_size=4).map(
            tuple
        ),
    ),
)


@PROPERTY
@given(TEXTS, CONTENTS)
def test_a_version_compared_with_itself_has_no_changes(body: str, content: GuidelineContent) -> None:
    assert diff(body, content, body, content) == GuidelineDiff("", 0, 0, ())


FLIP = {"ADDED": "REMOVED", "REMOVED": "ADDED", "CHANGED": "CHANGED"}


@PROPERTY
@given(TEXTS, CONTENTS, TEXTS, CONTENTS)
def test_swapping_the_versions_swaps_added_and_removed(
    old_body: str, old: GuidelineContent, new_body: str, new: GuidelineContent
) -> None:
    forward, backward = diff(old_body, old, new_body, new), diff(new_body, new, old_body, old)
    # difflib's matching is a heuristic, not a minimal edit, so the two directions may pair lines
    # differently ("\nb\n" -> "b\na\n" adds 2 and removes 1, the reverse adds 1 and removes 0):
    # what always flips is the net change, the difference in line counts.
    net = len(new_body.splitlines()) - len(old_body.splitlines())
    assert forward.body_added - forward.body_removed == net
    assert backward.body_added - backward.body_removed == -net
    flipped = {(c.section, FLIP[c.kind], c.key, c.after, c.before) for c in forward.changes}
    assert flipped == {(c.section, c.kind, c.key, c.before, c.after) for c in backward.changes}
