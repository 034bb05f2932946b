"""The one font the PDFs and charts use: DejaVu Sans where the system has it (it covers most
scripts, so class names in any language print), else ReportLab's built-in Helvetica (Latin only:
other characters show as boxes). Registered once, on first use, as ReportLab's fonts are global."""

from __future__ import annotations

from functools import cache
from pathlib import Path

CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)


@cache
def fonts() -> tuple[str, str]:
    """(regular, bold) font names registered with ReportLab."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for regular, bold in CANDIDATES:
        if Path(regular).is_file() and Path(bold).is_file():
            pdfmetrics.registerFont(TTFont("LabelgraphSans", regular))
            pdfmetrics.registerFont(TTFont("LabelgraphSans-Bold", bold))
            pdfmetrics.registerFontFamily("LabelgraphSans", normal="LabelgraphSans", bold="LabelgraphSans-Bold")
            return "LabelgraphSans", "LabelgraphSans-Bold"
    return "Helvetica", "Helvetica-Bold"
