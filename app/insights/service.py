"""projectOperations: what a project's dashboard shows, over a period cut into buckets.

Two scopes. Whoever may read the project's quality (`quality read`: admins, managers, QA
auditors) sees the whole project (PROJECT). Whoever labels or reviews there (`own_figures read`:
annotators, reviewers) sees its own figures only (SELF): its labels and the reviews, audits, gold
answers and decisions behind them, and no queue. Everyone else who can read the project is
refused (FORBIDDEN); a project one cannot read is not asked about here (the resolver answers null).

Every figure comes from a fixed handful of aggregate-shaped statements, read as columns (times as
epoch seconds, ids and values as the database gives them), whatever the number of items:
labels (with their claim and gold score), reviews, audits, decisions, the labels behind those
decisions, and, for the queue and attention, item and audit counts, suspensions and certificates.
Labels answering gold questions count as gold answers, not labels (as in projectQuality); answers
in a qualification set count as neither.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.audits.models import AuditStatus, AuditVerdict, QaAudit
from app.auth.actor import Actor
from app.clock import aware, utcnow
from app.columns import epoch_seconds
from app.db import bulk_read
from app.errors import DomainError, Forbidden
from app.expertise.models import Certificate, GoldResponse, Suspension
from app.ingestion.models import Item
from app.insights import pure
from app.insights.pure import AttentionReason, Buckets, Latency
from app.projects.models import Project
from app.projects.service import active_schema
from app.quality.report import CLASS_KINDS
from app.workflow import waiting
from app.workflow.models import Assignment, Decision, DecisionLabel, Label, Review, ReviewStage, Verdict

DEFAULT_PERIOD = timedelta(days=7)
MAX_BUCKET_HOURS = 24 * 366
# The figures are folded in Python over the period's rows: a period is at most a year, like a report's.
MAX_PERIOD = timedelta(days=366)


class Scope(enum.StrEnum):
    PROJECT = "PROJECT"
    SELF = "SELF"


@dataclass(frozen=True)
class ThroughputBucket:
    start: datetime
    labels: int
    decisions: int


@dataclass
class AnnotatorFigures:
    annotator: uuid.UUID
    labels: int = 0
    labels_per_hour: float = 0.0
    reviews: int = 0
    review_rejections: int = 0
    gold_answered: int = 0
    gold_score_sum: float = 0.0
    claim_to_submit: list[float] = field(default_factory=list)

    @property
    def rejection_rate(self) -> float | None:
        return pure.ratio(self.review_rejections, self.reviews)

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_score_sum / self.gold_answered if self.gold_answered else None

    @property
    def median_claim_to_submit(self) -> float | None:
        return pure.median(self.claim_to_submit)


@dataclass
class ClassErrors:
    field: str
    value: str
    labels: int = 0
    review_rejections: int = 0
    audit_overturns: int = 0
    gold_misses: int = 0


@dataclass(frozen=True)
class Errors:
    reviews: int
    review_rejections: int
    audits: int
    audit_overturns: int
    gold_answered: int
    gold_misses: int
    classes: list[ClassErrors]

    @property
    def rejection_rate(self) -> float | None:
        return pure.ratio(self.review_rejections, self.reviews)

    @property
    def overturn_rate(self) -> float | None:
        return pure.ratio(self.audit_overturns, self.audits)

    @property
    def gold_miss_rate(self) -> float | None:
        return pure.ratio(self.gold_misses, self.gold_answered)


@dataclass(frozen=True)
class DriftBucket:
    start: datetime
    decisions: int
    agreement: float | None
    distribution: dict[tuple[str, str], float]
    divergence_from_first: float | None


@dataclass(frozen=True)
class StageCount:
    status: str
    count: int
    oldest_waiting_s: float | None


@dataclass(frozen=True)
class Queue:
    depth: int
    oldest_waiting_s: float | None
    stages: list[StageCount]


@dataclass(frozen=True)
class Attention:
    annotator: uuid.UUID
    reasons: list[AttentionReason]
    detail: str


@dataclass(frozen=True)
class Operations:
    scope: Scope
    since: datetime
    until: datetime
    bucket_hours: int
    throughput: list[ThroughputBucket]
    annotators: list[AnnotatorFigures]
    errors: Errors
    claim_to_submit: Latency
    import_to_decision: Latency
    drift: list[DriftBucket]
    queue: Queue | None
    attention: list[Attention]


def scope_of(actor: Actor, project: Project) -> Scope:
    """PROJECT for `quality read`, SELF for `own_figures read`; Forbidden for anyone else."""
    if actor.can("quality", "read", project.id):
        return Scope.PROJECT
    if actor.can("own_figures", "read", project.id):
        return Scope.SELF
    raise Forbidden("You may not read operations figures here.")


async def project_operations(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket_hours: int = 1,
) -> Operations:
    """The figures over [since, until) (default: the 7 days up to now) in buckets of `bucket_hours`.

    `project` is one the actor can read (the caller looked it up through the read scope). Raises
    Forbidden for a role with neither scope, DomainError OUT_OF_RANGE for a bucket
    width outside 1..8784 hours, a period not running forwards or longer than 366 days, or one of
    more than 1000 buckets. Labels imported from another tool are not in throughput, per-annotator
    rates or claim-to-submit latency (their times are the import's)."""
    scope = scope_of(actor, project)
    now = utcnow()
    until = aware(until or now).astimezone(UTC)
    since = aware(since or until - DEFAULT_PERIOD).astimezone(UTC)
    if not 1 <= bucket_hours <= MAX_BUCKET_HOURS:
        raise DomainError.single("OUT_OF_RANGE", f"bucketHours must lie within 1..{MAX_BUCKET_HOURS}.", "bucketHours")
    if since >= until:
        raise DomainError.single("OUT_OF_RANGE", "from must come before to.", "from")
    if until - since > MAX_PERIOD:
        raise DomainError.single("OUT_OF_RANGE", f"The period spans at most {MAX_PERIOD.days} days.", "from")
    buckets = Buckets(since.timestamp(), until.timestamp(), bucket_hours * 3600.0)
    if buckets.count > pure.MAX_BUCKETS:
        raise DomainError.single(
            "OUT_OF_RANGE",
            f"The period holds {buckets.count} buckets of {bucket_hours} h; at most {pure.MAX_BUCKETS}.",
            "bucketHours",
        )
    with bulk_read():
        return await _figures(session, actor, project, scope, since, until, buckets, bucket_hours, now)


async def _figures(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    scope: Scope,
    since: datetime,
    until: datetime,
    buckets: Buckets,
    bucket_hours: int,
    now: datetime,
) -> Operations:
    schema = await active_schema(session, project)
    classed = [spec.name for spec in schema.schema.fields if spec.kind in CLASS_KINDS]
    own = scope is Scope.SELF
    conn = await session.connection()  # Core rows: no ORM object per row
    per: dict[uuid.UUID, AnnotatorFigures] = {}

    def annotator(who: Any) -> AnnotatorFigures:
        key = who if isinstance(who, uuid.UUID) else uuid.UUID(str(who))
        if key not in per:
            per[key] = AnnotatorFigures(key)
        return per[key]

    classes: dict[tuple[str, str], ClassErrors] = {}

    def klass(key: tuple[str, str]) -> ClassErrors:
        if key not in classes:
            classes[key] = ClassErrors(*key)
        return classes[key]

    labels_per_bucket = [0] * buckets.count
    decisions_per_bucket = [0] * buckets.count
    claim_to_submit: list[float] = []

    # 1. Labels made in the period, with their claim, whether they answer a gold question and its score.
    label_scope: list[ColumnElement[bool]] = [
        col(Label.project_id) == project.id,
        col(Label.created_at) >= since,
        col(Label.created_at) < until,
        col(Assignment.qualification_attempt_id).is_(None),
        # Imported labels (Label Studio) were made elsewhere: their "claim" and "submit" are the import's
        # moment, which would show as a burst of instant labels. Reviews and audits of them still count.
        col(Label.imported_from).is_(None),
    ]
    if own:
        label_scope.append(col(Label.author_id) == actor.id)
    made = await conn.execute(
        select(
            *[
                col(Label.author_id),
                epoch_seconds(col(Label.created_at)),
                epoch_seconds(col(Assignment.claimed_at)),
                col(Label.value),
                col(Item.gold),
                col(GoldResponse.score),
                col(GoldResponse.fields),
            ]
        )
        .join(Assignment, col(Assignment.id) == col(Label.assignment_id))
        .join(Item, col(Item.id) == col(Label.item_id))
        .outerjoin(
            GoldResponse,
            and_(col(GoldResponse.label_id) == col(Label.id), col(GoldResponse.attempt_id).is_(None)),
        )
        .where(*label_scope)
    )
    gold_answered = gold_misses = 0
    rows: list[Any] = list(made.all())
    for author, created, claimed, value, gold, score, scores in rows:
        figures = annotator(author)
        if gold:
            if score is None:
                continue
            figures.gold_answered += 1
            figures.gold_score_sum += float(score)
            gold_answered += 1
            if float(score) < 1.0:
                gold_misses += 1
                for name, cls in pure.class_keys(value, classed):
                    if float((scores or {}).get(name, 0.0)) < 1.0:
                        klass((name, cls)).gold_misses += 1
            continue
        figures.labels += 1
        waited = float(created) - float(claimed)
        figures.claim_to_submit.append(waited)
        claim_to_submit.append(waited)
        at = buckets.index(float(created))
        if at is not None:
            labels_per_bucket[at] += 1
        for key in pure.class_keys(value, classed):
            klass(key).labels += 1

    # 2. Reviews made in the period, with the author and value of the label judged.
    review_scope: list[ColumnElement[bool]] = [
        col(Review.project_id) == project.id,
        col(Review.stage) == ReviewStage.REVIEW,
        col(Review.created_at) >= since,
        col(Review.created_at) < until,
    ]
    if own:
        review_scope.append(col(Label.author_id) == actor.id)
    judged = await conn.execute(
        select(col(Review.verdict), col(Label.author_id), col(Label.value))
        .join(Label, col(Label.id) == col(Review.label_id))
        .where(*review_scope)
    )
    reviews = rejections = 0
    for verdict, author, value in judged.all():
        figures = annotator(author)
        figures.reviews += 1
        reviews += 1
        if Verdict(verdict) is Verdict.REJECT:
            figures.review_rejections += 1
            rejections += 1
            for key in pure.class_keys(value, classed):
                klass(key).review_rejections += 1

    # 3. QA audits completed in the period, with the value of the decision they judged.
    mine = exists().where(
        col(DecisionLabel.decision_id) == col(Decision.id),
        col(Label.id) == col(DecisionLabel.label_id),
        col(Label.author_id) == actor.id,
    )
    audit_scope: list[ColumnElement[bool]] = [
        col(QaAudit.project_id) == project.id,
        col(QaAudit.status) == AuditStatus.DONE,
        col(QaAudit.verdict).is_not(None),
        col(QaAudit.completed_at) >= since,
        col(QaAudit.completed_at) < until,
    ]
    if own:
        audit_scope.append(mine)
    audited = await conn.execute(
        select(col(QaAudit.verdict), col(Decision.value))
        .join(Decision, col(Decision.id) == col(QaAudit.decision_id))
        .where(*audit_scope)
    )
    audits = overturns = 0
    for verdict, value in audited.all():
        audits += 1
        if AuditVerdict(verdict) is AuditVerdict.OVERTURN:
            overturns += 1
            for key in pure.class_keys(value, classed):
                klass(key).audit_overturns += 1

    # 4. Decisions made in the period (each version counts when it was made), with the item's import.
    decision_scope: list[ColumnElement[bool]] = [
        col(Decision.project_id) == project.id,
        col(Decision.decided_at) >= since,
        col(Decision.decided_at) < until,
    ]
    if own:
        decision_scope.append(mine)
    decided = await conn.execute(
        select(
            col(Decision.id),
            col(Decision.value),
            epoch_seconds(col(Decision.decided_at)),
            epoch_seconds(col(Item.created_at)),
        )
        .join(Item, col(Item.id) == col(Decision.item_id))
        .where(*decision_scope)
    )
    decision_rows = decided.all()
    import_to_decision = [float(at) - float(imported) for _id, _value, at, imported in decision_rows]
    bucket_of: dict[str, int] = {}
    decided_value: dict[str, dict[str, Any]] = {}
    for decision_id, value, at, _imported in decision_rows:
        index = buckets.index(float(at))
        if index is not None:
            decisions_per_bucket[index] += 1
            bucket_of[str(decision_id)] = index
            decided_value[str(decision_id)] = value

    # 5. The labels behind those decisions (only one's own in SELF scope), for agreement and drift.
    behind_scope: list[ColumnElement[bool]] = list(decision_scope)
    if own:
        behind_scope = [c for c in decision_scope if c is not mine] + [col(Label.author_id) == actor.id]
    behind = await conn.execute(
        select(col(DecisionLabel.decision_id), col(Label.item_id), col(Label.author_id), col(Label.value))
        .join(Decision, col(Decision.id) == col(DecisionLabel.decision_id))
        .join(Label, col(Label.id) == col(DecisionLabel.label_id))
        .where(*behind_scope)
    )
    labels_in: dict[int, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    own_pairs: dict[int, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    own_values: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for decision_id, _item, author, value in behind.all():
        index = bucket_of.get(str(decision_id))
        if index is None:
            continue
        # One decision's labels form an item's ratings: a re-decided item counts in each bucket it was decided.
        labels_in[index].append((str(decision_id), str(author), value))
        own_pairs[index].append((value, decided_value[str(decision_id)]))
        own_values[index].append(value)
    values_in: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for decision_id, index in bucket_of.items():
        values_in[index].append(decided_value[decision_id])
    drift = _drift(buckets, decisions_per_bucket, classed, own, values_in, own_values, labels_in, own_pairs)

    queue = None if own else await _queue(conn, project, now)
    attention = await _attention(conn, actor, project, own, per, now)
    hours = (until - since).total_seconds() / 3600.0
    for figures in per.values():
        figures.labels_per_hour = figures.labels / hours
    if own:
        per = {actor.id: per.get(actor.id, AnnotatorFigures(actor.id))}
    return Operations(
        scope=scope,
        since=since,
        until=until,
        bucket_hours=bucket_hours,
        throughput=[
            ThroughputBucket(datetime.fromtimestamp(start, UTC), labels_per_bucket[i], decisions_per_bucket[i])
            for i, start in enumerate(buckets.starts())
        ],
        annotators=sorted(per.values(), key=lambda a: str(a.annotator)),
        errors=Errors(
            reviews=reviews,
            review_rejections=rejections,
            audits=audits,
            audit_overturns=overturns,
            gold_answered=gold_answered,
            gold_misses=gold_misses,
            classes=[classes[key] for key in sorted(classes)],
        ),
        claim_to_submit=pure.latency(claim_to_submit),
        import_to_decision=pure.latency(import_to_decision),
        drift=drift,
        queue=queue,
        attention=attention,
    )


def _drift(
    buckets: Buckets,
    decisions_per_bucket: list[int],
    classed: list[str],
    own: bool,
    values_in: dict[int, list[dict[str, Any]]],
    own_values: dict[int, list[dict[str, Any]]],
    labels_in: dict[int, list[tuple[str, str, dict[str, Any]]]],
    own_pairs: dict[int, list[tuple[dict[str, Any], dict[str, Any]]]],
) -> list[DriftBucket]:
    """Per bucket with decisions: PROJECT, the decided values' class distribution and the pairwise
    agreement of the labels behind them; SELF, the distribution of one's own labels behind them and
    how often they matched the decided value. Each bucket's distance is from the first such bucket."""
    result: list[DriftBucket] = []
    first: dict[tuple[str, str], float] | None = None
    starts = buckets.starts()
    for index, decisions in enumerate(decisions_per_bucket):
        if not decisions:
            continue
        if own:
            shares = pure.distribution(own_values[index], classed)
            agreement = pure.agreement_with(own_pairs[index], classed)
        else:
            shares = pure.distribution(values_in[index], classed)
            agreement = pure.pairwise(labels_in[index], classed)
        if first is None and shares:
            first = shares
        result.append(
            DriftBucket(
                start=datetime.fromtimestamp(starts[index], UTC),
                decisions=decisions,
                agreement=agreement,
                distribution=shares,
                divergence_from_first=pure.divergence(first, shares) if first is not None and shares else None,
            )
        )
    return result


async def _queue(conn: Any, project: Project, now: datetime) -> Queue:
    """What waits in the project, by stage (app/workflow/waiting.py, as /metrics shows it)."""
    found = {stage.status: stage for stage in await waiting.waiting(conn, project.id)}
    moment = now.timestamp()
    stages = []
    for name in waiting.STAGES:
        stage = found.get(name)
        oldest = aware(stage.oldest).timestamp() if stage is not None and stage.oldest is not None else None
        stages.append(StageCount(name, *_aged((stage.count if stage else 0, oldest), moment)))
    ages = [s.oldest_waiting_s for s in stages if s.oldest_waiting_s is not None]
    return Queue(sum(s.count for s in stages), max(ages) if ages else None, stages)


def _aged(found: tuple[int, Any], moment: float) -> tuple[int, float | None]:
    count, oldest = found
    return count, (max(0.0, moment - float(oldest)) if oldest is not None else None)


async def _attention(
    conn: Any,
    actor: Actor,
    project: Project,
    own: bool,
    per: dict[uuid.UUID, AnnotatorFigures],
    now: datetime,
) -> list[Attention]:
    """Annotators suspended here, with a certificate of this project lapsing soon (their latest per
    label set), under the project's gold floor or rejected too often in the period."""
    suspended_rows = select(col(Suspension.user_id), col(Suspension.reason)).where(
        col(Suspension.project_id) == project.id, col(Suspension.lifted_at).is_(None)
    )
    latest = select(col(Certificate.user_id), col(Certificate.field), func.max(col(Certificate.expires_at))).where(
        col(Certificate.project_id) == project.id
    )
    if own:
        suspended_rows = suspended_rows.where(col(Suspension.user_id) == actor.id)
        latest = latest.where(col(Certificate.user_id) == actor.id)
    suspended = {uuid.UUID(str(who)): reason for who, reason in (await conn.execute(suspended_rows)).all()}
    lapsing: dict[uuid.UUID, float] = {}
    rows = await conn.execute(latest.group_by(col(Certificate.user_id), col(Certificate.field)))
    for who, _field, expires in rows.all():
        expiry = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
        days = (aware(expiry) - now).total_seconds() / 86400.0
        key = uuid.UUID(str(who))
        lapsing[key] = min(days, lapsing.get(key, days))
    result = []
    for who in sorted(set(suspended) | set(lapsing) | set(per), key=str):
        if own and who != actor.id:
            continue
        figures = per.get(who, AnnotatorFigures(who))
        days_left = lapsing.get(who)
        reasons = pure.attention(
            suspended=who in suspended,
            certificate_days_left=days_left,
            gold_answered=figures.gold_answered,
            gold_accuracy=figures.gold_accuracy,
            gold_floor=project.gold_floor,
            gold_min_answers=project.gold_min_answers,
            reviews=figures.reviews,
            rejection_rate=figures.rejection_rate,
        )
        if not reasons:
            continue
        detail = []
        if who in suspended:
            detail.append(f"Suspended: {suspended[who]}")
        if AttentionReason.CERTIFICATE_EXPIRING in reasons and days_left is not None:
            detail.append(
                f"Certificate expired {-days_left:.1f} days ago."
                if days_left < 0
                else f"Certificate expires in {days_left:.1f} days."
            )
        if AttentionReason.LOW_GOLD_ACCURACY in reasons and figures.gold_accuracy is not None:
            detail.append(
                f"Gold accuracy {figures.gold_accuracy:.2f} over {figures.gold_answered} answers is under the "
                f"project's floor of {project.gold_floor:.2f}."
            )
        if AttentionReason.HIGH_REJECTION_RATE in reasons and figures.rejection_rate is not None:
            detail.append(
                f"Reviewers rejected {figures.review_rejections} of {figures.reviews} labels "
                f"({figures.rejection_rate:.0%})."
            )
        result.append(Attention(who, reasons, " ".join(detail)))
    return result
