"""A Document as one self-contained HTML page: inline CSS and inline SVG charts, no script and no
external URL, so it opens offline and a stored copy stays whole. Every text is escaped (item and
class names are user input); the SVG comes from ReportLab's renderer, which escapes its text too.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from app.reports.document import Block, Bullets, Chart, Document, Heading, Para, Pre, Table

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
h3 { margin-top: 1.4rem; font-size: 1.05rem; }
.muted { color: #57606a; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.n { text-align: right; }
figure { margin: 1rem 0; } figcaption { color: #57606a; font-size: .9rem; }
figure svg { width: 100%; max-width: 46rem; height: auto; }
svg text { font-family: system-ui, sans-serif !important; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
"""


def render_html(document: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(document.title)}</title><style>{CSS}</style></head><body>",
    ]
    parts += [_block(block, n) for n, block in enumerate(document.blocks)]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _block(block: Block, n: int) -> str:
    match block:
        case Heading(text, level):
            return f"<h{level}>{escape(text)}</h{level}>"
        case Para(text, muted):
            return f'<p class="muted">{escape(text)}</p>' if muted else f"<p>{escape(text)}</p>"
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"
        case Table(header, rows, numeric):
            head = "".join(f"<th>{escape(h)}</th>" for h in header)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="n">{escape(v)}</td>' if i in numeric else f"<td>{escape(v)}</td>"
                    for i, v in enumerate(row)
                )
                + "</tr>"
                for row in rows
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        case Chart(drawing, empty, caption):
            if drawing is None:
                return f'<p class="muted">{escape(empty)}</p>'
            caption_html = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
            return f"<figure>{svg(drawing, n)}{caption_html}</figure>"
        case Pre(text):
            return f"<pre>{escape(text)}</pre>"
    raise AssertionError(f"unknown block {block!r}")


def svg(drawing: Drawing, n: int) -> str:
    """The drawing as an inline <svg> element. ReportLab writes a standalone file: its XML
    declaration, DOCTYPE and placeholder title are cut off, and its fixed element ids get the
    chart's number, so that one chart's clip path never clips another on the same page."""
    from reportlab.graphics import renderSVG

    text: str = renderSVG.drawToString(drawing)
    text = text[text.index("<svg") :].replace("<title>...</title>", "").replace("<desc>...</desc>", "")
    return (
        text.replace('id="clip"', f'id="clip{n}"')
        .replace("url(#clip)", f"url(#clip{n})")
        .replace('id="group"', f'id="group{n}"')
    )
