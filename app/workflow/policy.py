"""A project's quality policy: how many labels an item gets, how they are aggregated, when the
aggregation may decide alone, what a reviewer sees and when an expert takes over.

    overlap            labels every item gets to start with (k)
    maxOverlap         at most this many (k_max): dynamic overlap adds one at a time
    method             MAJORITY, WEIGHTED (annotator reliability) or DAWID_SKENE
    acceptConfidence   an item whose aggregated confidence reaches it is decided; below it, it
                       gets another label, and at k_max it is escalated to an expert
    reviewRate         share of decided items sent to a reviewer (a sample seeded per project)
    reviewBelowConfidence  every item decided under this confidence is reviewed as well
    auditRate, auditBelowConfidence, highImpactClasses, rareClassShare, auditExpertDecisions
                       which decisions a QA auditor sees afterwards (app/audits/rules.py)
    labelIssuesTop     how many ranked label issues a detectLabelIssues run flags for audit by
                       default (app/automation/detection.py)
    autoAcceptConfidence, spotCheckRate, autoAcceptFloor, autoAcceptMinChecks, autoAcceptEnabled
                       when a model's confident suggestion decides an unlabeled item, and when that
                       turns itself off (app/automation/auto_accept.py)

The defaults (k = k_max, acceptConfidence 0, reviewRate 1) are the classic loop: k labels, then a
reviewer decides every item. Set by a project_manager or admin (updateQualityPolicy), audited.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audits import rules
from app.auth.actor import Actor
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import MAX_OVERLAP, active_schema
from app.quality.consensus import FieldModel, Proposal, propose_majority, propose_modelled
from app.workflow.models import AggregationMethod, Label

UPDATE_QUALITY_POLICY = Operation("updateQualityPolicy", Permission("quality", "configure"), audit="quality.policy")

MAX_REFRESH_EVERY = 1_000_000
MAX_LABEL_ISSUES_TOP = 1_000  # items one detection run may flag for audit
MAX_AUTO_ACCEPT_MIN_CHECKS = 1_000_000


@dataclass(frozen=True)
class QualityPolicy:
    overlap: int
    max_overlap: int
    method: AggregationMethod
    accept_confidence: float
    review_rate: float
    review_below_confidence: float
    refresh_every: int
    audit_rate: float = 0.0
    audit_below_confidence: float = 0.0
    high_impact_classes: dict[str, Any] = field(default_factory=dict)
    rare_class_share: float = 0.0
    audit_expert_decisions: bool = False
    label_issues_top: int = 20
    # Auto-accept (app/automation/auto_accept.py).
    auto_accept_confidence: dict[str, Any] = field(default_factory=dict)
    spot_check_rate: float = 0.1
    auto_accept_floor: float = 0.9
    auto_accept_min_checks: int = 20


def of(project: Project) -> QualityPolicy:
    return QualityPolicy(
        overlap=project.overlap,
        max_overlap=project.max_overlap,
        method=project.aggregation,
        accept_confidence=project.accept_confidence,
        review_rate=project.review_rate,
        review_below_confidence=project.review_below_confidence,
        refresh_every=project.refresh_every,
        audit_rate=project.audit_rate,
        audit_below_confidence=project.audit_below_confidence,
        high_impact_classes=dict(project.high_impact_classes or {}),
        rare_class_share=project.rare_class_share,
        audit_expert_decisions=project.audit_expert_decisions,
        label_issues_top=project.label_issues_top,
        auto_accept_confidence=dict(project.auto_accept_confidence or {}),
        spot_check_rate=project.spot_check_rate,
        auto_accept_floor=project.auto_accept_floor,
        auto_accept_min_checks=project.auto_accept_min_checks,
    )


def sampled_for_review(project: Project, item_id: uuid.UUID) -> bool:
    """Whether the item falls in the project's review sample: a uniform draw in [0, 1) fixed by the
    project's seed and the item's id, so the same item always gets the same answer."""
    if project.review_rate >= 1.0:
        return True
    digest = hashlib.blake2b(f"{project.review_seed}:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < project.review_rate


async def propose(
    session: AsyncSession, project: Project, labels: list[Label], values: list[dict[str, Any]]
) -> Proposal:
    """The project's aggregation over one item's labels (values already in the schema in force)."""
    if project.aggregation is AggregationMethod.MAJORITY:
        return propose_majority(values)
    from app.workflow import estimates  # estimates re-decides through decisions, which settles through here

    return propose_with(project, labels, values, await estimates.load(session, project))


def propose_with(
    project: Project, labels: list[Label], values: list[dict[str, Any]], models: Mapping[str, FieldModel]
) -> Proposal:
    """As `propose`, with the estimates given. Until the first estimate exists, plurality vote."""
    if project.aggregation is AggregationMethod.MAJORITY or not models:
        return propose_majority(values)
    pairs = [(str(label.author_id), value) for label, value in zip(labels, values, strict=True)]
    return propose_modelled(pairs, models, project.aggregation.value)


@dataclass(frozen=True)
class PolicyChange:
    project_id: uuid.UUID
    overlap: int | None = None
    max_overlap: int | None = None
    method: AggregationMethod | None = None
    accept_confidence: float | None = None
    review_rate: float | None = None
    review_below_confidence: float | None = None
    refresh_every: int | None = None
    audit_rate: float | None = None
    audit_below_confidence: float | None = None
    high_impact_classes: dict[str, Any] | None = None
    rare_class_share: float | None = None
    audit_expert_decisions: bool | None = None
    label_issues_top: int | None = None
    auto_accept_confidence: dict[str, Any] | None = None
    spot_check_rate: float | None = None
    auto_accept_floor: float | None = None
    auto_accept_min_checks: int | None = None
    # True turns auto-accept on again after it turned itself off (or was paused); False pauses it
    # with its thresholds kept. Not a stored policy field: it sets or clears the turn-off.
    auto_accept_enabled: bool | None = None


async def update_policy(session: AsyncSession, actor: Actor, change: PolicyChange) -> Project:
    """Change the fields given; the rest keep their values. Items already queued keep the labels
    they were asked for; the new overlap applies to items imported from now on, the other settings
    to every item settled from now on."""
    from app.automation import auto_accept  # it decides through decisions, which settle through here

    project = await find_project(session, actor, change.project_id, lock=True)
    UPDATE_QUALITY_POLICY.require(actor, project.id)
    before = of(project)
    given = {
        f.name: getattr(change, f.name) for f in fields(change) if f.name not in ("project_id", "auto_accept_enabled")
    }
    given = {name: value for name, value in given.items() if value is not None}
    after = replace(before, **given)
    problems = _check(after)
    if "high_impact_classes" in given:
        schema = await active_schema(session, project)
        problems.extend(rules.check_high_impact(after.high_impact_classes, schema.schema))
    if "auto_accept_confidence" in given:
        schema = await active_schema(session, project)
        problems.extend(auto_accept.check_thresholds(after.auto_accept_confidence, schema.schema))
    if problems:
        raise DomainError(problems)
    was_on = auto_accept.enabled(project)
    project.overlap = after.overlap
    project.max_overlap = after.max_overlap
    project.aggregation = after.method
    project.accept_confidence = after.accept_confidence
    project.review_rate = after.review_rate
    project.review_below_confidence = after.review_below_confidence
    project.refresh_every = after.refresh_every
    project.audit_rate = after.audit_rate
    project.audit_below_confidence = after.audit_below_confidence
    project.high_impact_classes = dict(after.high_impact_classes)
    project.rare_class_share = after.rare_class_share
    project.audit_expert_decisions = after.audit_expert_decisions
    project.label_issues_top = after.label_issues_top
    project.auto_accept_confidence = {k: float(v) for k, v in after.auto_accept_confidence.items()}
    project.spot_check_rate = after.spot_check_rate
    project.auto_accept_floor = after.auto_accept_floor
    project.auto_accept_min_checks = after.auto_accept_min_checks
    if change.auto_accept_enabled is True:
        project.auto_accept_off_at = None
        project.auto_accept_off_reason = ""
    elif change.auto_accept_enabled is False and project.auto_accept_off_at is None:
        project.auto_accept_off_at = utcnow()
        project.auto_accept_off_reason = "Paused by a policy change."
    is_on = auto_accept.enabled(project)
    if is_on and not was_on:
        project.auto_accept_epoch += 1  # a fresh measure of its accuracy
    changed = {name: _plain(getattr(after, name)) for name in given if getattr(before, name) != getattr(after, name)}
    if is_on is not was_on:
        changed["auto_accept_enabled"] = is_on
    await audit.record(
        session,
        actor,
        UPDATE_QUALITY_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        request={
            "projectId": str(project.id),
            **{name: _plain(v) for name, v in given.items()},
            **({} if change.auto_accept_enabled is None else {"auto_accept_enabled": change.auto_accept_enabled}),
        },
        details={
            "changed": changed,
            "before": {
                name: was_on if name == "auto_accept_enabled" else _plain(getattr(before, name)) for name in changed
            },
        },
    )
    await session.flush()
    return project


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, AggregationMethod) else value


def _check(p: QualityPolicy) -> list[Problem]:
    problems: list[Problem] = []
    if not 1 <= p.overlap <= MAX_OVERLAP:
        problems.append(Problem("OUT_OF_RANGE", f"overlap must lie within 1..{MAX_OVERLAP}.", "overlap"))
    if not 1 <= p.max_overlap <= MAX_OVERLAP:
        problems.append(Problem("OUT_OF_RANGE", f"maxOverlap must lie within 1..{MAX_OVERLAP}.", "maxOverlap"))
    elif p.max_overlap < p.overlap:
        problems.append(Problem("OUT_OF_RANGE", "maxOverlap must be at least overlap.", "maxOverlap"))
    for name, public in (
        ("accept_confidence", "acceptConfidence"),
        ("review_rate", "reviewRate"),
        ("review_below_confidence", "reviewBelowConfidence"),
        ("audit_rate", "auditRate"),
        ("audit_below_confidence", "auditBelowConfidence"),
        ("rare_class_share", "rareClassShare"),
        ("spot_check_rate", "spotCheckRate"),
        ("auto_accept_floor", "autoAcceptFloor"),
    ):
        value = getattr(p, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
            problems.append(Problem("OUT_OF_RANGE", f"{public} must lie within 0..1.", public))
    if not 1 <= p.auto_accept_min_checks <= MAX_AUTO_ACCEPT_MIN_CHECKS:
        problems.append(
            Problem(
                "OUT_OF_RANGE",
                f"autoAcceptMinChecks must lie within 1..{MAX_AUTO_ACCEPT_MIN_CHECKS}.",
                "autoAcceptMinChecks",
            )
        )
    if not 1 <= p.refresh_every <= MAX_REFRESH_EVERY:
        problems.append(
            Problem("OUT_OF_RANGE", f"refreshEvery must lie within 1..{MAX_REFRESH_EVERY}.", "refreshEvery")
        )
    if not 0 <= p.label_issues_top <= MAX_LABEL_ISSUES_TOP:
        problems.append(
            Problem("OUT_OF_RANGE", f"labelIssuesTop must lie within 0..{MAX_LABEL_ISSUES_TOP}.", "labelIssuesTop")
        )
    return problems
