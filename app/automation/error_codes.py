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


class TrainingCode(enum.StrEnum):
    """Why the built-in model could not be trained: classifier.TrainingCode's members, repeated here
    so the schema does not import scikit-learn at start-up (tests/automation/test_training.py
    holds the two equal)."""

    LENGTH_MISMATCH = "LENGTH_MISMATCH"
    NO_CLASSES = "NO_CLASSES"
    UNKNOWN_CLASS = "UNKNOWN_CLASS"
    TOO_FEW_CLASSES = "TOO_FEW_CLASSES"  # fewer than 2 classes have decided items
    TOO_FEW_EXAMPLES = "TOO_FEW_EXAMPLES"  # a class has decided items, but fewer than 2
    EMPTY_VOCABULARY = "EMPTY_VOCABULARY"  # the items' texts hold no word or character n-gram


class LearningCode(enum.StrEnum):
    """Training the built-in model and the active-learning policy (app/automation/training.py)."""

    NO_SINGLE_CHOICE_FIELD = "NO_SINGLE_CHOICE_FIELD"  # the schema in force has none to train
    TRAINING_FORBIDDEN = "TRAINING_FORBIDDEN"  # a background retrain whose owner may no longer train
    STORE_FAILED = "STORE_FAILED"  # a background retrain's write failed (the message says why): nothing of it stands


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
    "policy, its heuristic rules, training the built-in model (TrainingCode), the active-learning policy and "
    "label-issue detection.",
    CommonErrorCode,
    JsonErrorCode,
    LabelSchemaCode,
    SuggestionCode,
    HeuristicCode,
    TrainingCode,
    LearningCode,
    LabelIssueCode,
)
