"""Time-ordered UUIDs (version 7): ids sort by creation, so "oldest first" is "smallest id first"
and keyset pages and queue order need no extra sequence column."""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same (or an earlier) millisecond: bump a 12-bit counter to stay monotonic.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms, _counter = ms, 0
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def encode_global_id(type_name: str, pk: uuid.UUID) -> str:
    """The API's opaque id of an object: unpadded url-safe base64 of "Type:uuid"."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_global_id(value: str) -> tuple[str, uuid.UUID] | None:
    """(type name, uuid) of a global id; None for anything that is not one."""
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, uuid.UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def id_from_path(raw: str, type_name: str) -> uuid.UUID | None:
    """A URL path segment naming an object: its global id, or its bare UUID."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        decoded = decode_global_id(raw)
        return decoded[1] if decoded and decoded[0] == type_name else None
