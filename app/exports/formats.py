"""The export formats: name -> renderer, media type, file extension, and what the format needs.

Every format renders the same snapshot records (exports/source.py); the HTTP routes
(exports/http.py) look a format up here, check what it needs before the snapshot is recorded
(a field of the right kind, item content), then stream what its renderer yields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from app.exports import coco, conll, csv_rows, hf, jsonl, label_studio, parquet, spacy_jsonl
from app.exports.source import Source
from app.taxonomy.schema_language import FieldSpec, LabelSchema

Renderer = Callable[[Source], AsyncIterator[bytes]]


async def _jsonl(source: Source) -> AsyncIterator[bytes]:
    async for chunk in jsonl.export_lines(source.session, source.snapshot, source.reader):
        yield chunk


@dataclass(frozen=True)
class Format:
    name: str
    render: Renderer
    media_type: str
    extension: str
    # The kind of the one field it renders (COCO: boxes, CoNLL: spans); None: every field.
    field_kind: str | None = None
    # Whether it cannot be made without item content (the text to tag, the image to box).
    needs_items: bool = False

    def file_stem(self, name: str) -> str:
        """The download's name: the project's, and the format's where the extension does not say it."""
        return name if self.extension == self.name else f"{name}-{self.name}"


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("jsonl", _jsonl, "application/x-ndjson", "jsonl"),
        Format("csv", csv_rows.render, "text/csv; charset=utf-8", "csv"),
        Format("parquet", parquet.render, "application/vnd.apache.parquet", "parquet"),
        Format("hf", hf.render, "application/zip", "zip"),
        Format("label-studio", label_studio.render, "application/json", "json", needs_items=True),
        Format("coco", coco.render, "application/json", "json", field_kind="boxes", needs_items=True),
        Format("conll", conll.render, "text/plain; charset=utf-8", "conll", field_kind="spans", needs_items=True),
        Format("spacy", spacy_jsonl.render, "application/x-ndjson", "jsonl", field_kind="spans", needs_items=True),
    )
}


class ExportRefused(ValueError):
    """An export that cannot be made as asked: the message says why and what to ask instead."""


def lookup(name: str) -> Format:
    found = FORMATS.get(name)
    if found is None:
        raise ExportRefused(f"Unknown format '{name}'. Formats: {', '.join(FORMATS)}.")
    return found


def choose_field(fmt: Format, schema: LabelSchema, requested: str | None) -> FieldSpec | None:
    """The field a per-field format renders: the one named, or the only one of its kind."""
    if fmt.field_kind is None:
        if requested is not None:
            raise ExportRefused(f"field applies to the per-field formats only, not to {fmt.name}.")
        return None
    choices = [f for f in schema.fields if f.kind == fmt.field_kind]
    names = ", ".join(f.name for f in choices)
    if not choices:
        raise ExportRefused(f"{fmt.name} exports a {fmt.field_kind} field; this schema has none.")
    if requested is None:
        if len(choices) > 1:
            raise ExportRefused(f"Name the {fmt.field_kind} field to export with field=: one of {names}.")
        return choices[0]
    chosen = next((f for f in choices if f.name == requested), None)
    if chosen is None:
        raise ExportRefused(f"field must name a {fmt.field_kind} field: one of {names}.")
    return chosen
