"""Erasure use cases: eraseSubject (a data subject's items and the free text about them),
eraseUser (a person's name replaced by a stable pseudonym) and a project's retention period.

Subjects are org-wide (as consent is): eraseSubject checks its permission with no project, held by
the org-wide compliance_officer. Every erasure leaves an `erasure_request` row and one audit event
holding numbers and ids only, never the content erased.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.auth.models import AccountChange, User
from app.auth.people import end_access
from app.auth.reads import get_user
from app.clock import utcnow
from app.compliance import audit
from app.consent.service import SUBJECT_REF
from app.erasure.models import ErasureKind, ErasureRequest
from app.erasure.scrub import ERASED_TEXT, Counts, scrub_items
from app.errors import DomainError, Problem
from app.ids import new_id
from app.ingestion.models import Item
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.sso.models import ExternalIdentity

ERASE_SUBJECT = Operation("eraseSubject", Permission("subject", "erase"), audit="subject.erase")
ERASE_USER = Operation("eraseUser", Permission("user", "erase"), audit="user.erase")
UPDATE_RETENTION_POLICY = Operation(
    "updateRetentionPolicy", Permission("retention", "configure"), audit="retention.policy"
)

MAX_REASON = 1_000
MAX_RETENTION_DAYS = 36_500  # a hundred years; beyond that, keep forever (null)
PSEUDONYM_PREFIX = "erased-user-"


@dataclass(frozen=True)
class Erased:
    request: ErasureRequest
    counts: Counts


def _check_reason(reason: str) -> list[Problem]:
    if not reason.strip():
        return [Problem("REQUIRED", "Give the reason for the erasure.", "reason")]
    if len(reason) > MAX_REASON:
        return [Problem("TOO_LONG", f"reason allows {MAX_REASON:,} characters.", "reason")]
    return json_bounds.check_text(reason, "reason")


async def erase_subject(session: AsyncSession, actor: Actor, subject_ref: str, reason: str) -> Erased:
    """Erase every item of the subject (in every project) in this one transaction.

    A subject with no items erases nothing and is still recorded and audited: the request was
    made, and a later import under the same reference is new content, not the erased one.
    """
    ERASE_SUBJECT.require(actor)
    problems = _check_reason(reason)
    if not SUBJECT_REF.fullmatch(subject_ref):
        problems.append(
            Problem(
                "INVALID_SUBJECT_REF",
                "subjectRef is a pseudonym of 1 to 200 letters, digits and . _ : -.",
                "subjectRef",
            )
        )
    if problems:
        raise DomainError(problems)
    now = utcnow()
    request = ErasureRequest(
        id=new_id(),
        kind=ErasureKind.SUBJECT,
        subject_ref=subject_ref,
        reason=reason,
        requested_by=actor.id,
        requested_at=now,
    )
    session.add(request)
    await session.flush()
    item_ids = list(await session.scalars(select(Item.id).where(col(Item.subject_ref) == subject_ref)))
    counts = await scrub_items(session, item_ids, request.id, actor.id, now)
    request.counts = {**counts.as_json(), "projects": len(counts.by_project)}
    await audit.record(session, actor, ERASE_SUBJECT.audit, "ErasureRequest", request.id, details=dict(request.counts))
    await session.flush()
    return Erased(request, counts)


def pseudonym(user_id: uuid.UUID) -> str:
    """A stable name for an erased person, derived from the id alone.

    A plain hash, not a keyed one: the id is no secret (every API response and audit event shows
    it), so a key would hide nothing; what the pseudonym must not reveal is the name, and it never
    sees it. Stable: erasing again, or on another copy of the database, gives the same name.
    """
    return PSEUDONYM_PREFIX + hashlib.sha256(user_id.bytes).hexdigest()[:12]


async def erase_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID, reason: str) -> User:
    """Replace the person's username and display name with the pseudonym, deactivate the account
    and end its sign-ins. The id stays, so every row and audit event naming it still holds."""
    user = await get_user(session, actor, user_id)
    if user is None:
        raise DomainError.single("NOT_FOUND", "No such user.", "userId")
    ERASE_USER.require(actor)
    problems = _check_reason(reason)
    if user.id == actor.id:
        problems.append(Problem("SELF_ERASURE", "Another officer erases your account.", "userId"))
    if user.erased_at is not None:
        problems.append(Problem("ALREADY_ERASED", "This person was erased already.", "userId"))
    if problems:
        raise DomainError(problems)
    now = utcnow()
    name = pseudonym(user.id)
    user.username = name
    user.display_name = name
    user.email = None
    user.erased_at = now
    # Every token it holds is refused from the next request on, in every server process.
    sign_ins, _links = await end_access(session, user, "erased")
    # What admins wrote about the person (why it was deactivated, updated) goes too.
    await session.execute(update(AccountChange).where(col(AccountChange.user_id) == user.id).values(reason=ERASED_TEXT))
    # Its identity at single-sign-on providers (their subject identifies the person) is unlinked.
    await session.execute(delete(ExternalIdentity).where(col(ExternalIdentity.user_id) == user.id))
    counts = {"signInsEnded": sign_ins}
    request = ErasureRequest(
        id=new_id(),
        kind=ErasureKind.USER,
        user_id=user.id,
        reason=reason,
        requested_by=actor.id,
        requested_at=now,
        counts=counts,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session, actor, ERASE_USER.audit, "User", user.id, details={"erasure": str(request.id), **counts}
    )
    return user


async def update_retention_policy(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, retention_days: int | None
) -> Project:
    """Set (or clear, with null) how many days after import an item's content is kept."""
    project = await find_project(session, actor, project_id, lock=True)
    UPDATE_RETENTION_POLICY.require(actor, project.id)
    if retention_days is not None and not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise DomainError.single(
            "OUT_OF_RANGE",
            f"retentionDays is 1 to {MAX_RETENTION_DAYS:,} (null keeps content forever).",
            "retentionDays",
        )
    before = project.retention_days
    project.retention_days = retention_days
    await audit.record(
        session,
        actor,
        UPDATE_RETENTION_POLICY.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={"before": before, "after": retention_days},
    )
    await session.flush()
    return project
