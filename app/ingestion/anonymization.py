"""The project's anonymization policy: reading it, and updateAnonymizationPolicy."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.compliance import audit
from app.errors import DomainError
from app.ingestion.anonymize import custom
from app.ingestion.anonymize.detectors import Kind
from app.ingestion.anonymize.policy import DuplicateContent, Policy
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project

UPDATE_ANONYMIZATION_POLICY = Operation(
    "updateAnonymizationPolicy", Permission("anonymization", "configure"), audit="anonymization.policy"
)


@dataclass(frozen=True)
class PolicyChange:
    """Fields left None keep their value; `custom_rules` replaces the whole list when given."""

    project_id: uuid.UUID
    enabled: bool | None = None
    detectors: Sequence[Kind] | None = None
    custom_rules: Sequence[custom.Rule] | None = None
    duplicate_content: DuplicateContent | None = None


def policy_of(project: Project) -> Policy:
    return Policy.of(project.anonymize, project.anonymization, project.duplicate_content)


def read_policy(actor: Actor, project: Project) -> Policy:
    """The policy of a project one can read; its rules can name people (a term list of client
    names), so it takes `anonymization read` (FORBIDDEN on the field otherwise)."""
    actor.require("anonymization", "read", project.id)
    return policy_of(project)


async def update_anonymization_policy(session: AsyncSession, actor: Actor, change: PolicyChange) -> Project:
    project = await find_project(session, actor, change.project_id, lock=True)
    UPDATE_ANONYMIZATION_POLICY.require(actor, project.id)
    before = policy_of(project)
    after = Policy(
        enabled=before.enabled if change.enabled is None else change.enabled,
        detectors=before.detectors if change.detectors is None else tuple(k for k in Kind if k in change.detectors),
        rules=before.rules if change.custom_rules is None else tuple(change.custom_rules),
        duplicate_content=change.duplicate_content or before.duplicate_content,
    )
    problems = custom.check(after.rules)
    if problems:
        raise DomainError(problems)
    # Compile now: a rule that checks but cannot be built is refused here, not at the next import.
    after.anonymizer()
    project.anonymize = after.enabled
    project.anonymization = after.settings_json()
    project.duplicate_content = after.duplicate_content
    changed = {name: value for name, value in _summary(after).items() if _summary(before)[name] != value}
    await audit.record(
        session,
        actor,
        UPDATE_ANONYMIZATION_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={"changed": changed, "before": {name: _summary(before)[name] for name in changed}},
    )
    await session.flush()
    return project


def _summary(policy: Policy) -> dict[str, Any]:
    """The policy as the audit log keeps it: patterns, but term lists only by their size (terms
    may be the very names the project hides)."""
    return {
        "enabled": policy.enabled,
        "detectors": [str(k) for k in policy.detectors],
        "customRules": [
            {"name": r.name, "pattern": r.pattern}
            if r.pattern is not None
            else {"name": r.name, "terms": len(r.terms or ())}
            for r in policy.rules
        ],
        "duplicateContent": str(policy.duplicate_content),
    }
