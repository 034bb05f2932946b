"""The report's charts as ReportLab Drawings: one chart code for both formats, drawn into the PDF
as flowables and rendered to SVG (reportlab.graphics.renderSVG, which escapes text) for the HTML.

Each function returns None when there is nothing to draw, so a format shows a sentence instead of
an empty frame. ReportLab is imported here only, inside the functions (it is not needed to start
the server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.reports.data import ReportData, class_name
from app.reports.fonts import fonts

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing, Rect
    from reportlab.lib.colors import Color

WIDTH = 480
HEIGHT = 210
# Series colours (Okabe-Ito: told apart by colour-blind readers too).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
MAX_BARS = 25  # classes or annotators per bar chart: the worst ones
MAX_LABEL = 28  # characters of a category name under a chart


def _short(text: str, most: int = MAX_LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def window_names(data: ReportData) -> list[str]:
    """Category names of the windows: a date (hour too for windows under a day), every k-th shown."""
    fmt = "%m-%d" if data.window_hours >= 24 else "%m-%d %H:00"
    step = max(1, len(data.windows) // 10)
    return [w.start.strftime(fmt) if i % step == 0 else "" for i, w in enumerate(data.windows)]


def throughput(data: ReportData) -> Drawing | None:
    """Labels per window (gold answers apart)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.lib import colors

    if not any(w.labels for w in data.windows):
        return None
    drawing, regular = _drawing(f"Labels per {data.window_hours} h window")
    chart = VerticalBarChart()
    _place(chart)
    chart.data = [[w.labels for w in data.windows]]
    chart.bars[0].fillColor = colors.HexColor(PALETTE[0])
    chart.bars.strokeColor = None
    chart.valueAxis.valueMin = 0
    chart.categoryAxis.categoryNames = window_names(data)
    _axes(chart, regular, angle=30)
    drawing.add(chart)
    return drawing


def agreement(data: ReportData) -> Drawing | None:
    """Each class field's agreement per window (gaps where a window had no pair to compare)."""
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.lib import colors

    series = [[w.agreement.get(name) for w in data.windows] for name in data.class_fields]
    if not any(v is not None for s in series for v in s):
        return None
    drawing, regular = _drawing("Agreement per window, by field")
    chart = HorizontalLineChart()
    _place(chart, legend=True)
    chart.data = series
    chart.joinedLines = 1
    for i in range(len(series)):
        chart.lines[i].strokeColor = colors.HexColor(PALETTE[i % len(PALETTE)])
        chart.lines[i].strokeWidth = 1.5
        chart.lines[i].symbol = _dot(PALETTE[i % len(PALETTE)])
    values = [v for s in series for v in s if v is not None]
    chart.valueAxis.valueMin = min(0.0, min(values))
    chart.valueAxis.valueMax = 1.0
    chart.categoryAxis.categoryNames = window_names(data)
    _axes(chart, regular, angle=30)
    drawing.add(chart)
    _legend(drawing, data.class_fields, regular)
    return drawing


def audit_overturns(data: ReportData) -> Drawing | None:
    """Per class of the audited decisions: audits and overturns (the most overturned first)."""
    classes = sorted(data.quality.audits.classes, key=lambda c: (-c.overturned, -c.audits, c.field, c.value))
    if not classes:
        return None
    names = [_short(f"{c.field}: {class_name(c.value)}") for c in classes[:MAX_BARS]]
    return _bars(
        "QA audits per decided class",
        names,
        [[c.audits for c in classes[:MAX_BARS]], [c.overturned for c in classes[:MAX_BARS]]],
        ["audited", "overturned"],
    )


def class_errors(data: ReportData, name: str) -> Drawing | None:
    """Per class of one field, against the final labels: the share of its labels that gave another
    class (1 - recall, missed) and the share of labels giving it where the final label differs
    (1 - precision, wrongly given)."""
    figures = next((f for f in data.quality.figures.fields if f.name == name), None)
    classes = [c for c in figures.classes if c.support] if figures else []
    if not classes:
        return None
    classes.sort(key=lambda c: (c.recall, c.precision, c.value))
    shown = classes[:MAX_BARS]
    return _bars(
        f"Errors per class of {name}",
        [_short(class_name(c.value)) for c in shown],
        [[1 - c.recall for c in shown], [1 - c.precision for c in shown]],
        ["missed (1 - recall)", "wrongly given (1 - precision)"],
        rates=True,
    )


def annotator_errors(data: ReportData) -> Drawing | None:
    """Per annotator: the share of its labels that differ from the final label, and its error rate
    in QA audits (labels behind overturned decisions that the overturn did not agree with)."""
    audited = {a.annotator: a.error_rate for a in data.quality.audits.annotators}
    rows = {a.annotator: (None if a.accuracy is None else 1 - a.accuracy) for a in data.quality.figures.annotators}
    names = sorted(set(rows) | set(audited), key=lambda a: (-(rows.get(a) or 0.0), data.user(a)))[:MAX_BARS]
    if not any(rows.get(a) is not None or audited.get(a) is not None for a in names):
        return None
    return _bars(
        "Annotators' error rates",
        [_short(data.user(a)) for a in names],
        [[rows.get(a) or 0.0 for a in names], [audited.get(a) or 0.0 for a in names]],
        ["differs from final label", "QA audit error rate"],
        rates=True,
    )


def _bars(
    title: str, names: list[str], series: list[list[float]], legend: list[str], *, rates: bool = False
) -> Drawing:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.lib import colors

    height = max(HEIGHT, 50 + 16 * len(names) * len(series) // 2 + 20)
    drawing, regular = _drawing(title, height=height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 150, 40
    chart.width, chart.height = WIDTH - 170, height - 80
    # The first category at the top, as a reader of a ranking expects.
    chart.data = [list(reversed(s)) for s in series]
    chart.categoryAxis.categoryNames = list(reversed(names))
    for i in range(len(series)):
        chart.bars[i].fillColor = colors.HexColor(PALETTE[i % len(PALETTE)])
    chart.bars.strokeColor = None
    chart.valueAxis.valueMin = 0
    if rates:
        chart.valueAxis.valueMax = 1.0
    _axes(chart, regular, angle=0)
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.labels.dy = 0
    drawing.add(chart)
    _legend(drawing, legend, regular)
    return drawing


def _drawing(title: str, *, height: int = HEIGHT) -> tuple[Drawing, str]:
    from reportlab.graphics.shapes import Drawing, String

    regular, bold = fonts()
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 14, title, fontName=bold, fontSize=11))
    return drawing, regular


def _place(chart: object, *, legend: bool = False) -> None:
    chart.x, chart.y = 40, 50  # type: ignore[attr-defined]
    chart.width, chart.height = WIDTH - 60, HEIGHT - (100 if legend else 80)  # type: ignore[attr-defined]


def _axes(chart: object, font: str, *, angle: int) -> None:
    for axis in (chart.categoryAxis, chart.valueAxis):  # type: ignore[attr-defined]
        axis.labels.fontName = font
        axis.labels.fontSize = 7
    if angle:
        labels = chart.categoryAxis.labels  # type: ignore[attr-defined]
        labels.angle = angle
        labels.boxAnchor = "ne"
        labels.dy = -2


def _dot(colour: str) -> object:
    from reportlab.graphics.widgets.markers import makeMarker
    from reportlab.lib import colors

    marker = makeMarker("FilledCircle")  # type: ignore[no-untyped-call]
    marker.size = 4
    marker.fillColor = colors.HexColor(colour)
    return marker


def _legend(drawing: Drawing, names: Sequence[str], font: str) -> None:
    from reportlab.graphics.shapes import String
    from reportlab.lib import colors

    x, y = 0.0, drawing.height - 30
    for i, name in enumerate(names[: len(PALETTE)]):
        shown = _short(name, 2 * MAX_LABEL)
        drawing.add(rect(x, y, 8, 8, fill=colors.HexColor(PALETTE[i])))
        drawing.add(String(x + 11, y + 1, shown, fontName=font, fontSize=8))
        x += 24 + 5 * len(shown)


def rect(
    x: float, y: float, width: float, height: float, *, fill: Color, stroke: Color | None = None, radius: float = 0
) -> Rect:
    """A filled rectangle (its colours set as attributes: the stubs mistype Rect's keyword arguments)."""
    from reportlab.graphics.shapes import Rect

    shape = Rect(x, y, width, height, rx=radius, ry=radius)
    shape.fillColor = fill
    shape.strokeColor = stroke
    return shape
