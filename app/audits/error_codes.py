"""Error codes of audits: the QA audit queue, verdicts and escalations from reviewers and auditors,
and AuditErrorCode, the enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py
keeps it complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode
from app.taxonomy.error_codes import LabelSchemaCode


class AuditCode(enum.StrEnum):
    """Claiming and submitting audits, flagging items, escalating to an expert."""

    INVALID_TRANSITION = "INVALID_TRANSITION"  # the item's lifecycle refuses the move (escalateItem)
    INVALID_VALUE = "INVALID_VALUE"  # a finding or overturn that does not fit the schema or the decision
    NOT_ASSIGNEE = "NOT_ASSIGNEE"  # another auditor holds this audit
    NOT_CLAIMED = "NOT_CLAIMED"  # you hold no audit of this item
    NOT_DECIDED = "NOT_DECIDED"  # flagging an item that has no decision in force
    QUEUE_EMPTY = "QUEUE_EMPTY"
    SELF_REVIEW = "SELF_REVIEW"  # you labeled, reviewed or decided this item
    STALE = "STALE"  # the decision you were auditing was superseded meanwhile
    UNEXPECTED = "UNEXPECTED"  # a value with CONFIRM


AuditErrorCode = error_codes(
    "AuditErrorCode",
    "QA audits and escalations: claiming and submitting audits (overturn values checked by the "
    "label-schema language), escalating an item to an expert.",
    CommonErrorCode,
    JsonErrorCode,
    AuditCode,
    LabelSchemaCode,
)
