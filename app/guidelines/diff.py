"""What changed between two guideline versions: a unified diff of the bodies, and structured changes.

Each structured change names its section (``definition``, ``example``, ``edgeCase``,
``decisionTree``), its kind (ADDED, REMOVED, CHANGED), a key and one-line renderings before and after.
Keys: definitions ``field.class``; examples ``field.class POLARITY: <text or item id>``; edge cases
their title; decision-tree nodes their id, and the tree's root the key ``root``. An example has no
identity beyond its content, so examples are only ever ADDED or REMOVED (as a multiset: a duplicate
removed is one REMOVED). Changes come ordered by section, then key; the result depends only on the
arguments, and ``diff(b, x, b, x)`` is empty. Entries are compared by their one-line renderings, so
an edit that only moves line breaks or spaces inside a one-line text is not a change.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from app.guidelines.content import Answer, ClassRef, DecisionNode, EdgeCase, Example, GuidelineContent
from app.guidelines.render import example_text, one_line

SECTIONS = ("definition", "example", "edgeCase", "decisionTree")
_KIND_ORDER = {"REMOVED": 0, "CHANGED": 1, "ADDED": 2}

V = TypeVar("V", bound=Hashable)


@dataclass(frozen=True)
class Change:
    section: str  # "definition" | "example" | "edgeCase" | "decisionTree"
    kind: str  # "ADDED" | "REMOVED" | "CHANGED"
    key: str
    before: str | None  # one-line rendering; None when ADDED
    after: str | None  # None when REMOVED


@dataclass(frozen=True)
class GuidelineDiff:
    body: str  # unified diff of the bodies, "" when their lines are equal
    body_added: int
    body_removed: int
    changes: tuple[Change, ...]


def diff(
    old_body: str,
    old: GuidelineContent,
    new_body: str,
    new: GuidelineContent,
    *,
    old_label: str = "v1",
    new_label: str = "v2",
) -> GuidelineDiff:
    lines = list(
        difflib.unified_diff(
            old_body.splitlines(), new_body.splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
        )
    )
    # Past the two file headers every line is a hunk header (@@), context ( ), addition (+) or removal (-).
    hunks = lines[2:]
    changes = [
        *_keyed("definition", _definitions(old), _definitions(new)),
        *_examples(old.examples, new.examples),
        *_keyed("edgeCase", _edge_cases(old), _edge_cases(new)),
        *_keyed("decisionTree", _tree(old), _tree(new)),
    ]
    changes.sort(key=lambda c: (SECTIONS.index(c.section), c.key, _KIND_ORDER[c.kind], c.before or "", c.after or ""))
    return GuidelineDiff(
        body="\n".join(lines) + "\n" if lines else "",
        body_added=sum(1 for line in hunks if line.startswith("+")),
        body_removed=sum(1 for line in hunks if line.startswith("-")),
        changes=tuple(changes),
    )


def _keyed(section: str, old: dict[str, str], new: dict[str, str]) -> list[Change]:
    """Changes between two sections whose entries have a key, compared by their one-line renderings."""
    changes = [Change(section, "REMOVED", key, text, None) for key, text in old.items() if key not in new]
    for key, text in new.items():
        if key not in old:
            changes.append(Change(section, "ADDED", key, None, text))
        elif old[key] != text:
            changes.append(Change(section, "CHANGED", key, old[key], text))
    return changes


def _first_wins(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    # Checked content has unique keys; stored content read tolerantly might not, and must not crash.
    out: dict[str, str] = {}
    for key, text in pairs:
        out.setdefault(key, text)
    return out


def _definitions(content: GuidelineContent) -> dict[str, str]:
    return _first_wins((f"{d.ref.field}.{d.ref.class_}", one_line(d.text)) for d in content.definitions)


def _edge_cases(content: GuidelineContent) -> dict[str, str]:
    return _first_wins((e.title, _edge_case_text(e)) for e in content.edge_cases)


def _edge_case_text(case: EdgeCase) -> str:
    text = one_line(case.description)
    if case.ref is None:
        return text
    return f"{text} ({_ref(case.ref)})" if text else f"({_ref(case.ref)})"


def _ref(ref: ClassRef) -> str:
    return f"{ref.field}: {ref.class_}"


def _tree(content: GuidelineContent) -> dict[str, str]:
    tree = content.tree
    if tree is None:
        return {}
    return {"root": tree.root, **_first_wins((n.id, _node_text(n)) for n in tree.nodes)}


def _node_text(node: DecisionNode) -> str:
    answers = "; ".join(
        f"{one_line(a.answer)} → {_ref(a.target) if a.target is not None else a.next or '?'}" for a in node.answers
    )
    return f"{one_line(node.question)} [{answers}]"


def _leads_to(answer: Answer) -> str:
    return _ref(answer.target) if answer.target is not None else answer.next or "?"


def _example_key(example: Example) -> str:
    shown = example.text if example.text is not None else example.item_id or ""
    return f"{example.ref.field}.{example.ref.class_} {example.polarity}: {one_line(shown)}"


def _examples(old: tuple[Example, ...], new: tuple[Example, ...]) -> list[Change]:
    before = [(_example_key(e), example_text(e)) for e in old]
    after = [(_example_key(e), example_text(e)) for e in new]
    return [Change("example", "REMOVED", key, text, None) for key, text in _multiset_minus(before, after)] + [
        Change("example", "ADDED", key, None, text) for key, text in _multiset_minus(after, before)
    ]


def _multiset_minus(values: Iterable[V], minus: Iterable[V]) -> list[V]:
    """The values, in order, that ``minus`` does not account for (counting duplicates)."""
    left = Counter(minus)
    out = []
    for value in values:
        if left[value] > 0:
            left[value] -= 1
        else:
            out.append(value)
    return out
