"""The roles, their scope, and how subjects and domains are spelled for casbin."""

from __future__ import annotations

import enum
import uuid

ORG = "*"


class Role(enum.StrEnum):
    ADMIN = "admin"
    PROJECT_MANAGER = "project_manager"
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    QA_AUDITOR = "qa_auditor"
    EXPERT = "expert"
    COMPLIANCE_OFFICER = "compliance_officer"
    ML_SERVICE = "ml_service"
    INGESTION_SERVICE = "ingestion_service"
    METRICS = "metrics"  # a scraper's service account: GET /metrics and nothing else

    @property
    def subject(self) -> str:
        return f"role:{self.value}"

    @property
    def org_wide(self) -> bool:
        """Org roles are granted in domain "*" only; the others only in a project."""
        return self in {Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.INGESTION_SERVICE, Role.METRICS}

    @property
    def for_service_accounts(self) -> bool:
        return self in {Role.ML_SERVICE, Role.INGESTION_SERVICE, Role.METRICS}


def user_subject(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def domain(project_id: uuid.UUID | None) -> str:
    return ORG if project_id is None else f"project:{project_id}"


def project_of(domain_name: str) -> uuid.UUID | None:
    return None if domain_name == ORG else uuid.UUID(domain_name.removeprefix("project:"))
