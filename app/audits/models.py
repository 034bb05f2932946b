"""QA audits: a second look at decided items, after the annotators and the reviewer.

An item enters the audit queue when a decision is recorded and the project's audit policy picks
it (a seeded sample, low confidence, a high-impact or rare class, an expert's decision) or when
something flags it later. One audit is pending per decision in force: a new decision version
supersedes a pending audit of the old one. An auditor claims an audit (a lease), then confirms
the decision or overturns it (a new decision version), with findings per (field, class).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.columns import enum_field, json_field
from app.ids import new_id


class AuditReason(enum.StrEnum):
    SAMPLED = "SAMPLED"  # in the project's seeded audit sample (auditRate)
    LOW_CONFIDENCE = "LOW_CONFIDENCE"  # decided under auditBelowConfidence
    HIGH_IMPACT_CLASS = "HIGH_IMPACT_CLASS"  # gives one of highImpactClasses
    RARE_CLASS = "RARE_CLASS"  # gives a class whose share of the decisions is under rareClassShare
    EXPERT_DECISION = "EXPERT_DECISION"  # an expert decided it (auditExpertDecisions)
    FLAGGED = "FLAGGED"  # flagged after the fact (label-issue detection)


class AuditStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for, or held by, an auditor
    DONE = "DONE"  # the auditor gave its verdict
    SUPERSEDED = "SUPERSEDED"  # a new decision replaced the one it was to audit
    ESCALATED = "ESCALATED"  # its auditor sent the item to an expert instead


class AuditVerdict(enum.StrEnum):
    CONFIRM = "CONFIRM"
    OVERTURN = "OVERTURN"


class FindingKind(enum.StrEnum):
    WRONG_CLASS = "WRONG_CLASS"  # the decision gives this class and should not
    MISSED_CLASS = "MISSED_CLASS"  # the decision lacks this class
    BOUNDARY = "BOUNDARY"  # the class is right, its extent (span, box, rating step) is not
    GUIDELINE_UNCLEAR = "GUIDELINE_UNCLEAR"  # the guideline does not settle this class here
    OTHER = "OTHER"


class QaAudit(SQLModel, table=True):
    __tablename__ = "qa_audit"
    __table_args__ = (
        Index("ix_qa_audit_queue", "project_id", "status", "id"),
        Index("ix_qa_audit_item", "item_id"),
        # One pending audit per item: the one of its decision in force.
        Index(
            "uq_qa_audit_pending",
            "item_id",
            unique=True,
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    item_id: uuid.UUID = Field(foreign_key="item.id")
    decision_id: uuid.UUID = Field(foreign_key="decision.id")
    decision_version: int
    # AuditReason values, in the order of the enum.
    reasons: list[str] = json_field(default=[])
    # What flagged it, for FLAGGED (the detector's words).
    reason_detail: str = Field(default="")
    status: AuditStatus = enum_field(AuditStatus, default=AuditStatus.PENDING)
    created_at: datetime = Field(default_factory=utcnow)
    claimed_by: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    lease_expires_at: datetime | None = None
    verdict: AuditVerdict | None = enum_field(AuditVerdict, nullable=True)
    comment: str = Field(default="")
    completed_at: datetime | None = None
    # The decision an overturn recorded.
    result_decision_id: uuid.UUID | None = Field(default=None, foreign_key="decision.id")


class AuditFinding(SQLModel, table=True):
    """What an auditor found, per (field, class) of the audited item."""

    __tablename__ = "qa_audit_finding"

    audit_id: uuid.UUID = Field(foreign_key="qa_audit.id", primary_key=True)
    field: str = Field(primary_key=True, max_length=200)
    # The class as canonical JSON ("\"neg\"", "3"); "null" for a field without classes.
    class_value: str = Field(primary_key=True, max_length=1000)
    kind: FindingKind = enum_field(FindingKind)
