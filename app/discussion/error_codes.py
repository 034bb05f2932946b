"""Error codes of discussion: its own group, and DiscussionErrorCode, the enum of the area's payload
errors in the SDL (tests/schema/test_error_codes.py keeps it complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.guidelines.error_codes import GuidelineCode, GuidelineContentCode
from app.json_bounds import JsonErrorCode


class DiscussionCode(enum.StrEnum):
    """Comments, replies, mentions, guideline references and promotion into the guideline draft."""

    COMMENT_DELETED = "COMMENT_DELETED"  # the comment named is a tombstone
    INVALID_MENTION = "INVALID_MENTION"  # no such person, or one who may not read the thread (the same answer)
    INVALID_PARENT = "INVALID_PARENT"  # a reply to a comment of another item
    INVALID_SOURCE = "INVALID_SOURCE"  # promotion names neither or both of a comment and a decision
    NOT_AUTHOR = "NOT_AUTHOR"  # only the author edits; the author or a moderator deletes
    NOT_EXPERT_DECISION = "NOT_EXPERT_DECISION"  # promotion of a decision that is not EXPERT_RESOLVED
    NOT_ON_ITEM = "NOT_ON_ITEM"  # the comment or decision belongs to another item
    TOO_MANY = "TOO_MANY"
    UNKNOWN_SECTION = "UNKNOWN_SECTION"  # a guideline reference to a section the guideline in force lacks


DiscussionErrorCode = error_codes(
    "DiscussionErrorCode",
    "Commenting on items, mentioning people, referring to the guideline and the label schema, and promoting "
    "a thread or an expert's rationale into the guideline draft.",
    CommonErrorCode,
    JsonErrorCode,
    DiscussionCode,
    GuidelineContentCode,
    GuidelineCode,
)
