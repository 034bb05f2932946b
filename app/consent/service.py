"""Consent use cases: recording (in bulk, all or nothing), revoking (a new fact, with its effect at
once: the subject's items withdrawn, their open assignments cancelled) and a project's policy.

Consent is org-wide: the permissions are checked with no project (`require(actor)`), held by the
org-wide compliance_officer and ingestion_service roles. A project opts in to requiring it
(`consent_required`) and may accept purposes beyond the standard ones (`consent_purposes`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.clock import aware, utcnow
from app.compliance import audit
from app.consent.models import ConsentRecord, ConsentRevocation, LegalBasis
from app.consent.reads import ANNOTATION, STANDARD_PURPOSES, Consent, find_for_change
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.ids import new_id
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.workflow import lifecycle
from app.workflow.models import Assignment, AssignmentStatus

RECORD_CONSENT = Operation("recordConsent", Permission("consent", "record"), audit="consent.record")
REVOKE_CONSENT = Operation("revokeConsent", Permission("consent", "revoke"), audit="consent.revoke")
UPDATE_CONSENT_POLICY = Operation("updateConsentPolicy", Permission("consent", "configure"), audit="consent.policy")

MAX_RECORDS = 10_000
MAX_PURPOSES = 32
MAX_REASON = 1_000
# A pseudonym: letters, digits and . _ : - (no spaces, no "@": an e-mail address is not pseudonymous).
SUBJECT_REF = re.compile(r"[A-Za-z0-9._:\-]{1,200}")
PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# ISO 3166-1 alpha-2, optionally an ISO 3166-2 subdivision ("DE", "US-CA").
JURISDICTION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
TEXT_BOUNDS = {"collector": 200, "evidenceRef": 500, "noticeVersion": 100}
# Clocks of the systems that collect consent drift: a grant a little in the future is not a mistake.
CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class NewConsent:
    subject_ref: Any
    purposes: Any
    legal_basis: LegalBasis
    granted_at: datetime
    jurisdiction: Any
    collector: Any
    evidence_ref: Any
    notice_version: Any
    expires_at: datetime | None = None


async def record_consent(session: AsyncSession, actor: Actor, rows: Sequence[NewConsent]) -> list[uuid.UUID]:
    """Write every record or none; the ids in input order."""
    RECORD_CONSENT.require(actor)
    if not rows:
        raise DomainError.single("EMPTY_BATCH", "Send at least one record.", "records")
    if len(rows) > MAX_RECORDS:
        raise DomainError.single("BATCH_TOO_LARGE", f"At most {MAX_RECORDS:,} records per call.", "records")
    known = await known_purposes(session)
    now = utcnow()
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        problems += _check(row, f"records.{i}", known, now)
    if problems:
        raise DomainError(problems)
    values = [
        {
            "id": new_id(),
            "subject_ref": row.subject_ref,
            "purposes": list(row.purposes),
            "legal_basis": row.legal_basis,
            "granted_at": row.granted_at,
            "expires_at": row.expires_at,
            "jurisdiction": row.jurisdiction,
            "collector": row.collector,
            "evidence_ref": row.evidence_ref,
            "notice_version": row.notice_version,
            "recorded_by": actor.id,
            "recorded_at": now,
        }
        for row in rows
    ]
    # Core, not ORM: 10,000 rows skip the unit of work's per-row bookkeeping.
    await session.execute(insert(ConsentRecord), values)
    purposes = sorted({p for row in rows for p in row.purposes})
    await audit.record(
        session,
        actor,
        RECORD_CONSENT.audit,
        "ConsentRecord",
        values[0]["id"],
        details={
            "count": len(values),
            "subjects": len({row.subject_ref for row in rows}),
            "purposes": purposes,
            "first": str(values[0]["id"]),
            "last": str(values[-1]["id"]),
        },
    )
    return [value["id"] for value in values]


def _check(row: NewConsent, at: str, known: set[str], now: datetime) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(row.subject_ref, str) or not SUBJECT_REF.fullmatch(row.subject_ref):
        problems.append(
            Problem(
                "INVALID_SUBJECT_REF",
                "subjectRef is a pseudonym of 1 to 200 letters, digits and . _ : - (no names, no e-mail addresses).",
                f"{at}.subjectRef",
            )
        )
    problems += _check_purposes(row.purposes, f"{at}.purposes", known)
    if not isinstance(row.jurisdiction, str) or not JURISDICTION.fullmatch(row.jurisdiction):
        problems.append(
            Problem(
                "INVALID_JURISDICTION",
                "jurisdiction is an ISO 3166 code: a country (DE) or a subdivision (US-CA).",
                f"{at}.jurisdiction",
            )
        )
    for name, text in (("collector", row.collector), ("evidenceRef", row.evidence_ref)):
        problems += _check_text(text, name, f"{at}.{name}")
    problems += _check_text(row.notice_version, "noticeVersion", f"{at}.noticeVersion")
    granted = aware(row.granted_at)
    if granted > now + CLOCK_SLACK:
        problems.append(Problem("OUT_OF_RANGE", "grantedAt may not lie in the future.", f"{at}.grantedAt"))
    if row.expires_at is not None and aware(row.expires_at) <= granted:
        problems.append(Problem("OUT_OF_RANGE", "expiresAt must come after grantedAt.", f"{at}.expiresAt"))
    return problems


def _check_text(text: Any, name: str, at: str) -> list[Problem]:
    if not isinstance(text, str) or not text.strip():
        return [Problem("REQUIRED", f"{name} is required.", at)]
    if len(text) > TEXT_BOUNDS[name]:
        return [Problem("TOO_LONG", f"{name} allows {TEXT_BOUNDS[name]} characters.", at)]
    return json_bounds.check_text(text, at)


def _check_purposes(purposes: Any, at: str, known: set[str] | None) -> list[Problem]:
    """A non-empty list of distinct purpose names; with `known`, each one known there."""
    if not isinstance(purposes, list | tuple) or not purposes:
        return [Problem("REQUIRED", "Name at least one purpose.", at)]
    if len(purposes) > MAX_PURPOSES:
        return [Problem("OUT_OF_RANGE", f"At most {MAX_PURPOSES} purposes.", at)]
    problems: list[Problem] = []
    seen: set[str] = set()
    for j, purpose in enumerate(purposes):
        if not isinstance(purpose, str) or not PURPOSE.fullmatch(purpose):
            problems.append(Problem("INVALID_PURPOSE", "A purpose is a lower-case name: a-z, 0-9 and _.", f"{at}.{j}"))
        elif purpose in seen:
            problems.append(Problem("DUPLICATE_PURPOSE", "Each purpose is named once.", f"{at}.{j}"))
        elif known is not None and purpose not in known:
            problems.append(
                Problem(
                    "UNKNOWN_PURPOSE",
                    "Not a standard purpose (annotation, model_training) nor one a project accepts.",
                    f"{at}.{j}",
                )
            )
        else:
            seen.add(purpose)
    return problems


async def known_purposes(session: AsyncSession) -> set[str]:
    """The standard purposes and every one a project accepts (consent is org-wide, so is the list)."""
    known = set(STANDARD_PURPOSES)
    for extra in await session.scalars(select(Project.consent_purposes)):
        known.update(extra or [])
    return known


@dataclass(frozen=True)
class Revoked:
    consents: list[Consent]
    items_withdrawn: int
    assignments_cancelled: int


async def revoke_consent(
    session: AsyncSession,
    actor: Actor,
    *,
    consent_ids: Sequence[uuid.UUID] | None,
    subject_ref: str | None,
    reason: str,
) -> Revoked:
    """Revoke records (by id, or every record of a subject not yet revoked), then at once withdraw
    the items imported under them and cancel their open assignments, in this one transaction.

    Revoking is a new fact (a `consent_revocation` row), never an edit; revoking a revoked record by
    id is ALREADY_REVOKED. The records are locked first (PostgreSQL), so an import naming one of them
    either committed before (its items are withdrawn here) or waits and then finds it revoked.
    """
    if (consent_ids is None) == (subject_ref is None):
        raise DomainError.single("REQUIRED", "Name either consentIds or a subjectRef.", "consentIds")
    problems: list[Problem] = []
    if not reason.strip():
        problems.append(Problem("REQUIRED", "Give the reason for the revocation.", "reason"))
    elif len(reason) > MAX_REASON:
        problems.append(Problem("TOO_LONG", f"reason allows {MAX_REASON:,} characters.", "reason"))
    else:
        problems += json_bounds.check_text(reason, "reason")
    if consent_ids is not None:
        if not consent_ids:
            raise DomainError.single("EMPTY_BATCH", "Name at least one record.", "consentIds")
        if len(consent_ids) > MAX_RECORDS:
            raise DomainError.single("BATCH_TOO_LARGE", f"At most {MAX_RECORDS:,} records per call.", "consentIds")
        found = {c.record.id: c for c in await find_for_change(session, actor, ids=consent_ids)}
        targets: list[Consent] = []
        taken: set[uuid.UUID] = set()  # an id named twice is revoked once
        for i, consent_id in enumerate(consent_ids):
            consent = found.get(consent_id)
            if consent is None:
                problems.append(Problem("NOT_FOUND", "No such consent record.", f"consentIds.{i}"))
            elif consent.revocation is not None:
                problems.append(Problem("ALREADY_REVOKED", "This record is revoked already.", f"consentIds.{i}"))
            elif consent_id not in taken:
                taken.add(consent_id)
                targets.append(consent)
        readable = bool(found)
    else:
        assert subject_ref is not None
        of_subject = await find_for_change(session, actor, subject_ref=subject_ref)
        if not of_subject:
            problems.append(Problem("NOT_FOUND", "No consent record of this subject.", "subjectRef"))
        targets = [c for c in of_subject if c.revocation is None]
        if of_subject and not targets:
            problems.append(Problem("ALREADY_REVOKED", "Every record of this subject is revoked.", "subjectRef"))
        readable = bool(of_subject)
    # Found (readable) first, then the permission: a reader without it is FORBIDDEN, others NOT_FOUND.
    if readable:
        REVOKE_CONSENT.require(actor)
    if problems:
        raise DomainError(problems)

    now = utcnow()
    ids = [c.record.id for c in targets]
    await session.execute(
        insert(ConsentRevocation),
        [{"consent_id": i, "revoked_at": now, "revoked_by": actor.id, "reason": reason} for i in ids],
    )
    withdrawn = await lifecycle.withdraw_consented(session, ids)
    cancelled = await _cancel_assignments(session, ids)
    await _emit_withdrawals(session, ids)
    await audit.record(
        session,
        actor,
        REVOKE_CONSENT.audit,
        "ConsentRecord",
        ids[0],
        details={
            "count": len(ids),
            "bySubject": subject_ref is not None,
            "itemsWithdrawn": withdrawn,
            "assignmentsCancelled": cancelled,
            "first": str(ids[0]),
            "last": str(ids[-1]),
        },
    )
    revoked = {i: ConsentRevocation(consent_id=i, revoked_at=now, revoked_by=actor.id, reason=reason) for i in ids}
    return Revoked([Consent(c.record, revoked[c.record.id]) for c in targets], withdrawn, cancelled)


async def _emit_withdrawals(session: AsyncSession, consent_ids: Sequence[uuid.UUID]) -> None:
    """One CONSENT_REVOKED event per project whose items the revocation withdrew: consent is
    org-wide, its effect lands in projects (their webhooks hear of it, ids only)."""
    by_project: dict[uuid.UUID, list[uuid.UUID]] = {}
    for start in range(0, len(consent_ids), lifecycle.CHUNK):
        chunk = consent_ids[start : start + lifecycle.CHUNK]
        rows = await session.execute(
            select(Item.project_id, Item.id)
            .where(col(Item.consent_id).in_(chunk), col(Item.status) == ItemStatus.WITHDRAWN)
            .order_by(col(Item.id))
        )
        for project_id, item_id in rows.all():
            by_project.setdefault(project_id, []).append(item_id)
    for project_id, item_ids in by_project.items():
        events.emit(session, project_id, EventKind.CONSENT_REVOKED, {"itemIds": item_ids, "count": len(item_ids)})


async def _cancel_assignments(session: AsyncSession, consent_ids: Sequence[uuid.UUID]) -> int:
    """Cancel the open assignments on the items of these records (withdrawn just before)."""
    cancelled = 0
    for start in range(0, len(consent_ids), lifecycle.CHUNK):
        chunk = consent_ids[start : start + lifecycle.CHUNK]
        of_items = select(Item.id).where(col(Item.consent_id).in_(chunk))
        result = await session.execute(
            update(Assignment)
            .where(col(Assignment.item_id).in_(of_items), col(Assignment.status) == AssignmentStatus.ACTIVE)
            .values(status=AssignmentStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        cancelled += result.rowcount  # type: ignore[attr-defined]
    return cancelled


@dataclass(frozen=True)
class ConsentPolicyChange:
    project_id: uuid.UUID
    consent_required: bool | None = None
    purposes: Sequence[str] | None = None  # the extra purposes the project accepts (replaces the list)


async def update_consent_policy(session: AsyncSession, actor: Actor, change: ConsentPolicyChange) -> Project:
    project = await find_project(session, actor, change.project_id, lock=True)
    UPDATE_CONSENT_POLICY.require(actor, project.id)
    before: dict[str, Any] = {
        "consentRequired": project.consent_required,
        "purposes": list(project.consent_purposes or []),
    }
    after = dict(before)
    if change.consent_required is not None:
        after["consentRequired"] = change.consent_required
    if change.purposes is not None:
        problems = _check_purposes(list(change.purposes), "purposes", None) if change.purposes else []
        problems += [
            Problem("INVALID_PURPOSE", "Standard purposes hold everywhere; list extra ones.", f"purposes.{j}")
            for j, p in enumerate(change.purposes)
            if p in STANDARD_PURPOSES
        ]
        if problems:
            raise DomainError(problems)
        after["purposes"] = sorted(change.purposes)
    project.consent_required = bool(after["consentRequired"])
    project.consent_purposes = list(after["purposes"])
    changed = {k: v for k, v in after.items() if v != before[k]}
    await audit.record(
        session,
        actor,
        UPDATE_CONSENT_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={"changed": changed, "before": {k: before[k] for k in changed}},
    )
    await session.flush()
    return project


def import_problem(consent: Consent | None, now: datetime, at: str) -> Problem | None:
    """What is wrong with an import row's consent record (`at` names the row's consentId)."""
    if consent is None:
        return Problem("CONSENT_NOT_FOUND", "No such consent record.", at)
    if consent.revocation is not None:
        return Problem("CONSENT_REVOKED", "This consent was revoked.", at)
    if consent.record.expires_at is not None and aware(consent.record.expires_at) <= now:
        return Problem("CONSENT_EXPIRED", "This consent has expired.", at)
    if ANNOTATION not in consent.record.purposes:
        return Problem("CONSENT_PURPOSE", "This consent does not cover annotation.", at)
    return None
