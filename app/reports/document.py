"""A report as a list of plain blocks (headings, paragraphs, tables, charts, preformatted text),
so that the HTML and the PDF are two renderings of one document and say the same things.

Block text is plain text (user input included): each renderer escapes it for its own format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2  # 1: the title


@dataclass(frozen=True)
class Para:
    text: str
    muted: bool = False


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: frozenset[int] = field(default_factory=frozenset)  # columns aligned right


@dataclass(frozen=True)
class Chart:
    drawing: Drawing | None
    empty: str  # what to say when there is nothing to draw
    caption: str = ""


@dataclass(frozen=True)
class Pre:
    text: str


Block = Heading | Para | Bullets | Table | Chart | Pre


@dataclass(frozen=True)
class Document:
    title: str
    blocks: Sequence[Block]


NONE = "\u2013"  # an en dash: no figure


def number(value: float | int | None, digits: int = 3) -> str:
    """A figure as a reader scans it: an en dash for none, integers as they are."""
    if value is None:
        return NONE
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{100 * value:.1f} %"


def seconds(value: float | None) -> str:
    """A duration in the largest unit that keeps it readable."""
    if value is None:
        return NONE
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} s"


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def rows_of(values: Sequence[Sequence[Any]]) -> list[list[str]]:
    return [[str(v) for v in row] for row in values]
