"""A Document as a PDF (ReportLab's platypus): A4, numbered pages, tables that repeat their header
and wrap their cells, the charts drawn as vector graphics. Text goes into Paragraphs escaped, as
their mini-markup would otherwise read user input as tags. CPU work: callers run it in a thread.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from app.reports.document import Block, Bullets, Chart, Document, Heading, Para, Pre, Table
from app.reports.fonts import fonts

MARGIN = 40.0
PRE_LINE = 95  # characters of a preformatted line before it wraps


def render_pdf(document: Document, *, author: str = "Labelgraph") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    styles = _styles()
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=document.title,
        author=author,
    )
    width = A4[0] - 2 * MARGIN
    story: list[Any] = []
    for block in document.blocks:
        story += _flowables(block, styles, width)
    footer = _footer(document.title, styles["regular"])
    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _styles() -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = fonts()
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13, spaceAfter=5)
    return {
        "regular": regular,
        "body": base,
        "muted": ParagraphStyle("muted", parent=base, textColor=colors.HexColor("#57606a")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5, spaceAfter=0),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=7.5, leading=9.5, spaceAfter=0),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2, spaceAfter=2),
        "pre": ParagraphStyle("pre", parent=base, fontSize=7, leading=8.5),
        "h1": ParagraphStyle("h1", parent=base, fontName=bold, fontSize=17, leading=21, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=13, leading=17, spaceBefore=12, spaceAfter=5),
        "h3": ParagraphStyle("h3", parent=base, fontName=bold, fontSize=10.5, leading=14, spaceBefore=8, spaceAfter=3),
    }


def _text(text: str) -> str:
    """Plain text for a Paragraph: markup characters escaped, line breaks kept."""
    return escape(text).replace("\n", "<br/>")


def _flowables(block: Block, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import KeepTogether, Paragraph, Preformatted, Spacer

    match block:
        case Heading(text, level):
            return [Paragraph(_text(text), styles[f"h{min(level, 3)}"])]
        case Para(text, muted):
            return [Paragraph(_text(text), styles["muted" if muted else "body"])]
        case Bullets(items):
            return [Paragraph(_text(item), styles["bullet"], bulletText="•") for item in items]
        case Table(header, rows, numeric):
            return [_table(header, rows, numeric, styles, width), Spacer(1, 6)]
        case Chart(drawing, empty, caption):
            if drawing is None:
                return [Paragraph(_text(empty), styles["muted"])]
            parts: list[Any] = [_fit(drawing, width)]
            if caption:
                parts.append(Paragraph(_text(caption), styles["muted"]))
            return [KeepTogether(parts), Spacer(1, 6)]
        case Pre(text):
            return [Preformatted(text, styles["pre"], maxLineLength=PRE_LINE, newLineChars="")]
    raise AssertionError(f"unknown block {block!r}")


def _fit(drawing: Any, width: float) -> Any:
    """The drawing scaled down to the frame's width when it is wider."""
    if drawing.width <= width:
        return drawing
    scale = width / drawing.width
    drawing.scale(scale, scale)
    drawing.width, drawing.height = width, drawing.height * scale
    return drawing


def _table(header: Any, rows: Any, numeric: frozenset[int], styles: dict[str, Any], width: float) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, TableStyle
    from reportlab.platypus import Table as PdfTable

    right = ParagraphStyle("cell-n", parent=styles["cell"], alignment=TA_RIGHT)

    def cell(value: str, i: int) -> Any:
        return Paragraph(_text(value), right if i in numeric else styles["cell"])

    data = [[Paragraph(_text(h), styles["head"]) for h in header]]
    data += [[cell(v, i) for i, v in enumerate(row)] for row in rows]
    table = PdfTable(data, colWidths=[width / len(header)] * len(header), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6f8fa")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _footer(title: str, font: str) -> Any:
    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillGray(0.4)
        canvas.drawString(MARGIN, MARGIN / 2, title[:120])
        canvas.drawRightString(doc.pagesize[0] - MARGIN, MARGIN / 2, f"Page {doc.page}")
        canvas.restoreState()

    return draw
