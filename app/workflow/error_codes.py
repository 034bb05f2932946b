"""Error codes of workflow: each group where its codes are raised, and WorkflowErrorCode, the
enum of the area's payload errors in the SDL (tests/schema/test_error_codes.py keeps them complete)."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.expertise.error_codes import ClaimGateCode
from app.guidelines.error_codes import AcknowledgementCode
from app.json_bounds import JsonErrorCode
from app.taxonomy.error_codes import LabelSchemaCode


class TaskCode(enum.StrEnum):
    """The labeling loop: claims, leases, labels and reviews."""

    ALREADY_FINAL = "ALREADY_FINAL"
    ALREADY_SUBMITTED = "ALREADY_SUBMITTED"
    ASSIGNMENT_CANCELLED = "ASSIGNMENT_CANCELLED"  # its item was withdrawn: the subject revoked consent
    ITEM_WITHDRAWN = "ITEM_WITHDRAWN"  # its consent was revoked: nobody works on it any more
    INVALID_TRANSITION = "INVALID_TRANSITION"  # the item's lifecycle refuses the move (app/workflow/lifecycle.py)
    LEASE_EXPIRED = "LEASE_EXPIRED"
    NOT_ACTIVE = "NOT_ACTIVE"
    NOT_ASSIGNEE = "NOT_ASSIGNEE"
    NOT_ESCALATED = "NOT_ESCALATED"
    NOT_READY = "NOT_READY"
    NOT_REVIEWABLE = "NOT_REVIEWABLE"
    QUEUE_EMPTY = "QUEUE_EMPTY"
    RENEWAL_LIMIT = "RENEWAL_LIMIT"
    SELF_REVIEW = "SELF_REVIEW"
    UNEXPECTED = "UNEXPECTED"


WorkflowErrorCode = error_codes(
    "WorkflowErrorCode",
    "The labeling loop: claiming, labeling (values checked by the label-schema language), reviewing, "
    "renewing and releasing tasks.",
    CommonErrorCode,
    JsonErrorCode,
    TaskCode,
    ClaimGateCode,
    LabelSchemaCode,
    AcknowledgementCode,
)
