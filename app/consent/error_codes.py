"""Error codes of consent: recording, revoking and the consent policy (ConsentErrorCode), and the
import's per-row consent checks (ConsentImportCode, composed into IngestionErrorCode).
tests/schema/test_error_codes.py keeps them complete."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode


class RecordCode(enum.StrEnum):
    """Recording and revoking consent, and a project's consent policy."""

    ALREADY_REVOKED = "ALREADY_REVOKED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    DUPLICATE_PURPOSE = "DUPLICATE_PURPOSE"
    EMPTY_BATCH = "EMPTY_BATCH"
    INVALID_JURISDICTION = "INVALID_JURISDICTION"
    INVALID_PURPOSE = "INVALID_PURPOSE"
    INVALID_SUBJECT_REF = "INVALID_SUBJECT_REF"
    UNKNOWN_PURPOSE = "UNKNOWN_PURPOSE"


class ConsentImportCode(enum.StrEnum):
    """An imported item's consent, in a project that requires it."""

    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_MISSING = "CONSENT_MISSING"
    CONSENT_NOT_FOUND = "CONSENT_NOT_FOUND"
    CONSENT_PURPOSE = "CONSENT_PURPOSE"  # the record does not list `annotation`
    CONSENT_REVOKED = "CONSENT_REVOKED"


ConsentErrorCode = error_codes(
    "ConsentErrorCode",
    "Recording and revoking consent; a project's consent policy.",
    CommonErrorCode,
    JsonErrorCode,
    RecordCode,
)
