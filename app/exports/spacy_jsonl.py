"""spaCy-style JSON Lines for one spans field: per item ``{"text", "spans": [{"start", "end",
"label"}], "meta": {...}}`` with character offsets into the text exactly as labeled (no snapping:
``Doc.char_span(start, end, label, alignment_mode=...)`` lets the reader choose how a span that
cuts a token aligns). The shape Prodigy and spaCy's own examples read; a tombstoned item is left out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from app.exports.source import Source


async def render(source: Source) -> AsyncIterator[bytes]:
    assert source.field is not None  # picked by the registry
    spec = source.field
    async for records in source.records():
        lines = []
        for record in records:
            if "tombstone" in record:
                continue
            text = (record.get("data") or {}).get(spec.source or "")
            spans = (record.get("active_value") or {}).get(spec.name) or []
            line = {
                "text": text if isinstance(text, str) else "",
                "spans": [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in spans],
                "meta": {"item_id": record["item_id"], "external_id": record.get("external_id")},
            }
            lines.append(json.dumps(line, ensure_ascii=False) + "\n")
        if lines:
            yield "".join(lines).encode()
