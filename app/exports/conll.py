"""CoNLL-2003 style named entities for one spans field: a token and its BIO tag per line, tab
separated, a ``-DOCSTART-`` line and a blank line before each item, a blank line after it.

Tokens are the whitespace-separated runs of the span field's source text (``\\S+``). A span that
cuts a token (its start or end falls inside one) is snapped outward to whole tokens: every token
it overlaps carries its label, the first ``B-``, the next ``I-``. Where spans overlap (a field
with ``allow_overlap``), the span that starts first (the longer one on a tie) keeps the tokens
they share; BIO cannot say more. Items in snapshot order; a tombstoned item is left out.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from app.exports.source import Source

TOKEN = re.compile(r"\S+")
DOCSTART = "-DOCSTART-\tO\n\n"


def tag(text: str, spans: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(token, BIO tag) for every whitespace token of `text`, spans snapped outward to whole tokens."""
    tokens = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]
    tags = ["O"] * len(tokens)
    taken = [False] * len(tokens)
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        covered = [i for i, (start, end, _) in enumerate(tokens) if start < span["end"] and span["start"] < end]
        free = [i for i in covered if not taken[i]]
        for n, i in enumerate(free):
            tags[i] = f"{'B' if n == 0 else 'I'}-{span['label']}"
            taken[i] = True
    return [(token, t) for (_, _, token), t in zip(tokens, tags, strict=True)]


async def render(source: Source) -> AsyncIterator[bytes]:
    assert source.field is not None  # picked by the registry
    assert source.field.source is not None
    spec = source.field
    async for records in source.records():
        documents = []
        for record in records:
            if "tombstone" in record:
                continue
            text = (record.get("data") or {}).get(spec.source)
            spans = (record.get("active_value") or {}).get(spec.name) or []
            lines = "".join(f"{token}\t{t}\n" for token, t in tag(text if isinstance(text, str) else "", spans))
            documents.append(DOCSTART + lines + "\n")
        if documents:
            yield "".join(documents).encode()
