"""Error codes of ingestion: each group where its codes are raised, and IngestionErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.consent.error_codes import ConsentImportCode
from app.errors import CommonErrorCode, error_codes
from app.ingestion.anonymize.custom import RuleCode
from app.json_bounds import JsonErrorCode


class ImportCode(enum.StrEnum):
    """Importing items and the anonymization policy."""

    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    DUPLICATE_CONTENT = "DUPLICATE_CONTENT"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
    EMPTY_BATCH = "EMPTY_BATCH"
    EXTERNAL_ID_EXISTS = "EXTERNAL_ID_EXISTS"
    INVALID_DATA = "INVALID_DATA"
    INVALID_EXTERNAL_ID = "INVALID_EXTERNAL_ID"
    INVALID_METADATA = "INVALID_METADATA"
    INVALID_PRIORITY = "INVALID_PRIORITY"
    TOO_LARGE = "TOO_LARGE"


IngestionErrorCode = error_codes(
    "IngestionErrorCode",
    "Importing items and the anonymization policy.",
    CommonErrorCode,
    JsonErrorCode,
    ImportCode,
    ConsentImportCode,
    RuleCode,
)
