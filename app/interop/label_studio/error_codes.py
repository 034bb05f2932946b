"""Error codes of the Label Studio import: the config mapping's problems (ConfigCode, also the
dry run's), the import's own row codes, and LabelStudioImportErrorCode, the enum of the
importLabelStudio payload errors (tests/schema/test_error_codes.py keeps it complete)."""

from __future__ import annotations

import enum

from app.automation.error_codes import SuggestionCode
from app.consent.error_codes import ConsentImportCode
from app.errors import CommonErrorCode, error_codes
from app.ingestion.anonymize.custom import RuleCode
from app.ingestion.error_codes import ImportCode
from app.json_bounds import JsonErrorCode
from app.taxonomy.error_codes import LabelSchemaCode
from app.workflow.error_codes import TaskCode


class ConfigCode(enum.StrEnum):
    """What mapping a labeling config found: why the config cannot be read, or what of it is dropped."""

    INVALID_CONFIG = "INVALID_CONFIG"  # not XML, not a <View> root, a control without a name
    UNSAFE_XML = "UNSAFE_XML"  # a DTD or entity declaration (entity expansion): refused unread
    CONFIG_TOO_LARGE = "CONFIG_TOO_LARGE"
    NO_FIELDS = "NO_FIELDS"  # nothing of it maps to a field
    UNSUPPORTED_TAG = "UNSUPPORTED_TAG"  # a control Labelgraph has no kind for: dropped with its results
    UNKNOWN_TAG = "UNKNOWN_TAG"  # not a tag of Label Studio's we know: ignored
    UNSUPPORTED_TARGET = "UNSUPPORTED_TARGET"  # Labels not on a Text, RectangleLabels not on an Image
    UNSUPPORTED_ATTRIBUTE = "UNSUPPORTED_ATTRIBUTE"  # an attribute whose meaning is dropped (or makes the field so)
    PER_REGION = "PER_REGION"  # a per-region control (a choice about each box or span): dropped
    VISIBILITY_DROPPED = "VISIBILITY_DROPPED"  # a visibility rule: the field is kept, always asked, not required
    RENAMED = "RENAMED"  # the control's name is not a field name: the field is named otherwise
    INVALID_FIELD = "INVALID_FIELD"  # what it maps to fails the schema language's lint: dropped


class LabelStudioCode(enum.StrEnum):
    """Rows of a Label Studio export that cannot be imported as they are."""

    INVALID_TASK = "INVALID_TASK"  # not an object with an id and a data object
    INVALID_ANNOTATION = "INVALID_ANNOTATION"  # not an object with a result list
    INVALID_RESULT = "INVALID_RESULT"  # a region the control's kind cannot read
    UNKNOWN_CONTROL = "UNKNOWN_CONTROL"  # a result from a control the config does not have
    DUPLICATE_RESULT = "DUPLICATE_RESULT"  # two answers of a one-answer control in one annotation
    SPAN_TEXT_MISMATCH = "SPAN_TEXT_MISMATCH"  # the span's text is not the task's text at its offsets
    BOX_ROTATED = "BOX_ROTATED"  # a rotated rectangle: boxes are axis-aligned
    IMAGE_SIZE_CONFLICT = "IMAGE_SIZE_CONFLICT"  # two sizes of one task's image
    UNMAPPED_ANNOTATOR = "UNMAPPED_ANNOTATOR"  # completed_by matches no Labelgraph user
    UNKNOWN_USER = "UNKNOWN_USER"  # the mapping names no active user
    ANNOTATOR_CANNOT_LABEL = "ANNOTATOR_CANNOT_LABEL"  # the user may not label in this project
    DUPLICATE_ANNOTATOR = "DUPLICATE_ANNOTATOR"  # one person's two annotations of one task
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"  # the config's field is not the project schema's field of that kind
    ANONYMIZED_SPANS = "ANONYMIZED_SPANS"  # spans over text the project's anonymization rewrites


LabelStudioImportErrorCode = error_codes(
    "LabelStudioImportErrorCode",
    "Importing a Label Studio JSON export: its config, its tasks (as importItems' rows), annotations "
    "(values checked by the label-schema language) and predictions (as submitSuggestions' rows).",
    CommonErrorCode,
    JsonErrorCode,
    LabelSchemaCode,
    ImportCode,
    ConsentImportCode,
    RuleCode,
    SuggestionCode,
    TaskCode,
    ConfigCode,
    LabelStudioCode,
)
