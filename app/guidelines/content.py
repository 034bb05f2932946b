"""Structured guideline content: checking what clients send, and reading back what was stored.

A guideline version carries, beside its Markdown body, a JSON ``content`` a labeling UI shows next to
the item; every top-level key is optional::

    {"definitions": [{"field"?, "class", "definition"}],
     "examples":    [{"field"?, "class", "polarity": "POSITIVE"|"NEGATIVE", "text" | "itemId", "note"?}],
     "edgeCases":   [{"title", "description"?, "field"?, "class"?,
                      "source"?: {"itemId", "commentId"? | "decisionId"?}}],
     "decisionTree": {"root": node id, "nodes": [{"id", "question", "answers": [
                          {"answer", "next": node id} | {"answer", "field"?, "class"}]}]}}

A class reference may leave ``field`` out when exactly one classed field of the label schema has the
class (else AMBIGUOUS_CLASS). ``check`` reports every problem with its field path (starting at ``at``)
and, when there is none, returns the ``normalized`` JSON to store, in which every reference spells its
field out; ``parse`` reads such stored JSON back without the schema and never raises. Re-checking
stored JSON against a newer schema reports what the schema no longer has. ``null`` counts as absent.

An edge case's ``source`` is where it came from (a thread or an expert's decision on an item, by global
id, as promoteToGuideline writes it): its item is collected with the other item references, and the
comment or decision in ``Checked.source_refs``, for the service to check they are that item's.

Item references (``itemId``) are only collected, in ``Checked.item_refs``: whether they name items of
the project is the service's question. Decision trees must be acyclic with every node reachable from
the root; the classes a tree can never decide are a report (``unreachable``), not a problem.

Codes: INVALID_CONTENT (shape: wrong type, unknown key, text and itemId both or neither), REQUIRED
(blank text, no answers), TOO_MANY, TOO_LONG, UNKNOWN_FIELD, UNKNOWN_CLASS, AMBIGUOUS_CLASS,
DUPLICATE_DEFINITION, DUPLICATE_EDGE_CASE (same title), DUPLICATE_NODE, DUPLICATE_ANSWER (same label
within a question), UNKNOWN_NODE, INVALID_ANSWER, TREE_CYCLE (once per answer closing a cycle, at its
``next``), UNREACHABLE_NODE.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from app.errors import Problem
from app.taxonomy.schema_language import CLASSED, FieldSpec, LabelSchema

MAX_ENTRIES = 1000  # per list: definitions, examples, edge cases, tree nodes, answers of one node
MAX_TEXT = 10_000  # characters of any one text
MAX_BODY = 200_000  # characters of a guideline's Markdown body
POLARITIES = ("POSITIVE", "NEGATIVE")
SECTIONS = ("definitions", "examples", "edgeCases", "decisionTree")


@dataclass(frozen=True)
class ClassRef:
    field: str
    class_: str


@dataclass(frozen=True)
class Definition:
    ref: ClassRef
    text: str


@dataclass(frozen=True)
class Example:
    ref: ClassRef
    polarity: str  # "POSITIVE" or "NEGATIVE"
    text: str | None  # exactly one of text and item_id is set
    item_id: str | None
    note: str = ""


@dataclass(frozen=True)
class EdgeCaseSource:
    """Where an edge case came from: an item, and the thread (its root comment) or decision on it."""

    item_id: str
    comment_id: str | None = None
    decision_id: str | None = None


@dataclass(frozen=True)
class EdgeCase:
    title: str
    description: str
    ref: ClassRef | None = None
    source: EdgeCaseSource | None = None


@dataclass(frozen=True)
class Answer:
    answer: str
    next: str | None  # the id of the next question, or None when the answer decides a class
    target: ClassRef | None


@dataclass(frozen=True)
class DecisionNode:
    id: str
    question: str
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class DecisionTree:
    root: str
    nodes: tuple[DecisionNode, ...]

    def node(self, id: str) -> DecisionNode | None:
        return next((n for n in self.nodes if n.id == id), None)


@dataclass(frozen=True)
class GuidelineContent:
    definitions: tuple[Definition, ...] = ()
    examples: tuple[Example, ...] = ()
    edge_cases: tuple[EdgeCase, ...] = ()
    tree: DecisionTree | None = None

    EMPTY: ClassVar[GuidelineContent]


EMPTY = GuidelineContent()
GuidelineContent.EMPTY = EMPTY


@dataclass(frozen=True)
class Checked:
    problems: tuple[Problem, ...]
    # The content JSON to store, every class reference with its field spelled out; None when problems.
    normalized: dict[str, Any] | None
    content: GuidelineContent | None
    # Classes of the fields the tree decides that no leaf reaches; () unless the tree itself is sound.
    unreachable: tuple[ClassRef, ...] = ()
    # (field path of the itemId, the itemId) for every well-formed item reference, even when there are problems,
    # so the service can report unknown items together with the rest.
    item_refs: tuple[tuple[str, str], ...] = ()
    # (field path of the source, the source) for every well-formed edge-case source.
    source_refs: tuple[tuple[str, EdgeCaseSource], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_body(body: Any) -> list[Problem]:
    """What is wrong with a guideline's Markdown body (saveGuidelineDraft's check, and
    `labelgraph schema check --guideline`'s)."""
    if not isinstance(body, str):
        return [Problem("INVALID_CONTENT", "body must be Markdown text.", "body")]
    if len(body) > MAX_BODY:
        return [Problem("TOO_LONG", f"body allows {MAX_BODY:,} characters.", "body")]
    return []


def check(raw: Any, schema: LabelSchema, at: str = "content") -> Checked:
    """Everything wrong with client content under the schema, or the content and its normalized JSON."""
    if raw is None:
        return Checked(problems=(), normalized={}, content=EMPTY)
    if not isinstance(raw, Mapping):
        return Checked(
            problems=(_shape("Guideline content must be a JSON object.", at),), normalized=None, content=None
        )
    reader = _Reader(schema)
    for key in raw:
        if key not in SECTIONS:
            reader.problems.append(_shape(f"'{key}' is not part of guideline content.", f"{at}.{key}"))
    definitions = reader.definitions(raw.get("definitions"), f"{at}.definitions")
    examples = reader.examples(raw.get("examples"), f"{at}.examples")
    edge_cases = reader.edge_cases(raw.get("edgeCases"), f"{at}.edgeCases")
    before_tree = len(reader.problems)
    tree = reader.tree(raw.get("decisionTree"), f"{at}.decisionTree")
    sound_tree = tree is not None and len(reader.problems) == before_tree
    unreachable = unreachable_classes(tree, schema) if sound_tree and tree is not None else ()
    item_refs, source_refs = tuple(reader.item_refs), tuple(reader.source_refs)
    if reader.problems:
        return Checked(tuple(reader.problems), None, None, unreachable, item_refs, source_refs)
    content = GuidelineContent(tuple(definitions), tuple(examples), tuple(edge_cases), tree)
    return Checked((), dump(content), content, unreachable, item_refs, source_refs)


def dump(content: GuidelineContent) -> dict[str, Any]:
    """The normalized JSON of content (empty sections left out); ``parse`` reads it back unchanged."""
    out: dict[str, Any] = {}
    if content.definitions:
        out["definitions"] = [{**_ref_json(d.ref), "definition": d.text} for d in content.definitions]
    if content.examples:
        out["examples"] = [_example_json(e) for e in content.examples]
    if content.edge_cases:
        out["edgeCases"] = [
            {
                "title": e.title,
                "description": e.description,
                **(_ref_json(e.ref) if e.ref else {}),
                **({"source": _source_json(e.source)} if e.source else {}),
            }
            for e in content.edge_cases
        ]
    if content.tree is not None:
        out["decisionTree"] = {
            "root": content.tree.root,
            "nodes": [
                {"id": n.id, "question": n.question, "answers": [_answer_json(a) for a in n.answers]}
                for n in content.tree.nodes
            ],
        }
    return out


def _ref_json(ref: ClassRef) -> dict[str, str]:
    return {"field": ref.field, "class": ref.class_}


def _source_json(source: EdgeCaseSource) -> dict[str, str]:
    out = {"itemId": source.item_id}
    if source.comment_id is not None:
        out["commentId"] = source.comment_id
    if source.decision_id is not None:
        out["decisionId"] = source.decision_id
    return out


def _example_json(example: Example) -> dict[str, Any]:
    out: dict[str, Any] = {**_ref_json(example.ref), "polarity": example.polarity}
    if example.text is not None:
        out["text"] = example.text
    if example.item_id is not None:
        out["itemId"] = example.item_id
    if example.note:
        out["note"] = example.note
    return out


def _answer_json(answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {"answer": answer.answer}
    if answer.next is not None:
        out["next"] = answer.next
    if answer.target is not None:
        out.update(_ref_json(answer.target))
    return out


def parse(stored: Mapping[str, Any]) -> GuidelineContent:
    """Stored (normalized) content as values; needs no schema and skips whatever it cannot read."""
    if not isinstance(stored, Mapping):
        return EMPTY
    definitions = []
    for raw in _mappings(stored.get("definitions")):
        ref, text = _stored_ref(raw), raw.get("definition")
        if ref is not None and isinstance(text, str):
            definitions.append(Definition(ref, text))
    examples = []
    for raw in _mappings(stored.get("examples")):
        ref, polarity = _stored_ref(raw), raw.get("polarity")
        text, item_id = _str_or_none(raw.get("text")), _str_or_none(raw.get("itemId"))
        if ref is not None and isinstance(polarity, str) and (text is None) != (item_id is None):
            examples.append(Example(ref, polarity, text, item_id, _str_or_none(raw.get("note")) or ""))
    edge_cases = [
        EdgeCase(raw["title"], _str_or_none(raw.get("description")) or "", _stored_ref(raw), _stored_source(raw))
        for raw in _mappings(stored.get("edgeCases"))
        if isinstance(raw.get("title"), str)
    ]
    return GuidelineContent(tuple(definitions), tuple(examples), tuple(edge_cases), _stored_tree(stored))


def _stored_source(raw: Mapping[str, Any]) -> EdgeCaseSource | None:
    source = raw.get("source")
    if not isinstance(source, Mapping) or not isinstance(source.get("itemId"), str):
        return None
    return EdgeCaseSource(
        source["itemId"], _str_or_none(source.get("commentId")), _str_or_none(source.get("decisionId"))
    )


def _stored_tree(stored: Mapping[str, Any]) -> DecisionTree | None:
    raw = stored.get("decisionTree")
    if not isinstance(raw, Mapping) or not isinstance(raw.get("root"), str):
        return None
    nodes = []
    for node in _mappings(raw.get("nodes")):
        if not isinstance(node.get("id"), str):
            continue
        answers = []
        for answer in _mappings(node.get("answers")):
            label, target, nxt = answer.get("answer"), _stored_ref(answer), _str_or_none(answer.get("next"))
            if isinstance(label, str) and (target is None) != (nxt is None):
                answers.append(Answer(label, nxt, target))
        nodes.append(DecisionNode(node["id"], _str_or_none(node.get("question")) or "", tuple(answers)))
    return DecisionTree(raw["root"], tuple(nodes))


def _mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (v for v in value if isinstance(v, Mapping))


def _stored_ref(raw: Mapping[str, Any]) -> ClassRef | None:
    name, cls = raw.get("field"), raw.get("class")
    return ClassRef(name, cls) if isinstance(name, str) and isinstance(cls, str) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def unreachable_classes(tree: DecisionTree, schema: LabelSchema) -> tuple[ClassRef, ...]:
    """Per field some leaf decides (schema order): its classes no leaf reaches, in schema order.

    Reaching a taxonomy class reaches its ancestors too: a label holding it holds them.
    """
    reached: dict[str, set[str]] = {}
    for node in tree.nodes:
        for answer in node.answers:
            if answer.target is not None:
                reached.setdefault(answer.target.field, set()).add(answer.target.class_)
    missing: list[ClassRef] = []
    for spec in schema.fields:
        if spec.name not in reached:
            continue
        got = reached[spec.name] | spec.index.closed(reached[spec.name])
        missing.extend(ClassRef(spec.name, c) for c in spec.classes if c not in got)
    return tuple(missing)


def _shape(message: str, at: str) -> Problem:
    return Problem("INVALID_CONTENT", message, at)


class _Reader:
    """Reads one client document, collecting problems and item references as it goes."""

    def __init__(self, schema: LabelSchema) -> None:
        self.schema = schema
        self.problems: list[Problem] = []
        self.item_refs: list[tuple[str, str]] = []
        self.source_refs: list[tuple[str, EdgeCaseSource]] = []

    def definitions(self, raw: Any, at: str) -> list[Definition]:
        found: list[Definition] = []
        first: dict[ClassRef, int] = {}
        for i, entry in self._entries(raw, at, ("field", "class", "definition")):
            here = f"{at}.{i}"
            ref = self._ref(entry, here)
            text = self._text(entry, "definition", here, what="A definition")
            if ref is not None and ref in first:
                self.problems.append(
                    Problem(
                        "DUPLICATE_DEFINITION",
                        f"'{ref.field}.{ref.class_}' is already defined by definition {first[ref]}.",
                        here,
                    )
                )
            elif ref is not None:
                first[ref] = i
            if ref is not None and text is not None:
                found.append(Definition(ref, text))
        return found

    def examples(self, raw: Any, at: str) -> list[Example]:
        found: list[Example] = []
        for i, entry in self._entries(raw, at, ("field", "class", "polarity", "text", "itemId", "note")):
            here = f"{at}.{i}"
            ref = self._ref(entry, here)
            polarity = entry.get("polarity")
            if polarity not in POLARITIES:
                self.problems.append(_shape("An example's polarity is POSITIVE or NEGATIVE.", f"{here}.polarity"))
            note = self._text(entry, "note", here, what="A note", required=False)
            has_text, has_item = entry.get("text") is not None, entry.get("itemId") is not None
            if has_text == has_item:
                self.problems.append(_shape("An example has exactly one of 'text' and 'itemId'.", here))
                continue
            key = "text" if has_text else "itemId"
            value = self._text(entry, key, here, what="An example")
            if value is None:
                continue
            if not has_text:
                self.item_refs.append((f"{here}.itemId", value))
            if ref is not None and isinstance(polarity, str):
                found.append(
                    Example(ref, polarity, value if has_text else None, None if has_text else value, note or "")
                )
        return found

    def edge_cases(self, raw: Any, at: str) -> list[EdgeCase]:
        found: list[EdgeCase] = []
        first: dict[str, int] = {}
        for i, entry in self._entries(raw, at, ("title", "description", "field", "class", "source")):
            here = f"{at}.{i}"
            title = self._text(entry, "title", here, what="An edge case")
            description = self._text(entry, "description", here, what="A description", required=False)
            source = self._source(entry.get("source"), f"{here}.source")
            ref: ClassRef | None = None
            if entry.get("class") is not None:
                ref = self._ref(entry, here)
            elif entry.get("field") is not None:
                self.problems.append(_shape("An edge case naming a field also names its class.", f"{here}.class"))
            if title is not None and title in first:
                self.problems.append(
                    Problem("DUPLICATE_EDGE_CASE", f"Edge case {first[title]} already has this title.", f"{here}.title")
                )
            elif title is not None:
                first[title] = i
                found.append(EdgeCase(title, description or "", ref, source))
        return found

    def _source(self, raw: Any, at: str) -> EdgeCaseSource | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problems.append(_shape("An edge case's source is an object with 'itemId'.", at))
            return None
        self._unknown_keys(raw, ("itemId", "commentId", "decisionId"), at)
        item = self._text(raw, "itemId", at, what="A source")
        comment = self._text(raw, "commentId", at, what="A source", required=False)
        decision = self._text(raw, "decisionId", at, what="A source", required=False)
        if comment is not None and decision is not None:
            self.problems.append(_shape("A source names a comment or a decision, not both.", at))
            return None
        if item is None:
            return None
        self.item_refs.append((f"{at}.itemId", item))
        source = EdgeCaseSource(item, comment, decision)
        self.source_refs.append((at, source))
        return source

    def tree(self, raw: Any, at: str) -> DecisionTree | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problems.append(_shape("The decision tree is an object with 'root' and 'nodes'.", at))
            return None
        self._unknown_keys(raw, ("root", "nodes"), at)
        nodes: list[DecisionNode] = []
        # Each node's index in the input, to name it in problems found on the whole graph.
        index: dict[str, int] = {}
        nexts: list[tuple[str, str]] = []  # (node id, path of an answer's "next")
        for i, entry in self._entries(raw.get("nodes"), f"{at}.nodes", ("id", "question", "answers")):
            node = self._node(entry, f"{at}.nodes.{i}", nexts)
            if node is None:
                continue
            if node.id in index:
                self.problems.append(
                    Problem(
                        "DUPLICATE_NODE", f"Node {index[node.id]} already has the id '{node.id}'.", f"{at}.nodes.{i}.id"
                    )
                )
                continue
            index[node.id] = i
            nodes.append(node)
        for target, here in nexts:
            if target not in index:
                self.problems.append(Problem("UNKNOWN_NODE", f"No node has the id '{target}'.", here))
        root = raw.get("root")
        if not isinstance(root, str):
            self.problems.append(_shape("The decision tree names its first question's id in 'root'.", f"{at}.root"))
            return None
        tree = DecisionTree(root, tuple(nodes))
        self.problems.extend(_cycles(tree, index, at))
        if root not in index:
            self.problems.append(Problem("UNKNOWN_NODE", f"No node has the id '{root}'.", f"{at}.root"))
        else:
            # Without a known root every node would be unreachable: that would only repeat the problem above.
            self.problems.extend(_unreachable_nodes(tree, index, at))
        return tree

    def _node(self, entry: Mapping[str, Any], here: str, nexts: list[tuple[str, str]]) -> DecisionNode | None:
        node_id = self._text(entry, "id", here, what="A node")
        question = self._text(entry, "question", here, what="A node")
        answers: list[Answer] = []
        labels: dict[str, int] = {}
        raw_answers = entry.get("answers")
        if isinstance(raw_answers, list) and not raw_answers:
            self.problems.append(Problem("REQUIRED", "A question needs at least one answer.", f"{here}.answers"))
        for j, raw in self._entries(raw_answers, f"{here}.answers", ("answer", "next", "field", "class"), needed=True):
            where = f"{here}.answers.{j}"
            answer = self._answer(raw, where, nexts)
            if answer is None:
                continue
            if answer.answer in labels:
                self.problems.append(
                    Problem("DUPLICATE_ANSWER", f"Answer {labels[answer.answer]} reads the same.", f"{where}.answer")
                )
            elif answer.answer:  # blank only when already reported
                labels[answer.answer] = j
            answers.append(answer)
        # A node with a usable id stays in the graph even if the rest is wrong, so that answers leading
        # to it are not also reported as leading nowhere.
        return DecisionNode(node_id, question or "", tuple(answers)) if node_id is not None else None

    def _answer(self, raw: Mapping[str, Any], here: str, nexts: list[tuple[str, str]]) -> Answer | None:
        label = self._text(raw, "answer", here, what="An answer")
        nxt = raw.get("next")
        names_class = raw.get("class") is not None
        if nxt is not None and (names_class or raw.get("field") is not None):
            self.problems.append(
                Problem("INVALID_ANSWER", "An answer leads to a next question or decides a class, not both.", here)
            )
        if nxt is None and not names_class:
            self.problems.append(
                Problem("INVALID_ANSWER", "An answer leads to a next question ('next') or decides a class.", here)
            )
            return None
        if nxt is not None:
            if not isinstance(nxt, str):
                self.problems.append(_shape("'next' is the id of a node.", f"{here}.next"))
                return None
            nexts.append((nxt, f"{here}.next"))
            return Answer(label or "", nxt, None)
        target = self._ref(raw, here)
        return Answer(label, None, target) if label is not None and target is not None else None

    def _entries(
        self, raw: Any, at: str, keys: tuple[str, ...], *, needed: bool = False
    ) -> Iterator[tuple[int, Mapping[str, Any]]]:
        """The objects of a list section with their index; a missing or malformed list yields none."""
        if raw is None and not needed:
            return
        if not isinstance(raw, list):
            self.problems.append(_shape(f"'{at.rsplit('.', 1)[-1]}' must be a list.", at))
            return
        if len(raw) > MAX_ENTRIES:
            self.problems.append(Problem("TOO_MANY", f"At most {MAX_ENTRIES} entries.", at))
            return
        for i, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                self.problems.append(_shape("Each entry must be an object.", f"{at}.{i}"))
                continue
            self._unknown_keys(entry, keys, f"{at}.{i}")
            yield i, entry

    def _unknown_keys(self, entry: Mapping[str, Any], keys: Sequence[str], at: str) -> None:
        self.problems.extend(
            _shape(f"'{key}' is not one of {', '.join(keys)}.", f"{at}.{key}") for key in entry if key not in keys
        )

    def _text(self, entry: Mapping[str, Any], key: str, at: str, *, what: str, required: bool = True) -> str | None:
        """The text under ``key``; None (with a problem, unless optional and absent) when unusable."""
        value, here = entry.get(key), f"{at}.{key}"
        if value is None and not required:
            return None
        if value is not None and not isinstance(value, str):
            self.problems.append(_shape(f"'{key}' must be text.", here))
            return None
        if required and (value is None or not value.strip()):
            self.problems.append(Problem("REQUIRED", f"{what} needs a non-blank '{key}'.", here))
            return None
        assert isinstance(value, str)
        if len(value) > MAX_TEXT:
            self.problems.append(Problem("TOO_LONG", f"'{key}' allows at most {MAX_TEXT} characters.", here))
            return None
        return value

    def _ref(self, entry: Mapping[str, Any], at: str) -> ClassRef | None:
        """The class an entry names, its field found from the schema when left out."""
        cls, name = entry.get("class"), entry.get("field")
        if not isinstance(cls, str):
            self.problems.append(_shape("'class' names a class of the label schema.", f"{at}.class"))
            return None
        if name is not None:
            if not isinstance(name, str):
                self.problems.append(_shape("'field' names a field of the label schema.", f"{at}.field"))
                return None
            spec = self.schema.field(name)
            if spec is None or spec.kind not in CLASSED:
                self.problems.append(
                    Problem(
                        "UNKNOWN_FIELD", f"'{name}' is not a field of the label schema with classes.", f"{at}.field"
                    )
                )
                return None
            if cls not in spec.classes:
                self.problems.append(Problem("UNKNOWN_CLASS", f"'{cls}' is not a class of '{name}'.", f"{at}.class"))
                return None
            return ClassRef(name, cls)
        owners = [spec.name for spec in _classed(self.schema) if cls in spec.classes]
        if not owners:
            self.problems.append(Problem("UNKNOWN_CLASS", f"'{cls}' is not a class of any field.", f"{at}.class"))
            return None
        if len(owners) > 1:
            self.problems.append(
                Problem(
                    "AMBIGUOUS_CLASS",
                    f"'{cls}' is a class of {', '.join(owners)}: name the 'field' too.",
                    f"{at}.class",
                )
            )
            return None
        return ClassRef(owners[0], cls)


def _classed(schema: LabelSchema) -> Iterator[FieldSpec]:
    return (spec for spec in schema.fields if spec.kind in CLASSED)


def _edges(node: DecisionNode, index: Mapping[str, int], at: str) -> list[tuple[str, str]]:
    """(next node id, path of the answer's "next") for each answer of a node leading to a known node."""
    here = f"{at}.nodes.{index[node.id]}.answers"
    return [(a.next, f"{here}.{j}.next") for j, a in enumerate(node.answers) if a.next is not None and a.next in index]


def _cycles(tree: DecisionTree, index: Mapping[str, int], at: str) -> list[Problem]:
    """One TREE_CYCLE per answer that leads back to a question on its own path (a back edge).

    Depth first with an explicit stack, from the root and then from any node not yet seen: a chain of
    a thousand questions must not exhaust Python's recursion limit.
    """
    nodes = {n.id: n for n in tree.nodes}
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    problems: list[Problem] = []
    for start in (tree.root, *nodes):
        if start in state or start not in nodes:
            continue
        state[start] = "open"
        stack = [(start, iter(_edges(nodes[start], index, at)))]
        while stack:
            current, edges = stack[-1]
            step = next(edges, None)
            if step is None:
                state[current] = "done"
                stack.pop()
                continue
            target, here = step
            if state.get(target) == "open":
                problems.append(Problem("TREE_CYCLE", f"This answer leads back to '{target}', making a cycle.", here))
            elif target not in state:
                state[target] = "open"
                stack.append((target, iter(_edges(nodes[target], index, at))))
    return problems


def _unreachable_nodes(tree: DecisionTree, index: Mapping[str, int], at: str) -> list[Problem]:
    nodes = {n.id: n for n in tree.nodes}
    seen = {tree.root}
    stack = [tree.root]
    while stack:
        for target, _ in _edges(nodes[stack.pop()], index, at):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return [
        Problem("UNREACHABLE_NODE", f"No path of answers leads from the root to '{n.id}'.", f"{at}.nodes.{index[n.id]}")
        for n in tree.nodes
        if n.id not in seen
    ]
