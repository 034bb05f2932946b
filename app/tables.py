"""Every table, imported once so the metadata (and Alembic) sees the whole schema."""

from app.access.models import AccessEvent, AccessResource
from app.audits.models import AuditFinding, QaAudit
from app.auth.models import AccountChange, AccountToken, LoginThrottle, RefreshToken, SigningKey, User
from app.automation.models import (
    LabelIssue,
    LabelIssueRun,
    Model,
    ModelVersion,
    SpotCheck,
    Suggestion,
    SuggestionExposure,
)
from app.automation.training_models import ItemUncertainty, TrainingRun
from app.compliance.models import AuditEvent
from app.consent.models import ConsentRecord, ConsentRevocation
from app.discussion.models import Comment, CommentMention
from app.erasure.models import ErasureRequest
from app.events.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from app.expertise.models import (
    Certificate,
    CertificateRequirement,
    GoldAnswer,
    GoldResponse,
    QualificationAttempt,
    Suspension,
)
from app.guidelines.models import GuidelineAcknowledgement, GuidelineVersion
from app.ingestion.models import Item
from app.lineage.models import DatasetSnapshot, DatasetSnapshotItem
from app.policies.models import CasbinRule
from app.projects.models import Project
from app.sso.models import ExternalIdentity, IdentityProvider, OidcLogin
from app.taxonomy.models import LabelSchemaVersion, SchemaChangeRequest
from app.workflow.models import Assignment, Decision, DecisionLabel, Escalation, Label, QualityModel, Review

__all__ = [
    "AccessEvent",
    "AccessResource",
    "AccountChange",
    "AccountToken",
    "Assignment",
    "AuditEvent",
    "AuditFinding",
    "CasbinRule",
    "Certificate",
    "CertificateRequirement",
    "Comment",
    "CommentMention",
    "ConsentRecord",
    "ConsentRevocation",
    "DatasetSnapshot",
    "DatasetSnapshotItem",
    "Decision",
    "DecisionLabel",
    "ErasureRequest",
    "Escalation",
    "Event",
    "ExternalIdentity",
    "GoldAnswer",
    "GoldResponse",
    "GuidelineAcknowledgement",
    "GuidelineVersion",
    "IdentityProvider",
    "Item",
    "ItemUncertainty",
    "Label",
    "LabelIssue",
    "LabelIssueRun",
    "LabelSchemaVersion",
    "LoginThrottle",
    "Model",
    "ModelVersion",
    "OidcLogin",
    "Project",
    "QaAudit",
    "QualificationAttempt",
    "QualityModel",
    "RefreshToken",
    "Review",
    "SchemaChangeRequest",
    "SigningKey",
    "SpotCheck",
    "Suggestion",
    "SuggestionExposure",
    "Suspension",
    "TrainingRun",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
