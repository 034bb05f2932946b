"""Error codes of auth: each group where its codes are raised, and TokenErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes


class TokenCode(enum.StrEnum):
    """Signing out: revoking refresh tokens."""

    NOTHING_TO_REVOKE = "NOTHING_TO_REVOKE"


TokenErrorCode = error_codes(
    "TokenErrorCode",
    "Signing out.",
    CommonErrorCode,
    TokenCode,
)
