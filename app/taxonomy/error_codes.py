"""Error codes of taxonomy: each group where its codes are raised, and TaxonomyErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode


class LabelSchemaCode(enum.StrEnum):
    """What the label-schema language refuses: in a schema (lint) or in a value (validation)."""

    CYCLIC_TAXONOMY = "CYCLIC_TAXONOMY"
    DUPLICATE_CLASS = "DUPLICATE_CLASS"
    DUPLICATE_FIELD = "DUPLICATE_FIELD"
    EMPTY_BOX = "EMPTY_BOX"
    EMPTY_SPAN = "EMPTY_SPAN"
    EXCLUSIVE_SIBLINGS = "EXCLUSIVE_SIBLINGS"
    INCONSISTENT_HIERARCHY = "INCONSISTENT_HIERARCHY"
    INVALID_BOUNDS = "INVALID_BOUNDS"
    INVALID_CLASSES = "INVALID_CLASSES"
    INVALID_NAME = "INVALID_NAME"
    INVALID_PATTERN = "INVALID_PATTERN"
    INVALID_RULE = "INVALID_RULE"
    INVALID_SCHEMA = "INVALID_SCHEMA"
    INVALID_TREE = "INVALID_TREE"
    INVALID_VALUE = "INVALID_VALUE"
    MISSING_IMAGE_SIZE = "MISSING_IMAGE_SIZE"
    MISSING_SOURCE = "MISSING_SOURCE"
    OVERLAP = "OVERLAP"
    PATTERN_MISMATCH = "PATTERN_MISMATCH"
    RULE_EXCLUDES = "RULE_EXCLUDES"
    RULE_REQUIRES = "RULE_REQUIRES"
    TOO_FEW = "TOO_FEW"
    TOO_MANY = "TOO_MANY"
    UNKNOWN_CLASS = "UNKNOWN_CLASS"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    UNSUPPORTED_PATTERN = "UNSUPPORTED_PATTERN"
    WRONG_KIND = "WRONG_KIND"


class MappingCode(enum.StrEnum):
    """What a schema change's class and field mappings refuse."""

    DUPLICATE_TARGET = "DUPLICATE_TARGET"
    INVALID_MAPPING = "INVALID_MAPPING"
    KIND_CHANGED = "KIND_CHANGED"
    NOT_CLASSED = "NOT_CLASSED"
    UNKNOWN_CLASS = "UNKNOWN_CLASS"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"


class SchemaChangeCode(enum.StrEnum):
    """Governing a schema change: proposals and their decisions."""

    INVALID_RANGE = "INVALID_RANGE"
    NOT_PENDING = "NOT_PENDING"
    NOT_PROPOSER = "NOT_PROPOSER"
    NO_CHANGE = "NO_CHANGE"
    SELF_APPROVAL = "SELF_APPROVAL"
    STALE_BASE = "STALE_BASE"


TaxonomyErrorCode = error_codes(
    "TaxonomyErrorCode",
    "Proposing, deciding and assessing label-schema changes.",
    CommonErrorCode,
    JsonErrorCode,
    LabelSchemaCode,
    MappingCode,
    SchemaChangeCode,
)
