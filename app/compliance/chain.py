"""The audit log's hash chain and its signed checkpoints: pure functions, no database.

Encoding, format version 1 (never changed in place; a new format gets a new version number):

    encoding(e) = JSON array, no whitespace, non-ASCII escaped as \\uXXXX (so the bytes are ASCII):
        [1, seq, occurred_at, actor_id, actor_kind, action, entity_type, entity_id, project_id,
         input_digest]
    occurred_at = UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always six fraction digits)
    actor_id, project_id = lowercase hyphenated UUID, or null
    hash(e) = hex(SHA-256(bytes.fromhex(prev_hash) || encoding(e)))
    prev_hash of seq 1 = 64 zeros (GENESIS); of seq n > 1 = hash of seq n - 1

Only pseudonymous ids and fixed vocabulary are hashed. `details` is not: it may hold free text
(a project's name, a changelog, a decision note) that erasure will rewrite, and the chain must
survive that. What was asked is covered by `input_digest`.

A checkpoint is the head (seq, hash) at a moment, signed with HMAC-SHA256 under the audit key:

    {"format": "labelgraph-audit-checkpoint/1", "seq": n, "hash": "<hex>",
     "created_at": "<occurred_at format>", "mac": hex(HMAC-SHA256(key, payload))}
    payload = canonical JSON (sorted keys, no whitespace) of the object without "mac"
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

FORMAT_VERSION = 1
GENESIS = "0" * 64
CHECKPOINT_FORMAT = "labelgraph-audit-checkpoint/1"


@dataclass(slots=True)  # not frozen: a frozen init costs more than the hash when verifying
class Link:
    """What the chain covers of one event, as stored."""

    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_kind: str
    action: str
    entity_type: str
    entity_id: str
    project_id: uuid.UUID | None
    input_digest: str
    prev_hash: str = GENESIS
    hash: str = ""


def timestamp(value: datetime) -> str:
    """UTC with microseconds; a naive value is taken as UTC (as SQLite hands some back)."""
    utc = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def _uuid(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def encoding(link: Link) -> bytes:
    fields = [
        FORMAT_VERSION,
        link.seq,
        timestamp(link.occurred_at),
        _uuid(link.actor_id),
        link.actor_kind,
        link.action,
        link.entity_type,
        link.entity_id,
        _uuid(link.project_id),
        link.input_digest,
    ]
    return _ENCODER.encode(fields).encode("ascii")


# One encoder for every link: json.dumps with arguments builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def link_hash(prev_hash: str, link: Link) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + encoding(link)).hexdigest()


class Reason(StrEnum):
    """Why a link is broken, as `verify` reports it."""

    HASH_MISMATCH = "HASH_MISMATCH"  # the stored hash is not the hash of the stored fields
    PREV_MISMATCH = "PREV_MISMATCH"  # prev_hash is not the previous event's hash
    GAP = "GAP"  # a seq is missing before this one
    SEQ_ORDER = "SEQ_ORDER"  # a seq repeats
    TIME_ORDER = "TIME_ORDER"  # occurred_at is earlier than the previous event's
    TRUNCATED = "TRUNCATED"  # the checkpoint's head seq is beyond the log's head
    CHECKPOINT_MISMATCH = "CHECKPOINT_MISMATCH"  # the event at the checkpoint's seq has another hash


DESCRIPTIONS = {
    Reason.HASH_MISMATCH: "hash mismatch: the stored hash is not the hash of the event's fields",
    Reason.PREV_MISMATCH: "prev mismatch: prev_hash is not the previous event's hash",
    Reason.GAP: "gap: the event before it is missing",
    Reason.SEQ_ORDER: "seq order: another event already has this seq",
    Reason.TIME_ORDER: "time order: occurred_at is earlier than the previous event's",
    Reason.TRUNCATED: "truncated: the log ends before the checkpoint's head",
    Reason.CHECKPOINT_MISMATCH: "checkpoint mismatch: the event at the checkpoint's seq has another hash",
}


@dataclass(frozen=True)
class Broken:
    seq: int
    reason: Reason

    def describe(self) -> str:
        return f"seq {self.seq}: {DESCRIPTIONS[self.reason]}"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: datetime


class CheckpointError(ValueError):
    """A checkpoint that is not well-formed or whose signature does not hold."""


class Verifier:
    """Walks the log in seq order, one row at a time (callers feed it in batches): memory stays
    constant however long the log is. The first broken link is kept; later rows are not checked."""

    def __init__(self, checkpoint: Checkpoint | None = None) -> None:
        self.checkpoint = checkpoint
        self.checked = 0
        self.head_seq = 0
        self.head_hash = GENESIS
        self._head_time: datetime | None = None
        self.broken: Broken | None = None

    def feed(self, links: Iterable[Link]) -> bool:
        """Links in seq order; False once one is broken (stop reading)."""
        return all(self._check(link) for link in links)

    def _check(self, link: Link) -> bool:
        expected_seq = self.head_seq + 1
        reason: Reason | None = None
        if link.seq > expected_seq:
            reason = Reason.GAP
        elif link.seq < expected_seq:  # a repeated seq (only once the unique index is gone)
            reason = Reason.SEQ_ORDER
        elif link.prev_hash != self.head_hash:
            reason = Reason.PREV_MISMATCH
        elif link_hash(link.prev_hash, link) != link.hash:
            reason = Reason.HASH_MISMATCH
        elif self._head_time is not None and link.occurred_at < self._head_time:
            reason = Reason.TIME_ORDER
        elif self.checkpoint is not None and link.seq == self.checkpoint.seq and link.hash != self.checkpoint.hash:
            reason = Reason.CHECKPOINT_MISMATCH
        if reason is not None:
            self.broken = Broken(expected_seq if reason is Reason.GAP else link.seq, reason)
            return False
        self.checked += 1
        self.head_seq, self.head_hash = link.seq, link.hash
        self._head_time = link.occurred_at
        return True

    def finish(self) -> Broken | None:
        """The first broken link, after the last row: with a checkpoint, a log that ends before it."""
        if self.broken is None and self.checkpoint is not None and self.head_seq < self.checkpoint.seq:
            self.broken = Broken(self.head_seq + 1, Reason.TRUNCATED)
        return self.broken


def _payload(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_checkpoint(checkpoint: Checkpoint, key: bytes) -> str:
    """The checkpoint as one line of JSON, with its HMAC-SHA256."""
    fields: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "created_at": timestamp(checkpoint.created_at),
    }
    fields["mac"] = hmac.new(key, _payload(fields), hashlib.sha256).hexdigest()
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def read_checkpoint(text: str, key: bytes) -> Checkpoint:
    """The checkpoint a signed text holds; CheckpointError when it is malformed or its MAC fails."""
    try:
        fields = json.loads(text)
    except ValueError:
        raise CheckpointError("the checkpoint is not JSON") from None
    if not isinstance(fields, dict) or fields.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"the checkpoint is not a {CHECKPOINT_FORMAT} object")
    mac = fields.pop("mac", None)
    if set(fields) != {"format", "seq", "hash", "created_at"} or not isinstance(mac, str):
        raise CheckpointError("the checkpoint's fields are not format, seq, hash, created_at and mac")
    expected = hmac.new(key, _payload(fields), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        raise CheckpointError("the checkpoint's signature does not match (another key, or it was edited)")
    seq, head, created = fields["seq"], fields["hash"], fields["created_at"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise CheckpointError("the checkpoint's seq is not a count")
    if not isinstance(head, str) or len(head) != len(GENESIS):
        raise CheckpointError("the checkpoint's hash is not a SHA-256")
    try:
        created_at = datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise CheckpointError("the checkpoint's created_at is not a timestamp") from None
    return Checkpoint(seq, head, created_at)
