"""Error codes of erasure and retention (ErasureErrorCode; tests/schema/test_error_codes.py keeps
it complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode


class ErasureCode(enum.StrEnum):
    """Erasing a subject or a person; a project's retention period."""

    ALREADY_ERASED = "ALREADY_ERASED"  # the person was erased before: the pseudonym stays as it is
    INVALID_SUBJECT_REF = "INVALID_SUBJECT_REF"  # not a pseudonym of the consent records' form
    SELF_ERASURE = "SELF_ERASURE"  # one does not erase oneself (it would end one's own account)


ErasureErrorCode = error_codes(
    "ErasureErrorCode",
    "Erasing a data subject's content or a person's name; a project's retention period.",
    CommonErrorCode,
    JsonErrorCode,
    ErasureCode,
)
