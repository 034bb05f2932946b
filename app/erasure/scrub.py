"""Removing the content of items, and every free text written about them, in place: what erasure
and retention share.

What goes: the item's `data` and `meta` (a tombstone `{"erased": true}` and `{}`), and everything
people or models wrote about it in their own words: label rationales and the values of the
label schema's `text` fields (in labels, reviews' corrections, decisions and their per-field
detail, gold answers, suggestions), suggestions' explanations, review comments, decision
rationales, escalation reasons, QA audit comments and reason details, comment bodies (the
comment stays a deleted tombstone, its mentions are removed), and the description of a
guideline edge case promoted from the item (in every guideline version, published ones too).
What stays: ids and their links (lineage), statuses, counters, class values (so counts and
agreement add up), times, and `content_hash` (a SHA-256 of the canonical data: it proves what
was labeled without holding it, though whoever holds the original can confirm a guess; see
docs/ARCHITECTURE.md).

Nothing here checks permissions: the callers (service.py, retention.py) decide whose items.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.audits.models import AuditStatus, QaAudit
from app.automation.models import SpotCheck, Suggestion
from app.automation.training_models import TrainingRun
from app.discussion.models import Comment, CommentMention
from app.expertise.models import GoldAnswer
from app.guidelines.models import GuidelineVersion
from app.ids import encode_global_id
from app.ingestion.models import Item
from app.taxonomy import schema_language
from app.taxonomy.models import LabelSchemaVersion, SchemaChangeRequest
from app.workflow import lifecycle
from app.workflow.models import Assignment, AssignmentStatus, Decision, Escalation, Label, QualityModel, Review

TOMBSTONE: dict[str, Any] = {"erased": True}
ERASED_TEXT = "[erased]"
CHUNK = lifecycle.CHUNK


@dataclass
class Counts:
    items: int = 0
    items_withdrawn: int = 0
    assignments_cancelled: int = 0
    labels: int = 0
    reviews: int = 0
    decisions: int = 0
    comments: int = 0
    mentions: int = 0
    escalations: int = 0
    audits: int = 0
    suggestions: int = 0
    gold_answers: int = 0
    guideline_edge_cases: int = 0
    trained_models: int = 0
    by_project: dict[uuid.UUID, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, int]:
        """camelCase numbers for the audit event and the erasure request (no ids, no content)."""
        return {
            "items": self.items,
            "itemsWithdrawn": self.items_withdrawn,
            "assignmentsCancelled": self.assignments_cancelled,
            "labels": self.labels,
            "reviews": self.reviews,
            "decisions": self.decisions,
            "comments": self.comments,
            "mentions": self.mentions,
            "escalations": self.escalations,
            "audits": self.audits,
            "suggestions": self.suggestions,
            "goldAnswers": self.gold_answers,
            "guidelineEdgeCases": self.guideline_edge_cases,
            "trainedModels": self.trained_models,
        }


def _text(value: str) -> str:
    """Free text erased; an empty one stays empty (nothing was written)."""
    return ERASED_TEXT if value else value


async def _text_fields(session: AsyncSession, project_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """Per schema version of these projects, its `text` fields; key the project id for the union."""
    found: dict[uuid.UUID, set[str]] = {}
    rows = await session.execute(
        select(LabelSchemaVersion.id, LabelSchemaVersion.project_id, LabelSchemaVersion.definition).where(
            col(LabelSchemaVersion.project_id).in_(list(project_ids))
        )
    )
    for version_id, project_id, definition in rows:
        names = {spec.name for spec in schema_language.parse(definition).fields if spec.kind == "text"}
        found[version_id] = names
        found.setdefault(project_id, set()).update(names)
    return found


def _scrub_value(value: dict[str, Any] | None, names: set[str]) -> dict[str, Any] | None:
    """The value with its text fields erased (present and not null); None stays None."""
    if value is None or not names:
        return value
    return {k: (ERASED_TEXT if k in names and v is not None else v) for k, v in value.items()}


def _scrub_detail(detail: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """A decision's per-field detail: a text field's proposal and votes hold the texts themselves."""
    return {k: (dict(TOMBSTONE) if k in names else v) for k, v in detail.items()}


def _scrub_impact(impact: dict[str, Any] | None, examples: set[str]) -> dict[str, Any] | None:
    if not impact:
        return impact
    scrubbed: dict[str, Any] = {}
    for kind, tally in impact.items():
        if not isinstance(tally, dict) or not isinstance(tally.get("examples"), dict):
            scrubbed[kind] = tally
            continue
        by_outcome = {
            outcome: [
                {**e, "before": dict(TOMBSTONE), "after": dict(TOMBSTONE)} if e.get("subjectId") in examples else e
                for e in found
            ]
            for outcome, found in tally["examples"].items()
        }
        scrubbed[kind] = {**tally, "examples": by_outcome}
    return scrubbed


async def scrub_items(
    session: AsyncSession, item_ids: Sequence[uuid.UUID], erasure_id: uuid.UUID, by: uuid.UUID | None, now: datetime
) -> Counts:
    """Erase the content of these items and the free text about them; withdraw the undecided ones
    and cancel their open tasks. Idempotent: an erased item is erased again to the same state."""
    counts = Counts()
    for start in range(0, len(item_ids), CHUNK):
        await _scrub_chunk(session, list(item_ids[start : start + CHUNK]), erasure_id, by, now, counts)
    return counts


async def _scrub_chunk(
    session: AsyncSession,
    ids: list[uuid.UUID],
    erasure_id: uuid.UUID,
    by: uuid.UUID | None,
    now: datetime,
    counts: Counts,
) -> None:
    projects = dict((await session.execute(select(Item.id, Item.project_id).where(col(Item.id).in_(ids)))).all())
    if not projects:
        return
    for project_id in projects.values():
        counts.by_project[project_id] = counts.by_project.get(project_id, 0) + 1
    text_fields = await _text_fields(session, set(projects.values()))
    counts.items += (
        await session.execute(
            update(Item)
            .where(col(Item.id).in_(ids))
            .values(data=dict(TOMBSTONE), meta={}, erased_at=now, erasure_id=erasure_id)
            .execution_options(synchronize_session=False)
        )
    ).rowcount  # type: ignore[attr-defined]
    counts.items_withdrawn += await lifecycle.withdraw_erased(session, ids)
    counts.assignments_cancelled += (
        await session.execute(
            update(Assignment)
            .where(col(Assignment.item_id).in_(ids), col(Assignment.status) == AssignmentStatus.ACTIVE)
            .values(status=AssignmentStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
    ).rowcount  # type: ignore[attr-defined]

    # Row by row through the ORM: JSON values are rewritten per row, and a subject's items or a
    # day's expired items are hundreds, not millions.
    for label in await session.scalars(select(Label).where(col(Label.item_id).in_(ids))):
        label.value = _scrub_value(label.value, text_fields.get(label.schema_version_id, set())) or {}
        label.rationale = _text(label.rationale)
        counts.labels += 1
    for review in await session.scalars(select(Review).where(col(Review.item_id).in_(ids))):
        review.corrected_value = _scrub_value(review.corrected_value, text_fields.get(review.schema_version_id, set()))
        review.comment = _text(review.comment)
        counts.reviews += 1
    for decision in await session.scalars(select(Decision).where(col(Decision.item_id).in_(ids))):
        names = text_fields.get(decision.schema_version_id, set())
        decision.value = _scrub_value(decision.value, names) or {}
        decision.detail = _scrub_detail(decision.detail or {}, names)
        decision.rationale = _text(decision.rationale)
        counts.decisions += 1
    for escalation in await session.scalars(select(Escalation).where(col(Escalation.item_id).in_(ids))):
        escalation.reason = _text(escalation.reason)
        counts.escalations += 1
    for audit in await session.scalars(select(QaAudit).where(col(QaAudit.item_id).in_(ids))):
        audit.comment = _text(audit.comment)
        audit.reason_detail = _text(audit.reason_detail)
        if audit.status is AuditStatus.PENDING:
            # Nothing is left to audit: its auditor's claim ends (the audit queue skips erased items).
            audit.claimed_by = None
            audit.lease_expires_at = None
        counts.audits += 1
    for suggestion in await session.scalars(select(Suggestion).where(col(Suggestion.item_id).in_(ids))):
        suggestion.value = _scrub_value(suggestion.value, text_fields.get(suggestion.schema_version_id, set())) or {}
        # A model's explanation may quote the item (and a heuristic's names its rules, not the text).
        suggestion.explanation = _text(suggestion.explanation) if suggestion.explanation is not None else None
        counts.suggestions += 1
    # The built-in model's stored fits hold a vocabulary taken from the decided items' texts
    # (app/automation/training.py): every stored fit of these projects goes. Its version, metrics
    # and suggestions stay (classes and figures, no text); nothing reads a fit back yet.
    counts.trained_models += (
        await session.execute(
            update(TrainingRun)
            .where(col(TrainingRun.project_id).in_(set(projects.values())), col(TrainingRun.artifact).is_not(None))
            .values(artifact=None)
            .execution_options(synchronize_session=False)
        )
    ).rowcount  # type: ignore[attr-defined]
    # A spot check keeps a copy of its suggestion's value (app/automation/auto_accept.py).
    for check, version_id in (
        await session.execute(
            select(SpotCheck, Suggestion.schema_version_id)
            .join(Suggestion, col(Suggestion.id) == col(SpotCheck.suggestion_id))
            .where(col(SpotCheck.item_id).in_(ids))
        )
    ).all():
        check.value = _scrub_value(check.value, text_fields.get(version_id, set())) or {}
    for gold in await session.scalars(select(GoldAnswer).where(col(GoldAnswer.item_id).in_(ids))):
        gold.value = _scrub_value(gold.value, text_fields.get(gold.project_id, set())) or {}
        counts.gold_answers += 1
    # A schema change's impact report keeps example values (labels by their id, final labels by
    # their item's): the examples of these items keep their problems, not their values.
    label_ids = await session.scalars(select(Label.id).where(col(Label.item_id).in_(ids)))
    examples = {encode_global_id("Label", i) for i in label_ids} | {encode_global_id("Item", i) for i in ids}
    for request in await session.scalars(
        select(SchemaChangeRequest).where(col(SchemaChangeRequest.project_id).in_(set(projects.values())))
    ):
        impact = _scrub_impact(request.impact, examples)
        if impact is not None and impact != request.impact:
            request.impact = impact
    # A WEIGHTED or DAWID_SKENE estimate of a text field lists the texts seen as its classes: it
    # goes (the next re-estimate fits it again, from the erased values).
    for project_id in set(projects.values()):
        if text_fields.get(project_id):
            await session.execute(
                delete(QualityModel).where(
                    col(QualityModel.project_id) == project_id,
                    col(QualityModel.field).in_(text_fields[project_id]),
                )
            )
    comment_ids = list(await session.scalars(select(Comment.id).where(col(Comment.item_id).in_(ids))))
    for start in range(0, len(comment_ids), CHUNK):
        chunk = comment_ids[start : start + CHUNK]
        counts.mentions += (
            await session.execute(delete(CommentMention).where(col(CommentMention.comment_id).in_(chunk)))
        ).rowcount  # type: ignore[attr-defined]
    for comment in await session.scalars(select(Comment).where(col(Comment.item_id).in_(ids))):
        # The tombstone a deletion leaves (app/discussion): replies still hang together.
        comment.body = ""
        if comment.deleted_at is None:
            comment.deleted_at = now
            comment.deleted_by = by
        counts.comments += 1
    await _scrub_guidelines(session, set(projects.values()), {encode_global_id("Item", i) for i in ids}, counts)
    await session.flush()


async def _scrub_guidelines(
    session: AsyncSession, project_ids: set[uuid.UUID], item_gids: set[str], counts: Counts
) -> None:
    """promoteToGuideline quotes a thread or an expert's rationale into an edge case's description,
    and every later version copies it: in every version (published ones too, or the copy survives),
    an edge case sourced from these items keeps its title (the guideline author's) and source (ids),
    and its description is erased."""
    for version in await session.scalars(
        select(GuidelineVersion).where(col(GuidelineVersion.project_id).in_(list(project_ids)))
    ):
        cases = version.content.get("edgeCases") if isinstance(version.content, dict) else None
        if not isinstance(cases, list):
            continue
        scrubbed = [_scrub_case(case, item_gids) for case in cases]
        changed = sum(1 for before, after in zip(cases, scrubbed, strict=True) if before != after)
        if changed:
            version.content = {**version.content, "edgeCases": scrubbed}
            counts.guideline_edge_cases += changed


def _scrub_case(case: Any, item_gids: set[str]) -> Any:
    source = case.get("source") if isinstance(case, dict) else None
    if not isinstance(source, dict) or source.get("itemId") not in item_gids:
        return case
    if case.get("description") in (None, "", ERASED_TEXT):
        return case
    return {**case, "description": ERASED_TEXT}
