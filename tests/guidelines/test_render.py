"""The downloadable Markdown of a guideline version (app/guidelines/render.py).

Exact documents pin the layout; further tests cover drafts, empty sections, one-line contexts,
shared questions (DAG) rendered once, cycles in stored content, and a long chain. A property checks
that every question of a random tree is written in bold exactly once, and that output is stable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    parse,
)
from app.guidelines.render import render_markdown
from tests.guidelines.support import NEG, NEU, POS, PROPERTY

CONTENT = GuidelineContent(
    definitions=(
        Definition(POS, "The author is happy overall."),
        Definition(ClassRef("topic", "food"), "About what is eaten."),
        Definition(NEG, "The author is unhappy\noverall."),
    ),
    examples=(
        Example(POS, "POSITIVE", "Love it", None, "why"),
        Example(NEG, "NEGATIVE", None, "SXRlbTo0Mg==", ""),
        Example(POS, "NEGATIVE", "Love it?\nNot really.", None, ""),
    ),
    edge_cases=(
        EdgeCase("Sarcasm", "Label the meaning, not the words.\n\nEven when it is subtle.", NEG),
        EdgeCase("Emoji only", "", None),
    ),
    tree=DecisionTree(
        "q1",
        (
            DecisionNode(
                "q1",
                "Does the text express an opinion?",
                (Answer("no", None, NEU), Answer("yes", "q2", None)),
            ),
            DecisionNode("q2", "Is it mostly favourable?", (Answer("yes", None, POS), Answer("no", None, NEG))),
        ),
    ),
)


def render(content: GuidelineContent = CONTENT, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "project": "Reviews",
        "version": 3,
        "status": "PUBLISHED",
        "published_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        "changelog": "Added the decision tree.",
        "body": "Read the whole review before labeling.",
        "content": content,
    }
    return render_markdown(**{**arguments, **overrides})


def test_a_published_version_renders_every_section() -> None:
    assert render() == (
        "# Reviews — annotation guideline v3\n"
        "\n"
        "**Published** 2026-11-02\n"
        "\n"
        "## Changelog\n"
        "\n"
        "Added the decision tree.\n"
        "\n"
        "---\n"
        "\n"
        "Read the whole review before labeling.\n"
        "\n"
        "## Definitions\n"
        "\n"
        "### sentiment\n"
        "\n"
        "- **pos**: The author is happy overall.\n"
        "- **neg**: The author is unhappy overall.\n"
        "\n"
        "### topic\n"
        "\n"
        "- **food**: About what is eaten.\n"
        "\n"
        "## Examples\n"
        "\n"
        "### sentiment: pos\n"
        "\n"
        "**Positive**\n"
        "\n"
        '- "Love it" — why\n'
        "\n"
        "**Negative**\n"
        "\n"
        '- "Love it? Not really."\n'
        "\n"
        "### sentiment: neg\n"
        "\n"
        "**Negative**\n"
        "\n"
        "- item SXRlbTo0Mg==\n"
        "\n"
        "## Edge cases\n"
        "\n"
        "### Sarcasm\n"
        "\n"
        "*Applies to sentiment: neg*\n"
        "\n"
        "Label the meaning, not the words.\n"
        "\n"
        "Even when it is subtle.\n"
        "\n"
        "### Emoji only\n"
        "\n"
        "## Decision tree\n"
        "\n"
        "- **Does the text express an opinion?**\n"
        "  - no → sentiment: neu\n"
        "  - yes\n"
        "    - **Is it mostly favourable?**\n"
        "      - yes → sentiment: pos\n"
        "      - no → sentiment: neg\n"
    )


def test_a_draft_is_marked_as_such_and_empty_sections_are_left_out() -> None:
    assert render(EMPTY, status="DRAFT", published_at=None, changelog=" \n", body="") == (
        "# Reviews — annotation guideline v3\n\n**DRAFT** — not published yet; this guideline may still change.\n"
    )


def test_other_statuses_and_a_missing_date_are_shown_plainly() -> None:
    assert render(EMPTY, published_at=None, changelog="", body="").splitlines()[2] == "**Published**"
    assert render(EMPTY, status="ARCHIVED", changelog="", body="").splitlines()[2] == "**Status:** ARCHIVED"


def test_the_body_is_kept_as_written_without_a_rule_when_there_is_no_changelog() -> None:
    body = "\n## Scope\r\n\r\nLine one  \r\nline two\n\n"
    assert render(EMPTY, changelog="", body=body).split("\n\n", 2)[2] == "## Scope\n\nLine one  \nline two\n"


def test_only_the_sections_with_entries_appear() -> None:
    text = render(GuidelineContent(edge_cases=(EdgeCase("Emoji only", "", None),)), changelog="", body="")
    assert [line for line in text.splitlines() if line.startswith("## ")] == ["## Edge cases"]
    assert "## Decision tree" not in render(GuidelineContent(tree=DecisionTree("q1", ())))


def test_newlines_in_one_line_contexts_never_break_the_outline() -> None:
    content = GuidelineContent(
        definitions=(Definition(POS, "Happy.\n- not a bullet"),),
        tree=DecisionTree("q1", (DecisionNode("q1", "Is it\n\nfavourable?", (Answer("yes\n  really", None, POS),)),)),
    )
    text = render(content, changelog="", body="")
    assert "- **pos**: Happy. - not a bullet\n" in text
    assert text.endswith("- **Is it favourable?**\n  - yes really → sentiment: pos\n")


def test_names_cannot_close_the_bold_around_them() -> None:
    content = GuidelineContent(definitions=(Definition(ClassRef("sentiment", "**odd*"), "Odd."),))
    assert "- **\\*\\*odd\\***: Odd.\n" in render(content)


def test_a_question_reached_twice_is_shown_once_then_referenced() -> None:
    shared = DecisionTree(
        "q1",
        (
            DecisionNode("q1", "Opinion?", (Answer("yes", "q2", None), Answer("unsure", "q3", None))),
            DecisionNode("q2", "Favourable?", (Answer("yes", None, POS), Answer("mixed", "q3", None))),
            DecisionNode("q3", "Mostly facts?", (Answer("yes", None, NEU), Answer("no", "q2", None))),
        ),
    )
    # q2 -> q3 -> q2 is a cycle, which check refuses; stored content read tolerantly may still hold one.
    assert render(GuidelineContent(tree=shared)).endswith(
        "## Decision tree\n"
        "\n"
        "- **Opinion?**\n"
        "  - yes\n"
        "    - **Favourable?**\n"
        "      - yes → sentiment: pos\n"
        "      - mixed\n"
        "        - **Mostly facts?**\n"
        "          - yes → sentiment: neu\n"
        "          - no → see: Favourable?\n"
        "  - unsure → see: Mostly facts?\n"
    )


def test_a_question_the_root_does_not_lead_to_and_a_missing_question_are_still_shown() -> None:
    tree = DecisionTree(
        "q1",
        (
            DecisionNode("q1", "Opinion?", (Answer("yes", "q9", None),)),
            DecisionNode("q2", "Orphan?", (Answer("yes", None, POS),)),
        ),
    )
    assert render(GuidelineContent(tree=tree)).endswith(
        "- **Opinion?**\n  - yes → (no question 'q9')\n- **Orphan?**\n  - yes → sentiment: pos\n"
    )


def test_a_long_chain_renders_without_recursion() -> None:
    size = 1000
    nodes = tuple(DecisionNode(f"q{k}", f"Step {k}?", (Answer("next", f"q{k + 1}", None),)) for k in range(size - 1))
    chain = DecisionTree("q0", (*nodes, DecisionNode(f"q{size - 1}", "Last?", (Answer("yes", None, POS),))))
    lines = render(GuidelineContent(tree=chain)).splitlines()
    assert lines[-1] == "  " * (2 * size - 1) + "- yes → sentiment: pos"


def test_stored_content_read_tolerantly_renders_even_with_a_cycle() -> None:
    stored = {
        "definitions": [{"field": "sentiment", "class": "pos", "definition": "The author is happy overall."}],
        "decisionTree": {
            "root": "q1",
            "nodes": [{"id": "q1", "question": "Q?", "answers": [{"answer": "a", "next": "q1"}]}],
        },
    }
    assert render(parse(stored), changelog="", body="").endswith(
        "- **pos**: The author is happy overall.\n\n## Decision tree\n\n- **Q?**\n  - a → see: Q?\n"
    )


@st.composite
def trees(draw: st.DrawFn) -> DecisionTree:
    """Any graph of questions, cycles and dangling answers included (as tolerant stored content may hold)."""
    size = draw(st.integers(1, 10))
    ids = [f"q{k}" for k in range(size)]
    nodes = []
    for k in range(size):
        targets = draw(st.lists(st.sampled_from([*ids, "missing", None]), max_size=4))
        answers = tuple(
            Answer(f"a{j}", target, None if target is not None else POS) for j, target in enumerate(targets)
        )
        nodes.append(DecisionNode(ids[k], f"Question {k}?", answers))
    return DecisionTree(draw(st.sampled_from([*ids, "missing"])), tuple(nodes))


@PROPERTY
@given(trees())
def test_every_question_is_written_in_bold_exactly_once(tree: DecisionTree) -> None:
    text = render(GuidelineContent(tree=tree))
    for node in tree.nodes:
        assert text.count(f"- **{node.question}**") == 1
    assert text == render(GuidelineContent(tree=tree))
