"""Error codes of guidelines: each group where its codes are raised, and GuidelineErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode


class GuidelineContentCode(enum.StrEnum):
    """What a guideline's definitions, examples, edge cases and decision tree may not be."""

    AMBIGUOUS_CLASS = "AMBIGUOUS_CLASS"
    DUPLICATE_ANSWER = "DUPLICATE_ANSWER"
    DUPLICATE_DEFINITION = "DUPLICATE_DEFINITION"
    DUPLICATE_EDGE_CASE = "DUPLICATE_EDGE_CASE"
    DUPLICATE_NODE = "DUPLICATE_NODE"
    INVALID_ANSWER = "INVALID_ANSWER"
    INVALID_CONTENT = "INVALID_CONTENT"
    TOO_MANY = "TOO_MANY"
    TREE_CYCLE = "TREE_CYCLE"
    UNKNOWN_CLASS = "UNKNOWN_CLASS"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_NODE = "UNKNOWN_NODE"
    UNREACHABLE_NODE = "UNREACHABLE_NODE"


class GuidelineCode(enum.StrEnum):
    """Drafting, publishing and acknowledging guideline versions."""

    NOT_IN_FORCE = "NOT_IN_FORCE"
    NO_DRAFT = "NO_DRAFT"
    UNKNOWN_ITEM = "UNKNOWN_ITEM"
    UNKNOWN_SOURCE = "UNKNOWN_SOURCE"  # an edge case's source comment or decision is not its item's


class AcknowledgementCode(enum.StrEnum):
    """Claims wait for the guideline in force to be acknowledged."""

    GUIDELINE_NOT_ACKNOWLEDGED = "GUIDELINE_NOT_ACKNOWLEDGED"


GuidelineErrorCode = error_codes(
    "GuidelineErrorCode",
    "Drafting, publishing and acknowledging guidelines, and what their content may not be.",
    CommonErrorCode,
    JsonErrorCode,
    GuidelineContentCode,
    GuidelineCode,
)
