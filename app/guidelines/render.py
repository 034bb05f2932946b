"""A guideline version as one downloadable Markdown document.

Layout: the title, a status line (drafts are marked as such), the changelog, a rule, the body exactly
as written, then ``## Definitions``, ``## Examples``, ``## Edge cases`` and ``## Decision tree``; a
section with nothing in it is left out. The decision tree is a nested bulleted outline from the root:
each question in bold, each answer a child bullet that either nests the next question or ends in
``→ field: class``; a question reached a second time is referenced (``→ see: <question>``), never
repeated, so shared subtrees and even cycles in tolerant stored content stay finite.

Text that sits on one line of the outline (names, definitions, questions, answers, examples) has its
whitespace collapsed so a newline in it can never break a list. Output depends on nothing but the
arguments. The one-line helpers are shared with ``app.guidelines.diff``.
"""

from __future__ import annotations

import re
from datetime import datetime

from app.guidelines.content import Answer, ClassRef, DecisionNode, DecisionTree, EdgeCase, Example, GuidelineContent

INDENT = "  "
# Characters that would end or open emphasis or code around a name set in bold.
_MARKUP = re.compile(r"([\\`*])")


def one_line(text: str) -> str:
    """The text with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())


def name(text: str) -> str:
    """A field or class name (or a title) on one line, safe inside bold."""
    return _MARKUP.sub(r"\\\1", one_line(text))


def ref_text(ref: ClassRef) -> str:
    return f"{name(ref.field)}: {name(ref.class_)}"


def example_text(example: Example) -> str:
    """An example on one line: the quoted text or ``item <id>``, then its note."""
    shown = f'"{one_line(example.text)}"' if example.text is not None else f"item {one_line(example.item_id or '')}"
    return f"{shown} — {one_line(example.note)}" if example.note.strip() else shown


def render_markdown(
    *,
    project: str,
    version: int,
    status: str,
    published_at: datetime | None,
    changelog: str,
    body: str,
    content: GuidelineContent,
) -> str:
    blocks = [f"# {one_line(project)} — annotation guideline v{version}", _status(status, published_at)]
    if changelog.strip():
        blocks.append(f"## Changelog\n\n{_paragraphs(changelog)}")
        if body.strip():
            # A rule, or a body that opens with a paragraph would read as part of the changelog.
            blocks.append("---")
    if body.strip():
        blocks.append(_paragraphs(body))
    blocks.extend(_definitions(content) + _examples(content) + _edge_cases(content.edge_cases))
    if content.tree is not None and content.tree.nodes:
        blocks.append("## Decision tree\n\n" + "\n".join(_outline(content.tree)))
    return "\n\n".join(blocks) + "\n"


def _status(status: str, published_at: datetime | None) -> str:
    if status.upper() == "DRAFT":
        return "**DRAFT** — not published yet; this guideline may still change."
    if status.upper() == "PUBLISHED":
        return f"**Published** {published_at:%Y-%m-%d}" if published_at is not None else "**Published**"
    return f"**Status:** {one_line(status)}"


def _paragraphs(text: str) -> str:
    """Multi-line text as written (trailing spaces may be Markdown line breaks), minus blank lines around it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def _definitions(content: GuidelineContent) -> list[str]:
    if not content.definitions:
        return []
    by_field: dict[str, list[str]] = {}
    for d in content.definitions:
        by_field.setdefault(d.ref.field, []).append(f"- **{name(d.ref.class_)}**: {one_line(d.text)}")
    groups = [f"### {name(field)}\n\n" + "\n".join(lines) for field, lines in by_field.items()]
    return ["## Definitions", *groups]


def _examples(content: GuidelineContent) -> list[str]:
    if not content.examples:
        return []
    by_class: dict[ClassRef, list[Example]] = {}
    for e in content.examples:
        by_class.setdefault(e.ref, []).append(e)
    groups = []
    for ref, examples in by_class.items():
        parts = [f"### {ref_text(ref)}"]
        for polarity, heading in (("POSITIVE", "Positive"), ("NEGATIVE", "Negative")):
            shown = [f"- {example_text(e)}" for e in examples if e.polarity == polarity]
            if shown:
                parts.append(f"**{heading}**\n\n" + "\n".join(shown))
        groups.append("\n\n".join(parts))
    return ["## Examples", *groups]


def _edge_cases(edge_cases: tuple[EdgeCase, ...]) -> list[str]:
    if not edge_cases:
        return []
    groups = []
    for case in edge_cases:
        parts = [f"### {name(case.title)}"]
        if case.ref is not None:
            parts.append(f"*Applies to {ref_text(case.ref)}*")
        if case.description.strip():
            parts.append(_paragraphs(case.description))
        if case.source is not None:
            parts.append(_source_text(case))
        groups.append("\n\n".join(parts))
    return ["## Edge cases", *groups]


def _source_text(case: EdgeCase) -> str:
    """Where a promoted case came from, by the API's ids (a reader with access refetches them by node)."""
    assert case.source is not None
    source = case.source
    of = f", comment `{source.comment_id}`" if source.comment_id else ""
    of += f", decision `{source.decision_id}`" if source.decision_id else ""
    return f"*From item `{source.item_id}`{of}*"


def _outline(tree: DecisionTree) -> list[str]:
    """The tree as nested bullets, from the root, then any question the root does not lead to.

    Pre-order with an explicit stack: whether a question is expanded or referenced is decided when its
    bullet is written, so the expansion always comes first; a chain of a thousand questions must not
    exhaust recursion.
    """
    nodes: dict[str, DecisionNode] = {}
    for node in tree.nodes:
        nodes.setdefault(node.id, node)
    lines: list[str] = []
    shown: set[str] = set()
    for start in (tree.root, *nodes):
        if start in shown or start not in nodes:
            continue
        # (depth, the answer's bullet or "" for a top-level question, the question it leads to if any)
        stack: list[tuple[int, str, str | None]] = [(0, "", start)]
        while stack:
            depth, label, target = stack.pop()
            if target is None:
                lines.append(INDENT * depth + label)
                continue
            question = one_line(nodes[target].question)
            if target in shown:
                lines.append(f"{INDENT * depth}{label} → see: {question}")
                continue
            if label:
                lines.append(INDENT * depth + label)
                depth += 1
            shown.add(target)
            lines.append(f"{INDENT * depth}- **{question}**")
            stack.extend(reversed([_answer_item(depth + 1, a, nodes) for a in nodes[target].answers]))
    return lines


def _answer_item(depth: int, answer: Answer, nodes: dict[str, DecisionNode]) -> tuple[int, str, str | None]:
    label = f"- {one_line(answer.answer)}"
    if answer.target is not None:
        return depth, f"{label} → {ref_text(answer.target)}", None
    if answer.next is not None and answer.next not in nodes:
        return depth, f"{label} → (no question '{one_line(answer.next)}')", None
    return depth, label, answer.next
