"""Error codes of projects: each group where its codes are raised, and ProjectErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.guidelines.error_codes import GuidelineContentCode
from app.json_bounds import JsonErrorCode
from app.taxonomy.error_codes import LabelSchemaCode


class ProjectCode(enum.StrEnum):
    """Creating projects."""

    INVALID_NAME = "INVALID_NAME"
    NAME_TAKEN = "NAME_TAKEN"
    UNKNOWN_ITEM = "UNKNOWN_ITEM"


ProjectErrorCode = error_codes(
    "ProjectErrorCode",
    "Creating projects with their first label schema and guideline.",
    CommonErrorCode,
    JsonErrorCode,
    ProjectCode,
    LabelSchemaCode,
    GuidelineContentCode,
)
