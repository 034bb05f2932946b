"""Error codes of expertise (gold questions, qualification, suspensions): ExpertiseErrorCode in the SDL."""

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


class ClaimGateCode(enum.StrEnum):
    """Why a claim is refused before any item is looked at (WorkflowErrorCode carries them too)."""

    SUSPENDED = "SUSPENDED"  # the claimant's rolling gold accuracy fell under the project's floor
    CERTIFICATE_REQUIRED = "CERTIFICATE_REQUIRED"  # a certificate from another project is missing or expired
    QUALIFICATION_COOLDOWN = "QUALIFICATION_COOLDOWN"  # a failed qualification may be retried later
    QUALIFICATION_UNAVAILABLE = "QUALIFICATION_UNAVAILABLE"  # too few gold items left for the set


class QualificationCode(enum.StrEnum):
    NOT_ENOUGH_GOLD = "NOT_ENOUGH_GOLD"  # the qualification set needs more gold items than the project has
    UNKNOWN_FIELD = "UNKNOWN_FIELD"  # not a field of the schema in force
    SELF_REQUIREMENT = "SELF_REQUIREMENT"  # a project's own certificate is `required`, not a prerequisite
    DUPLICATE = "DUPLICATE"


ExpertiseErrorCode = error_codes(
    "ExpertiseErrorCode",
    "Gold questions, their policy, qualification and certification, and suspensions from claiming.",
    CommonErrorCode,
    JsonErrorCode,
    GoldCode,
    ClaimGateCode,
    QualificationCode,
    LabelSchemaCode,
)
