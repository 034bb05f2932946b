"""Error codes of policies: each group where its codes are raised, and RoleErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes


class RoleCode(enum.StrEnum):
    """Granting and revoking roles."""

    ALREADY_GRANTED = "ALREADY_GRANTED"
    NOT_GRANTED = "NOT_GRANTED"
    SELF_GRANT = "SELF_GRANT"
    WRONG_IDENTITY_KIND = "WRONG_IDENTITY_KIND"
    WRONG_SCOPE = "WRONG_SCOPE"


RoleErrorCode = error_codes(
    "RoleErrorCode",
    "Granting and revoking roles.",
    CommonErrorCode,
    RoleCode,
)
