"""A guideline version as a PDF, beside the Markdown download: the body, definitions, examples, edge
cases, and the decision tree drawn as a diagram (questions and the classes they decide as boxes,
answers as labeled arrows), followed by the same tree as a written outline.

The diagram is laid out in layers from the root, breadth first: each question sits one layer below
the first question that leads to it; an answer that decides a class gets its own box below its
question. A question reached again is not repeated (its arrow points at the one box), so shared
subtrees, and even cycles in tolerant stored content, stay finite. Trees too large to read as one
drawing (over MAX_DRAWN boxes) get only the outline. Output depends on nothing but the arguments.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.guidelines.content import DecisionNode, DecisionTree, GuidelineContent
from app.guidelines.render import example_text, one_line
from app.reports.charts import rect
from app.reports.document import Block, Bullets, Chart, Document, Heading, Para, Table
from app.reports.fonts import fonts

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing

MAX_DRAWN = 60
BOX_W, BOX_H = 120.0, 46.0
H_GAP, V_GAP = 14.0, 44.0
FONT_SIZE = 7.0
LABEL_CHARS = 26


@dataclass(frozen=True)
class Box:
    key: str
    text: str
    leaf: bool  # a decided class, not a question
    layer: int


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


def layout(tree: DecisionTree) -> tuple[list[Box], list[Edge]]:
    """Boxes in layers (breadth first from the root) and the labeled arrows between them."""
    nodes: dict[str, DecisionNode] = {}
    for node in tree.nodes:
        nodes.setdefault(node.id, node)
    if tree.root not in nodes:
        return [], []
    boxes = [Box(f"q:{tree.root}", nodes[tree.root].question, False, 0)]
    edges: list[Edge] = []
    layer_of = {tree.root: 0}
    queue = deque([tree.root])
    while queue:
        current = queue.popleft()
        depth = layer_of[current]
        for j, answer in enumerate(nodes[current].answers):
            if answer.target is not None:
                key = f"c:{current}:{j}"
                boxes.append(Box(key, f"{answer.target.field}: {answer.target.class_}", True, depth + 1))
                edges.append(Edge(f"q:{current}", key, answer.answer))
            elif answer.next is not None and answer.next in nodes:
                if answer.next not in layer_of:
                    layer_of[answer.next] = depth + 1
                    boxes.append(Box(f"q:{answer.next}", nodes[answer.next].question, False, depth + 1))
                    queue.append(answer.next)
                edges.append(Edge(f"q:{current}", f"q:{answer.next}", answer.answer))
    return boxes, edges


def diagram(tree: DecisionTree) -> Drawing | None:
    """The tree drawn top-down; None when it has no root or more than MAX_DRAWN boxes."""
    from reportlab.graphics.shapes import Drawing, Line, Polygon, String
    from reportlab.lib import colors
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth

    boxes, edges = layout(tree)
    if not boxes or len(boxes) > MAX_DRAWN:
        return None
    regular, bold = fonts()
    layers: dict[int, list[Box]] = {}
    for box in boxes:
        layers.setdefault(box.layer, []).append(box)
    widest = max(len(row) for row in layers.values())
    width = widest * BOX_W + (widest - 1) * H_GAP
    height = len(layers) * BOX_H + (len(layers) - 1) * V_GAP
    at: dict[str, tuple[float, float]] = {}  # a box's lower left corner
    for depth, row in layers.items():
        span = len(row) * BOX_W + (len(row) - 1) * H_GAP
        left = (width - span) / 2
        for i, box in enumerate(row):
            at[box.key] = (left + i * (BOX_W + H_GAP), height - BOX_H - depth * (BOX_H + V_GAP))
    drawing = Drawing(width, height)
    grey = colors.HexColor("#57606a")
    labels: list[tuple[float, float, str]] = []
    for edge in edges:  # arrows first, boxes over them, answers over both
        (sx, sy), (tx, ty) = at[edge.source], at[edge.target]
        x1, y1, x2, y2 = sx + BOX_W / 2, sy, tx + BOX_W / 2, ty + BOX_H
        lift = 0.0
        if ty == sy:  # a question beside this one: from side to side, the answer above the arrow
            x1, x2 = (sx + BOX_W, tx) if tx > sx else (sx, tx + BOX_W)
            y1 = y2 = sy + BOX_H / 2
            lift = FONT_SIZE + 2
        elif ty > sy:  # back up to an earlier question (tolerant content): along the right-hand sides
            x1, y1, x2, y2 = sx + BOX_W, sy + BOX_H / 2, tx + BOX_W, ty + BOX_H / 2
        drawing.add(Line(x1, y1, x2, y2, strokeColor=grey, strokeWidth=0.8))
        drawing.add(Polygon(_arrowhead(x1, y1, x2, y2), fillColor=grey, strokeColor=None))
        labels.append(((x1 + x2) / 2, (y1 + y2) / 2 + lift, _short(edge.label)))
    for box in boxes:
        x, y = at[box.key]
        fill = "#e6f4ea" if box.leaf else "#ddeefc"
        drawing.add(rect(x, y, BOX_W, BOX_H, fill=colors.HexColor(fill), stroke=grey, radius=4))
        font = regular if box.leaf else bold
        lines = simpleSplit(one_line(box.text), font, FONT_SIZE, BOX_W - 8) or [""]
        if len(lines) > 4:
            lines = [*lines[:3], lines[3][:-1] + "…"]
        top = y + BOX_H / 2 + (len(lines) - 1) * (FONT_SIZE + 1) / 2 - FONT_SIZE / 3
        for k, line in enumerate(lines):
            drawing.add(
                String(
                    x + BOX_W / 2,
                    top - k * (FONT_SIZE + 1),
                    line,
                    fontName=font,
                    fontSize=FONT_SIZE,
                    textAnchor="middle",
                )
            )
    for mx, my, label in labels:
        w = stringWidth(label, regular, FONT_SIZE) + 4
        drawing.add(rect(mx - w / 2, my - 3, w, FONT_SIZE + 3, fill=colors.white))
        drawing.add(String(mx, my - 1, label, fontName=regular, fontSize=FONT_SIZE, textAnchor="middle"))
    return drawing


def _arrowhead(x1: float, y1: float, x2: float, y2: float) -> list[float]:
    dx, dy = x2 - x1, y2 - y1
    length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    ux, uy = dx / length, dy / length
    back_x, back_y = x2 - 6 * ux, y2 - 6 * uy
    return [x2, y2, back_x - 2.5 * uy, back_y + 2.5 * ux, back_x + 2.5 * uy, back_y - 2.5 * ux]


def _short(text: str) -> str:
    text = one_line(text)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def outline(tree: DecisionTree) -> list[str]:
    """One line per question (breadth first from the root, then the rest): each answer and where it leads."""
    nodes: dict[str, DecisionNode] = {}
    for node in tree.nodes:
        nodes.setdefault(node.id, node)
    order = [box.key[2:] for box in layout(tree)[0] if not box.leaf]
    order += [n for n in nodes if n not in order]
    lines = []
    for node_id in order:
        node = nodes[node_id]
        answers = []
        for a in node.answers:
            if a.target is not None:
                answers.append(f"{one_line(a.answer)} → {a.target.field}: {a.target.class_}")
            elif a.next is not None:
                shown = one_line(nodes[a.next].question) if a.next in nodes else f"(no question '{a.next}')"
                answers.append(f"{one_line(a.answer)} → {shown}")
        lines.append(f"{one_line(node.question)} — " + "; ".join(answers))
    return lines


def guideline_document(
    *,
    project: str,
    version: int,
    status: str,
    published_at: datetime | None,
    changelog: str,
    body: str,
    content: GuidelineContent,
) -> Document:
    title = f"{one_line(project)} — annotation guideline v{version}"
    if status == "PUBLISHED":
        shown = f"Published {published_at:%Y-%m-%d}" if published_at is not None else "Published"
    else:
        shown = f"Status: {status}"
    blocks: list[Block] = [Heading(title, 1), Para(shown, muted=True)]
    if changelog.strip():
        blocks += [Heading("Changelog"), Para(changelog.strip())]
    blocks += _body(body)
    if content.definitions:
        blocks += [
            Heading("Definitions"),
            Table(["Field", "Class", "Definition"], [[d.ref.field, d.ref.class_, d.text] for d in content.definitions]),
        ]
    if content.examples:
        blocks += [
            Heading("Examples"),
            Table(
                ["Field", "Class", "Polarity", "Example"],
                [[e.ref.field, e.ref.class_, e.polarity.lower(), example_text(e)] for e in content.examples],
            ),
        ]
    if content.edge_cases:
        blocks.append(Heading("Edge cases"))
        for case in content.edge_cases:
            blocks.append(Heading(case.title, 3))
            if case.ref is not None:
                blocks.append(Para(f"Applies to {case.ref.field}: {case.ref.class_}", muted=True))
            if case.description.strip():
                blocks.append(Para(case.description.strip()))
    if content.tree is not None and content.tree.nodes:
        blocks += [
            Heading("Decision tree"),
            Chart(diagram(content.tree), "The tree is too large to draw; its outline follows."),
            Heading("Decision tree, written out", 3),
            Bullets(outline(content.tree)),
        ]
    return Document(title, blocks)


def _body(body: str) -> list[Block]:
    """The Markdown body as paragraphs: blank lines separate them, `#` lines become headings and
    list items bullets; inline markup is shown as written (the .md download renders it)."""
    blocks: list[Block] = []
    for chunk in body.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        text = chunk.strip("\n")
        if not text.strip():
            continue
        lines = text.split("\n")
        if len(lines) == 1 and text.lstrip().startswith("#"):
            blocks.append(
                Heading(text.lstrip().lstrip("#").strip() or text, 2 if text.lstrip().startswith("# ") else 3)
            )
        elif all(line.lstrip()[:2] in ("- ", "* ") for line in lines):
            blocks.append(Bullets([line.lstrip()[2:] for line in lines]))
        else:
            blocks.append(Para(text))
    return blocks
