"""Feedback to annotators: what was judged wrong about their own labels, and what the guideline says.

`viewer.feedback` lists, for the caller only and about its own labels, newest first:

- REJECTION: a reviewer rejected (REJECT) or corrected (CORRECT) its label. The decided value is the
  reviewer's corrected value, else the item's decision in force (none while the item is re-labeled);
  the comment is the reviewer's.
- OVERTURN: a QA auditor overturned a decision the label was behind, to a value that differs from the
  label's (an annotator whose label the overturn agrees with was right, and hears nothing). The comment
  is the auditor's.
- GOLD_MISS: its answer to a gold question scored under 1; the decided value is the gold answer, with
  the score per field. No comment.
- EXPERT_RESOLUTION: an expert resolved an escalated item the label was behind to a value that differs
  from the label's; the comment is the expert's rationale.

Values are shown in the terms of the label schema in force (through the approved mappings), and each
entry names the classes its label and the decided value disagree on (choice, taxonomy, span and box
fields) with their definitions in the guideline in force.

Only entries of projects where the caller still makes or reads labels are listed: an annotator whose
role was revoked no longer hears about that project. Nothing here shows another annotator's label.

Each entry is keyed by the time-ordered id of the event behind it (the review, the overturn's decision
version, the gold response, the expert's decision), so one keyset over four sources pages newest first.
The two kinds that must compare values (OVERTURN, EXPERT_RESOLUTION) are filtered as their rows are
merged; a page costs a constant number of statements however many entries it holds.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.audits.models import AuditVerdict, QaAudit
from app.auth.actor import Actor
from app.expertise.models import GoldAnswer, GoldResponse
from app.guidelines import content as guideline_content
from app.guidelines.models import GuidelineVersion
from app.projects.models import Project
from app.quality.consensus import canonical
from app.taxonomy.mapping import remap_through
from app.taxonomy.schema_language import CLASSED, FieldSpec, LabelSchema
from app.taxonomy.versions import VersionChain, version_chain
from app.workflow.models import Decision, DecisionLabel, DecisionMethod, Label, Review, Verdict

# Keeps IN () lists well inside SQLite's bound-parameter limit.
BATCH = 500


class FeedbackKind(enum.StrEnum):
    """What judged the caller's label wrong."""

    REJECTION = "REJECTION"  # a reviewer rejected or corrected it
    OVERTURN = "OVERTURN"  # a QA audit overturned a decision it was behind, to another value
    GOLD_MISS = "GOLD_MISS"  # its gold answer scored under 1
    EXPERT_RESOLUTION = "EXPERT_RESOLUTION"  # an expert resolved its escalated item to another value


class ClassSide(enum.StrEnum):
    """On which side of a disagreement a class is."""

    DECIDED = "DECIDED"  # the decided (correct) value gives it, the label does not
    YOURS = "YOURS"  # the label gives it, the decided value does not


@dataclass(frozen=True)
class ClassDifference:
    field: str
    class_name: str
    side: ClassSide
    definition: str | None  # the guideline in force's definition of the class, if it has one


@dataclass(frozen=True)
class FeedbackEntry:
    kind: FeedbackKind
    key: uuid.UUID  # the event's time-ordered id: the cursor
    at: datetime
    project_id: uuid.UUID
    item_id: uuid.UUID
    label: Label  # the caller's own label
    value: dict[str, Any]  # the label's value, in the terms of the schema in force
    decided_value: dict[str, Any] | None  # the decided or correct value, likewise; None: not decided yet
    comment: str | None  # the reviewer's or auditor's comment, the expert's rationale; None for gold
    verdict: Verdict | None  # REJECTION: REJECT or CORRECT
    score: float | None  # GOLD_MISS: the answer's score, 0..1
    field_scores: dict[str, float]  # GOLD_MISS: field -> its score
    schema_version: int  # the version in force, which value and decided_value are read under
    guideline_version: int | None  # the guideline in force, which the definitions come from
    classes: list[ClassDifference]


@dataclass(frozen=True)
class FeedbackFilter:
    project_id: uuid.UUID | None = None
    kinds: frozenset[FeedbackKind] | None = None  # None: every kind


@dataclass
class _Candidate:
    """One source row, before the page is assembled."""

    kind: FeedbackKind
    key: uuid.UUID
    at: datetime
    label: Label
    decided: dict[str, Any] | None = None  # as stored, in decided_version's terms
    decided_version: uuid.UUID | None = None  # None: already in the terms of the schema in force
    comment: str | None = None
    verdict: Verdict | None = None
    score: float | None = None
    field_scores: dict[str, float] | None = None
    needs_difference: bool = False  # kept only when the label differs from the decided value


Fetch = Callable[[AsyncSession, uuid.UUID | None, int], Awaitable[list[_Candidate]]]


def _projects(actor: Actor, project_id: uuid.UUID | None) -> set[uuid.UUID] | None:
    """Where the caller hears about its labels: projects where it still makes or reads labels (None:
    every project, an org-wide grant)."""
    make, read = actor.projects_where("label", "create"), actor.projects_where("label", "read")
    projects = None if make is None or read is None else make | read
    if project_id is not None:
        if projects is not None and project_id not in projects:
            return set()
        projects = {project_id}
    return projects


def _sources(actor: Actor, projects: set[uuid.UUID] | None) -> dict[FeedbackKind, Fetch]:
    """Per kind: its rows about the caller's labels, newest event first, keyed under `before`."""

    def scoped(column: Any) -> list[Any]:
        return [] if projects is None else [col(column).in_(sorted(projects, key=str))]

    def own_labels(*entities: Any) -> Any:
        """The caller's labels (ix_label_author), the start of every source but gold's: a page reads
        the caller's own history, never a scan of the project's labels or reviews."""
        return select(*entities).select_from(Label).where(col(Label.author_id) == actor.id)

    async def rejections(session: AsyncSession, before: uuid.UUID | None, limit: int) -> list[_Candidate]:
        stmt = (
            own_labels(Review, Label)
            # Through the item's reviews (indexed), then the label's among them.
            .join(Review, and_(col(Review.item_id) == col(Label.item_id), col(Review.label_id) == col(Label.id)))
            .where(col(Review.verdict).in_([Verdict.REJECT, Verdict.CORRECT]), *scoped(Review.project_id))
            .order_by(col(Review.id).desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(col(Review.id) < before)
        return [
            _Candidate(
                FeedbackKind.REJECTION,
                review.id,
                review.created_at,
                label,
                decided=review.corrected_value,
                decided_version=review.schema_version_id,
                comment=review.comment,
                verdict=review.verdict,
            )
            for review, label in (await session.execute(stmt)).all()
        ]

    async def overturns(session: AsyncSession, before: uuid.UUID | None, limit: int) -> list[_Candidate]:
        stmt = (
            own_labels(QaAudit, Decision, Label)
            .join(DecisionLabel, col(DecisionLabel.label_id) == col(Label.id))
            # Through the item's audits (indexed), then those of a decision the label was behind.
            .join(
                QaAudit,
                and_(
                    col(QaAudit.item_id) == col(Label.item_id),
                    col(QaAudit.decision_id) == col(DecisionLabel.decision_id),
                ),
            )
            .join(Decision, col(Decision.id) == col(QaAudit.result_decision_id))
            .where(col(QaAudit.verdict) == AuditVerdict.OVERTURN, *scoped(QaAudit.project_id))
            .order_by(col(QaAudit.result_decision_id).desc(), col(Label.id).desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(col(QaAudit.result_decision_id) < before)
        return [
            _Candidate(
                FeedbackKind.OVERTURN,
                decision.id,
                decision.decided_at,
                label,
                decided=decision.value,
                decided_version=decision.schema_version_id,
                comment=audit.comment,
                needs_difference=True,
            )
            for audit, decision, label in (await session.execute(stmt)).all()
        ]

    async def gold_misses(session: AsyncSession, before: uuid.UUID | None, limit: int) -> list[_Candidate]:
        stmt = (
            select(GoldResponse, Label, GoldAnswer.value)
            .join(Label, col(Label.id) == col(GoldResponse.label_id))
            .join(GoldAnswer, col(GoldAnswer.item_id) == col(GoldResponse.item_id), isouter=True)
            .where(
                col(GoldResponse.annotator_id) == actor.id,
                col(GoldResponse.score) < 1.0,
                col(GoldResponse.attempt_id).is_(None),  # a qualification answer had its feedback at once
                *scoped(GoldResponse.project_id),
            )
            .order_by(col(GoldResponse.id).desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(col(GoldResponse.id) < before)
        return [
            _Candidate(
                FeedbackKind.GOLD_MISS,
                response.id,
                response.created_at,
                label,
                decided=answer,
                score=response.score,
                field_scores={name: float(score) for name, score in response.fields.items()},
            )
            for response, label, answer in (await session.execute(stmt)).all()
        ]

    async def resolutions(session: AsyncSession, before: uuid.UUID | None, limit: int) -> list[_Candidate]:
        stmt = (
            own_labels(Decision, Label)
            .join(DecisionLabel, col(DecisionLabel.label_id) == col(Label.id))
            .join(Decision, col(Decision.id) == col(DecisionLabel.decision_id))
            .where(col(Decision.method) == DecisionMethod.EXPERT_RESOLVED, *scoped(Decision.project_id))
            .order_by(col(Decision.id).desc(), col(Label.id).desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(col(Decision.id) < before)
        return [
            _Candidate(
                FeedbackKind.EXPERT_RESOLUTION,
                decision.id,
                decision.decided_at,
                label,
                decided=decision.value,
                decided_version=decision.schema_version_id,
                comment=decision.rationale,
                needs_difference=True,
            )
            for decision, label in (await session.execute(stmt)).all()
        ]

    return {
        FeedbackKind.REJECTION: rejections,
        FeedbackKind.OVERTURN: overturns,
        FeedbackKind.GOLD_MISS: gold_misses,
        FeedbackKind.EXPERT_RESOLUTION: resolutions,
    }


class _Stream:
    """One source read in chunks, newest first."""

    def __init__(self, fetch: Fetch, before: uuid.UUID | None, chunk: int, known: _Projects) -> None:
        self._fetch, self._before, self._chunk, self._known = fetch, before, chunk, known
        self._rows: list[_Candidate] = []
        self._done = False

    async def head(self, session: AsyncSession) -> _Candidate | None:
        if not self._rows and not self._done:
            self._rows = await self._fetch(session, self._before, self._chunk)
            self._done = len(self._rows) < self._chunk
            if self._rows:
                self._before = self._rows[-1].key
            await self._known.load(session, [row.label.project_id for row in self._rows])
            self._rows.reverse()  # popped from the end
        return self._rows[-1] if self._rows else None

    def pop(self) -> None:
        self._rows.pop()


class _Projects:
    """The projects rows belong to, with their schema chains, loaded once per batch of new ids."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Project] = {}
        self.chains: dict[uuid.UUID, VersionChain] = {}

    async def load(self, session: AsyncSession, ids: Iterable[uuid.UUID]) -> None:
        missing = sorted({i for i in ids if i not in self.rows}, key=str)
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            for project in list(await session.scalars(select(Project).where(col(Project.id).in_(batch)))):
                self.rows[project.id] = project
                self.chains[project.id] = await version_chain(session, project)

    def carried(self, project_id: uuid.UUID, value: Mapping[str, Any], version: uuid.UUID | None) -> dict[str, Any]:
        if version is None:
            return dict(value)
        return remap_through(value, self.chains[project_id].steps_from(version))


async def list_feedback(
    session: AsyncSession, actor: Actor, where: FeedbackFilter, *, before: uuid.UUID | None, limit: int
) -> list[FeedbackEntry]:
    """Up to `limit` entries about the caller's own labels, newest first, older than `before`."""
    projects = _projects(actor, where.project_id)
    if projects == set() or where.kinds == frozenset():
        return []
    sources = _sources(actor, projects)
    kinds = [kind for kind in FeedbackKind if where.kinds is None or kind in where.kinds]
    known = _Projects()
    streams = [_Stream(sources[kind], before, limit, known) for kind in kinds]
    picked: list[_Candidate] = []
    seen: set[uuid.UUID] = set()
    while len(picked) < limit:
        heads = [(head, stream) for stream in streams if (head := await stream.head(session)) is not None]
        if not heads:
            break
        newest, stream = max(heads, key=lambda pair: pair[0].key)
        stream.pop()
        if newest.key in seen:
            continue  # the same event seen through a second label of the caller's on the item
        if newest.needs_difference and _same(_value_of(known, newest), _decided_of(known, newest)):
            continue  # the caller's label agrees with the new value: it was right
        seen.add(newest.key)
        picked.append(newest)
    if not picked:
        return []
    in_force = await _decisions_in_force(
        session, [c.label.item_id for c in picked if c.kind is FeedbackKind.REJECTION and c.decided is None]
    )
    definitions = await _definitions(session, [known.rows[c.label.project_id] for c in picked])
    return [_entry(known, c, in_force, definitions) for c in picked]


def _value_of(known: _Projects, c: _Candidate) -> dict[str, Any]:
    return known.carried(c.label.project_id, c.label.value, c.label.schema_version_id)


def _decided_of(known: _Projects, c: _Candidate) -> dict[str, Any] | None:
    if c.decided is None:
        return None
    return known.carried(c.label.project_id, c.decided, c.decided_version)


def _same(first: Mapping[str, Any], second: Mapping[str, Any] | None) -> bool:
    if second is None:
        return False
    return all(canonical(first.get(name)) == canonical(second.get(name)) for name in set(first) | set(second))


async def _decisions_in_force(session: AsyncSession, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decision]:
    keys = sorted(set(item_ids), key=str)
    found: dict[uuid.UUID, Decision] = {}
    for start in range(0, len(keys), BATCH):
        stmt = select(Decision).where(
            col(Decision.item_id).in_(keys[start : start + BATCH]), col(Decision.superseded_at).is_(None)
        )
        found.update({d.item_id: d for d in await session.scalars(stmt)})
    return found


@dataclass(frozen=True)
class _Guideline:
    version: int
    definitions: dict[tuple[str, str], str]


async def _definitions(session: AsyncSession, projects: Sequence[Project]) -> dict[uuid.UUID, _Guideline]:
    """The class definitions of each project's guideline in force."""
    wanted = {p.id: p.guideline_version for p in projects if p.guideline_version is not None}
    if not wanted:
        return {}
    pairs = [
        and_(col(GuidelineVersion.project_id) == pid, col(GuidelineVersion.version) == version)
        for pid, version in sorted(wanted.items(), key=lambda kv: str(kv[0]))
    ]
    found: dict[uuid.UUID, _Guideline] = {}
    for start in range(0, len(pairs), BATCH // 2):
        stmt = select(GuidelineVersion.project_id, GuidelineVersion.version, GuidelineVersion.content).where(
            or_(*pairs[start : start + BATCH // 2])
        )
        for project_id, version, stored in (await session.execute(stmt)).all():
            parsed = guideline_content.parse(stored or {})
            texts = {(d.ref.field, d.ref.class_): d.text for d in parsed.definitions}
            found[project_id] = _Guideline(version, texts)
    return found


def _entry(
    known: _Projects,
    c: _Candidate,
    in_force: Mapping[uuid.UUID, Decision],
    guidelines: Mapping[uuid.UUID, _Guideline],
) -> FeedbackEntry:
    project_id = c.label.project_id
    chain = known.chains[project_id]
    value = _value_of(known, c)
    decided = _decided_of(known, c)
    if decided is None and c.kind is FeedbackKind.REJECTION and c.label.item_id in in_force:
        current = in_force[c.label.item_id]
        decided = known.carried(project_id, current.value, current.schema_version_id)
    guideline = guidelines.get(project_id)
    return FeedbackEntry(
        kind=c.kind,
        key=c.key,
        at=c.at,
        project_id=project_id,
        item_id=c.label.item_id,
        label=c.label,
        value=value,
        decided_value=decided,
        comment=c.comment,
        verdict=c.verdict,
        score=c.score,
        field_scores=c.field_scores or {},
        schema_version=chain.active.version,
        guideline_version=guideline.version if guideline else None,
        classes=differences(chain.active.schema, value, decided, guideline.definitions if guideline else {}),
    )


def classes_given(spec: FieldSpec, answer: Any) -> set[str]:
    """The classes a field's answer gives: the choice, each member of a multi-choice or taxonomy
    answer, the label of each span or box; none for kinds without classes."""
    if spec.kind not in CLASSED or answer is None:
        return set()
    if spec.kind == "single_choice":
        return {answer} if isinstance(answer, str) else set()
    if not isinstance(answer, list):
        return set()
    if spec.kind in ("spans", "boxes"):
        return {part["label"] for part in answer if isinstance(part, Mapping) and isinstance(part.get("label"), str)}
    return {member for member in answer if isinstance(member, str)}


def differences(
    schema: LabelSchema,
    value: Mapping[str, Any],
    decided: Mapping[str, Any] | None,
    definitions: Mapping[tuple[str, str], str],
) -> list[ClassDifference]:
    """The classes the label and the decided value disagree on, in schema order: those only the
    decided value gives first, then those only the label gives, each with its definition."""
    if decided is None:
        return []
    result: list[ClassDifference] = []
    for spec in schema.fields:
        mine, theirs = classes_given(spec, value.get(spec.name)), classes_given(spec, decided.get(spec.name))
        order = {name: i for i, name in enumerate(spec.classes)}
        for side, names in ((ClassSide.DECIDED, theirs - mine), (ClassSide.YOURS, mine - theirs)):
            for name in sorted(names, key=lambda n: (order.get(n, len(order)), n)):
                result.append(ClassDifference(spec.name, name, side, definitions.get((spec.name, name))))
    return result
