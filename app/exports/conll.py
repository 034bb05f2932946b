"""CoNLL-2003 style named entities for one spans field: a token and its BIO tag per line, tab
separated, a ``-DOCSTART-`` line and a blank line before each item, a blank line after it.

Tokens are the whitespace-separated runs of the span field's source text (``\\S+``). A span that
cuts a token (its start or end falls inside one) is snapped outward to whole tokens: every token
it overlaps carries its label, the first ``B-``, the next ``I-``. Where spans overlap (a field
with ``allow_overlap``), the span that starts first (the longer one on a tie) keeps the tokens
they share; BIO cannot say more. Items in snapshot order; a tombstoned item is left out.
"""

from __future__ import annotations

import asyncio
import bisect
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from app.exports.source import Source

TOKEN = re.compile(r"\S+")
DOCSTART = "-DOCSTART-\tO\n\n"


def tag(text: str, spans: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(token, BIO tag) for every whitespace token of `text`, spans snapped outward to whole tokens."""
    tokens = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]
    starts = [start for start, _, _ in tokens]
    ends = [end for _, end, _ in tokens]
    tags = ["O"] * len(tokens)
    taken = [False] * len(tokens)
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        # The tokens it overlaps: those ending after its start and starting before its end (sorted runs).
        first, last = bisect.bisect_right(ends, span["start"]), bisect.bisect_left(starts, span["end"])
        free = [i for i in range(first, last) if not taken[i]]
        for n, i in enumerate(free):
            tags[i] = f"{'B' if n == 0 else 'I'}-{span['label']}"
            taken[i] = True
    return [(token, t) for (_, _, token), t in zip(tokens, tags, strict=True)]


async def render(source: Source) -> AsyncIterator[bytes]:
    assert source.field is not None  # picked by the registry
    spec = source.field
    text_key = spec.source
    assert text_key is not None
    async for records in source.records():
        # Tokenising is CPU work that grows with the texts: off the event loop, a batch at a time.
        chunk = await asyncio.to_thread(_documents, records, text_key, spec.name)
        if chunk:
            yield chunk


def _documents(records: Sequence[dict[str, Any]], text_key: str, field: str) -> bytes:
    documents = []
    for record in records:
        if "tombstone" in record:
            continue
        text = (record.get("data") or {}).get(text_key)
        spans = (record.get("active_value") or {}).get(field) or []
        lines = "".join(f"{token}\t{t}\n" for token, t in tag(text if isinstance(text, str) else "", spans))
        documents.append(DOCSTART + lines + "\n")
    return "".join(documents).encode()
