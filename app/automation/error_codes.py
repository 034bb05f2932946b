"""Error codes of automation: pushing suggestions, the suggestion policy, heuristic rules
(AutomationErrorCode). tests/schema/test_error_codes.py keeps them complete."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode
from app.taxonomy.error_codes import LabelSchemaCode


class SuggestionCode(enum.StrEnum):
    """A push of suggestions and the model it names."""

    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"  # the same item twice in one push
    EMPTY_BATCH = "EMPTY_BATCH"
    INVALID_ITEM_REF = "INVALID_ITEM_REF"  # neither or both of itemId and externalId
    INVALID_MODEL_NAME = "INVALID_MODEL_NAME"
    INVALID_MODEL_VERSION = "INVALID_MODEL_VERSION"
    ITEM_ERASED = "ITEM_ERASED"  # its content was erased: nothing more is written about it
    MODEL_KIND = "MODEL_KIND"  # the name is a built-in or heuristic model's: not pushed from outside


class HeuristicCode(enum.StrEnum):
    """A project's heuristic rules."""

    DUPLICATE_NAME = "DUPLICATE_NAME"
    INVALID_ITEM_FIELD = "INVALID_ITEM_FIELD"
    INVALID_KEYWORD = "INVALID_KEYWORD"
    INVALID_NAME = "INVALID_NAME"
    INVALID_RULE = "INVALID_RULE"  # neither or both of pattern and keywords
    MATCHES_EMPTY = "MATCHES_EMPTY"
    NOT_SINGLE_CHOICE = "NOT_SINGLE_CHOICE"  # a rule maps to a class of a single-choice field
    PATTERN_TOO_LONG = "PATTERN_TOO_LONG"
    TOO_MANY_KEYWORDS = "TOO_MANY_KEYWORDS"
    TOO_MANY_RULES = "TOO_MANY_RULES"
    UNSUPPORTED_PATTERN = "UNSUPPORTED_PATTERN"


class LabelIssueCode(enum.StrEnum):
    """Label-issue detection (detectLabelIssues)."""

    NOT_SINGLE_CHOICE = "NOT_SINGLE_CHOICE"  # the field is not single-choice (or the schema has none)
    ONE_CLASS = "ONE_CLASS"  # fewer than 2 classes with at least 2 decided items each
    TOO_FEW_DECIDED = "TOO_FEW_DECIDED"  # fewer decided items (with text, covered by the model) than the minimum
    UNKNOWN_FIELD = "UNKNOWN_FIELD"  # no such field in the label schema in force
    UNKNOWN_MODEL = "UNKNOWN_MODEL"  # no such model, or version, in the project


AutomationErrorCode = error_codes(
    "AutomationErrorCode",
    "Pushing model suggestions (values checked by the label-schema language), the project's suggestion "
    "policy, its heuristic rules and label-issue detection.",
    CommonErrorCode,
    JsonErrorCode,
    LabelSchemaCode,
    SuggestionCode,
    HeuristicCode,
    LabelIssueCode,
)
