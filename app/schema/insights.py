"""projectOperations: the figures a project's dashboard draws (app/insights)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from app.errors import DomainError
from app.insights import pure, service
from app.projects import reads as project_reads
from app.schema.context import Info
from app.schema.errors import bad_input
from app.schema.identity import User, load_user
from app.schema.node import decode_id

OperationsScope = strawberry.enum(service.Scope, name="OperationsScope")
AttentionReason = strawberry.enum(pure.AttentionReason, name="AttentionReason")


@strawberry.type(description="Labels made and decisions recorded in one bucket [start, start + bucketHours).")
class ThroughputBucket:
    start: datetime
    labels: int = strawberry.field(description="Labels submitted (gold and qualification answers left out).")
    decisions: int = strawberry.field(description="Decisions recorded (every version counts when it was made).")


@strawberry.type(description="One annotator's figures over the period.")
class AnnotatorOperations:
    labels: int
    labels_per_hour: float = strawberry.field(description="Labels / the period's hours.")
    review_rejections: int = strawberry.field(description="Reviews in the period that rejected its labels.")
    rejection_rate: float | None = strawberry.field(description="Rejections / reviews of its labels; null: none.")
    gold_answered: int
    gold_accuracy: float | None = strawberry.field(description="Mean score of its gold answers (0..1).")
    median_claim_to_submit_seconds: float | None
    _annotator: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def annotator(self, info: Info) -> User | None:
        return await load_user(info, self._annotator)


@strawberry.type(
    description="Errors found in one (field, class): counted on the classes the labels (the audited "
    "decisions, for overturns) gave."
)
class ClassErrors:
    field: str
    value: str = strawberry.field(description="The class as canonical JSON.")
    labels: int
    review_rejections: int
    audit_overturns: int
    gold_misses: int = strawberry.field(description="Gold answers giving this class whose score on the field was < 1.")


@strawberry.type(description="Review rejections, QA audit overturns and gold misses over the period.")
class OperationsErrors:
    reviews: int
    review_rejections: int
    rejection_rate: float | None
    audits: int = strawberry.field(description="QA audits completed in the period.")
    audit_overturns: int
    overturn_rate: float | None
    gold_answered: int
    gold_misses: int = strawberry.field(description="Gold answers scoring under 1.")
    gold_miss_rate: float | None
    classes: list[ClassErrors]


@strawberry.type(description="How many durations, their median and 90th percentile (linear interpolation).")
class LatencyFigures:
    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, figures: pure.Latency) -> LatencyFigures:
        return cls(count=figures.count, median_seconds=figures.median, p90_seconds=figures.p90)


@strawberry.type(description="Claim to submit (per label made in the period); import to decision (per decision).")
class OperationsLatency:
    claim_to_submit: LatencyFigures
    import_to_decision: LatencyFigures


@strawberry.type(description="One class's share among the classes given on its field.")
class ClassShare:
    field: str
    value: str = strawberry.field(description="The class as canonical JSON.")
    share: float


@strawberry.type(description="One bucket that has decisions: what was decided and how far it moved from the first.")
class DriftBucket:
    start: datetime
    decisions: int
    agreement: float | None = strawberry.field(
        description="PROJECT: share of agreeing label pairs behind the bucket's decisions (per class field, "
        "averaged; null without overlap). SELF: share of your labels behind them that matched the decided value."
    )
    distribution: list[ClassShare] = strawberry.field(
        description="PROJECT: classes of the decided values; SELF: of your labels behind the decisions."
    )
    divergence_from_first: float | None = strawberry.field(
        description="Jensen-Shannon distance (base 2, 0..1) from the first bucket's distribution, averaged over fields."
    )


@strawberry.type(description="Items (or, for AUDIT, pending QA audits) waiting at one stage.")
class StageCount:
    status: str = strawberry.field(description="QUEUED, IN_REVIEW, ESCALATED or AUDIT.")
    count: int
    oldest_waiting_seconds: float | None = strawberry.field(
        description="Since the oldest one's import (for AUDIT, since the audit was queued)."
    )


@strawberry.type(description="What waits now (not limited to the period). Gold items are left out.")
class QueueOperations:
    depth: int
    oldest_waiting_seconds: float | None
    stages: list[StageCount]


@strawberry.type(description="An annotator who needs attention, and why.")
class AnnotatorAttention:
    reasons: list[AttentionReason]  # type: ignore[valid-type]
    detail: str
    _annotator: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def annotator(self, info: Info) -> User | None:
        return await load_user(info, self._annotator)


@strawberry.type(description="Operations figures of a project over [from, to).")
class ProjectOperations:
    scope: OperationsScope  # type: ignore[valid-type]
    from_: datetime = strawberry.field(name="from")
    to: datetime
    bucket_hours: int
    throughput: list[ThroughputBucket] = strawberry.field(description="Every bucket of the period, oldest first.")
    annotators: list[AnnotatorOperations] = strawberry.field(description="SELF: only your own row.")
    errors: OperationsErrors
    latency: OperationsLatency
    drift: list[DriftBucket] = strawberry.field(description="Per bucket that has decisions, oldest first.")
    queue: QueueOperations | None = strawberry.field(description="Null in SELF scope.")
    attention: list[AnnotatorAttention] = strawberry.field(description="SELF: only you, if you need attention.")

    @classmethod
    def of(cls, ops: service.Operations) -> ProjectOperations:
        errors = ops.errors
        return cls(
            scope=ops.scope,
            from_=ops.since,
            to=ops.until,
            bucket_hours=ops.bucket_hours,
            throughput=[
                ThroughputBucket(start=b.start, labels=b.labels, decisions=b.decisions) for b in ops.throughput
            ],
            annotators=[
                AnnotatorOperations(
                    labels=a.labels,
                    labels_per_hour=a.labels_per_hour,
                    review_rejections=a.review_rejections,
                    rejection_rate=a.rejection_rate,
                    gold_answered=a.gold_answered,
                    gold_accuracy=a.gold_accuracy,
                    median_claim_to_submit_seconds=a.median_claim_to_submit,
                    _annotator=a.annotator,
                )
                for a in ops.annotators
            ],
            errors=OperationsErrors(
                reviews=errors.reviews,
                review_rejections=errors.review_rejections,
                rejection_rate=errors.rejection_rate,
                audits=errors.audits,
                audit_overturns=errors.audit_overturns,
                overturn_rate=errors.overturn_rate,
                gold_answered=errors.gold_answered,
                gold_misses=errors.gold_misses,
                gold_miss_rate=errors.gold_miss_rate,
                classes=[
                    ClassErrors(
                        field=c.field,
                        value=c.value,
                        labels=c.labels,
                        review_rejections=c.review_rejections,
                        audit_overturns=c.audit_overturns,
                        gold_misses=c.gold_misses,
                    )
                    for c in errors.classes
                ],
            ),
            latency=OperationsLatency(
                claim_to_submit=LatencyFigures.of(ops.claim_to_submit),
                import_to_decision=LatencyFigures.of(ops.import_to_decision),
            ),
            drift=[
                DriftBucket(
                    start=d.start,
                    decisions=d.decisions,
                    agreement=d.agreement,
                    distribution=[ClassShare(field=f, value=v, share=s) for (f, v), s in d.distribution.items()],
                    divergence_from_first=d.divergence_from_first,
                )
                for d in ops.drift
            ],
            queue=QueueOperations(
                depth=ops.queue.depth,
                oldest_waiting_seconds=ops.queue.oldest_waiting_s,
                stages=[
                    StageCount(status=s.status, count=s.count, oldest_waiting_seconds=s.oldest_waiting_s)
                    for s in ops.queue.stages
                ],
            )
            if ops.queue
            else None,
            attention=[
                AnnotatorAttention(reasons=a.reasons, detail=a.detail, _annotator=a.annotator) for a in ops.attention
            ],
        )


@strawberry.type
class InsightsQuery:
    @strawberry.field(
        description="Operations figures of a project over [from, to) (default: the last 7 days). Null for a project "
        "you cannot read. Managers, admins and QA auditors see the whole project (scope PROJECT); an annotator or "
        "reviewer sees only its own figures (scope SELF); null with FORBIDDEN for other roles. At most 1000 buckets."
    )
    async def project_operations(
        self,
        info: Info,
        project_id: strawberry.ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        bucket_hours: Annotated[
            int | None, strawberry.argument(description="Hours per bucket (1..8784); null: 1.")
        ] = 1,
    ) -> ProjectOperations | None:
        async with info.context.db() as session:
            project = await project_reads.get_project(session, info.context.actor, decode_id(project_id, "Project"))
            if project is None:
                return None
            try:
                ops = await service.project_operations(
                    session,
                    info.context.actor,
                    project,
                    since=from_,
                    until=to,
                    bucket_hours=1 if bucket_hours is None else bucket_hours,
                )
            except DomainError as exc:  # a bad argument of a query: BAD_USER_INPUT, as for `first`
                raise bad_input(exc.problems[0].message) from None
        return ProjectOperations.of(ops)
