"""Error codes of expertise (gold questions, suspensions): ExpertiseErrorCode in the SDL."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode
from app.taxonomy.error_codes import LabelSchemaCode


class GoldCode(enum.StrEnum):
    ALREADY_LABELED = "ALREADY_LABELED"  # an item with labels or a decision cannot become gold
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    EMPTY_BATCH = "EMPTY_BATCH"
    NOT_SUSPENDED = "NOT_SUSPENDED"
    SUSPENDED = "SUSPENDED"  # raised to a claim (WorkflowErrorCode carries it too)


ExpertiseErrorCode = error_codes(
    "ExpertiseErrorCode",
    "Gold questions, their policy, and suspensions from claiming.",
    CommonErrorCode,
    JsonErrorCode,
    GoldCode,
    LabelSchemaCode,
)
