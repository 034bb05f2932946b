"""The quality program of a project: its consensus policy, the expert queue of escalations, and
what it measures (projectQuality)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.errors import DomainError
from app.projects import models as project_models
from app.projects import reads as project_reads
from app.quality.report import AuditFigures, Figures
from app.schema.context import Info
from app.schema.errors import bad_input
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation
from app.schema.node import decode_id
from app.schema.workflow import AggregationMethod, Decision, WorkflowError
from app.workflow import escalations, estimates, models, policy, quality_report

if TYPE_CHECKING:
    from app.schema.items import Item
    from app.schema.projects import Project


@strawberry.type(
    description="How items of a project get decided: labels to start with and at most, the aggregation, when "
    "it may decide alone, and what a reviewer sees. Defaults: k = maxOverlap, acceptConfidence 0, reviewRate 1 "
    "(every item is reviewed after its k labels)."
)
class QualityPolicy:
    overlap: int = strawberry.field(description="Labels every item gets to start with (k).")
    max_overlap: int = strawberry.field(description="At most this many labels (k_max); dynamic overlap adds one.")
    method: AggregationMethod  # type: ignore[valid-type]
    accept_confidence: float = strawberry.field(
        description="An item whose aggregated confidence reaches this is decided; below it, it gets one more label "
        "up to maxOverlap, then is escalated to an expert."
    )
    review_rate: float = strawberry.field(description="Share of decided items a reviewer sees (a seeded sample).")
    review_below_confidence: float = strawberry.field(
        description="Every item decided under this confidence is reviewed as well."
    )
    refresh_every: int = strawberry.field(
        description="WEIGHTED and DAWID_SKENE: annotator reliability is re-estimated after this many new labels."
    )
    audit_rate: float = strawberry.field(
        description="Share of decided items a QA auditor sees (a seeded sample, independent of the review sample)."
    )
    audit_below_confidence: float = strawberry.field(description="Every decision under this confidence is audited.")
    high_impact_classes: JSON = strawberry.field(
        description='Field -> class values (e.g. {"sentiment": ["neg"]}): every decision giving one is audited.'
    )
    rare_class_share: float = strawberry.field(
        description="A decision giving a class that fewer than this share of the project's decisions give is "
        "audited; 0 turns it off."
    )
    audit_expert_decisions: bool = strawberry.field(description="Every EXPERT_RESOLVED decision is audited.")
    label_issues_top: int = strawberry.field(
        description="How many of a label-issue run's ranked issues detectLabelIssues flags for audit when its "
        "input names no `top` (0..1000)."
    )
    auto_accept_confidence: JSON = strawberry.field(
        description='Field -> threshold in (0, 1] (e.g. {"sentiment": 0.97}): a model\'s suggestion on an item no '
        "human has labeled, giving every required field and reaching the threshold on every field it gives, "
        "decides the item (AUTO_ACCEPTED) unless the item is a spot check. {} is off."
    )
    spot_check_rate: float = strawberry.field(
        description="Share of the items auto-accept would decide that stay with humans as spot checks (a seeded "
        "sample, independent of the review and audit samples)."
    )
    auto_accept_floor: float = strawberry.field(
        description="Auto-accept turns itself off when the spot checks' agreement with their suggestion falls "
        "under this (after autoAcceptMinChecks decided spot checks); 0 never."
    )
    auto_accept_min_checks: int = strawberry.field(description="Decided spot checks before the floor can trip.")
    auto_accept_enabled: bool = strawberry.field(
        description="Thresholds set and not turned off (by itself or paused); see projectQuality.autoAccept."
    )

    @classmethod
    def of(cls, row: project_models.Project) -> QualityPolicy:
        rules = policy.of(row)
        return cls(
            overlap=rules.overlap,
            max_overlap=rules.max_overlap,
            method=rules.method,
            accept_confidence=rules.accept_confidence,
            review_rate=rules.review_rate,
            review_below_confidence=rules.review_below_confidence,
            refresh_every=rules.refresh_every,
            audit_rate=rules.audit_rate,
            audit_below_confidence=rules.audit_below_confidence,
            high_impact_classes=JSON(rules.high_impact_classes),
            rare_class_share=rules.rare_class_share,
            audit_expert_decisions=rules.audit_expert_decisions,
            label_issues_top=rules.label_issues_top,
            auto_accept_confidence=JSON(rules.auto_accept_confidence),
            spot_check_rate=rules.spot_check_rate,
            auto_accept_floor=rules.auto_accept_floor,
            auto_accept_min_checks=rules.auto_accept_min_checks,
            auto_accept_enabled=bool(rules.auto_accept_confidence) and row.auto_accept_off_at is None,
        )


@strawberry.input(description="Fields left out keep their value.")
class UpdateQualityPolicyInput:
    project_id: strawberry.ID
    overlap: int | None = None
    max_overlap: int | None = None
    method: AggregationMethod | None = None  # type: ignore[valid-type]
    accept_confidence: float | None = None
    review_rate: float | None = None
    review_below_confidence: float | None = None
    refresh_every: int | None = None
    audit_rate: float | None = None
    audit_below_confidence: float | None = None
    high_impact_classes: JSON | None = strawberry.field(
        default=None, description="Replaces the whole map; {} turns the rule off."
    )
    rare_class_share: float | None = None
    audit_expert_decisions: bool | None = None
    label_issues_top: int | None = None
    auto_accept_confidence: JSON | None = strawberry.field(
        default=None, description="Replaces the whole map; {} turns auto-accept off."
    )
    spot_check_rate: float | None = None
    auto_accept_floor: float | None = None
    auto_accept_min_checks: int | None = None
    auto_accept_enabled: bool | None = strawberry.field(
        default=None,
        description="true turns auto-accept on again after it turned itself off (a fresh accuracy measure starts); "
        "false pauses it, keeping the thresholds.",
    )


@strawberry.type
class UpdateQualityPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[WorkflowError]


@strawberry.type(description="An item whose labels stayed unresolved at maxOverlap, waiting for an expert.")
class Escalation:
    reason: str
    confidence: float = strawberry.field(description="The aggregation's confidence when it gave up.")
    created_at: datetime
    lease_expires_at: datetime | None = strawberry.field(description="Until when the claiming expert holds it.")
    resolved_at: datetime | None
    _row: strawberry.Private[models.Escalation]

    @classmethod
    def of(cls, row: models.Escalation) -> Escalation:
        return cls(
            reason=row.reason,
            confidence=row.confidence,
            created_at=row.created_at,
            lease_expires_at=row.lease_expires_at,
            resolved_at=row.resolved_at,
            _row=row,
        )

    @strawberry.field
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")] | None:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._row.item_id)
        return Item.of(row) if row else None

    @strawberry.field
    async def claimed_by(self, info: Info) -> User | None:
        return await known_user(info, self._row.claimed_by) if self._row.claimed_by else None


@strawberry.input
class ClaimNextEscalationInput:
    project_id: strawberry.ID


@strawberry.type
class ClaimNextEscalationPayload:
    escalation: Escalation | None
    resumed: bool = strawberry.field(description="True when this is the caller's still-leased escalation.")
    errors: list[WorkflowError]


@strawberry.input
class ResolveEscalationInput:
    item_id: strawberry.ID
    value: JSON = strawberry.field(description="The expert's value, checked against the label schema in force.")
    rationale: str = strawberry.field(description="Why: required, and kept as the decision's evidence.")


@strawberry.type
class ResolveEscalationPayload:
    decision: Decision | None
    item: Annotated[Item, strawberry.lazy("app.schema.items")] | None
    errors: list[WorkflowError]


@strawberry.input
class RefreshQualityInput:
    project_id: strawberry.ID


@strawberry.type
class RefreshQualityPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    fields: int = strawberry.field(description="Label fields estimated.")
    labels_used: int = strawberry.field(description="Counted labels the estimate was made from.")
    redecided: int = strawberry.field(
        description="Items the aggregation had decided whose value changed: each got a new decision version."
    )
    errors: list[WorkflowError]


@strawberry.type
class QualityMutation:
    @strawberry.mutation(
        description="Re-estimate the annotators now (WEIGHTED, DAWID_SKENE; a no-op under MAJORITY) and re-decide "
        "the items the aggregation decided whose value the new estimate changes. Also runs by itself after every "
        "refreshEvery new labels. Project managers and admins."
    )
    async def refresh_quality(self, info: Info, input: RefreshQualityInput) -> RefreshQualityPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> estimates.Refreshed:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await estimates.refresh_quality(session, info.context.actor, project_id)

        result = await run_mutation(info, estimates.REFRESH_QUALITY, input, act, WorkflowError)
        if isinstance(result, list):
            return RefreshQualityPayload(project=None, fields=0, labels_used=0, redecided=0, errors=result)
        return RefreshQualityPayload(
            project=Project.of(result.project),
            fields=result.fields,
            labels_used=result.labels_used,
            redecided=result.redecided,
            errors=[],
        )

    @strawberry.mutation(
        description="Experts: lease the oldest open escalation of the project that you did not label yourself; "
        "returns your live one if you have one."
    )
    async def claim_next_escalation(
        self, info: Info, input: ClaimNextEscalationInput
    ) -> ClaimNextEscalationPayload | None:
        async def act(session: AsyncSession) -> escalations.EscalationClaim:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await escalations.claim_next(session, info.context.actor, project_id)

        result = await run_mutation(info, escalations.CLAIM_NEXT_ESCALATION, input, act, WorkflowError)
        if isinstance(result, list):
            return ClaimNextEscalationPayload(escalation=None, resumed=False, errors=result)
        return ClaimNextEscalationPayload(
            escalation=Escalation.of(result.escalation), resumed=result.resumed, errors=[]
        )

    @strawberry.mutation(
        description="Experts: decide an escalated item with your value and rationale (EXPERT_RESOLVED). Not on "
        "an item you labeled (SELF_REVIEW) or one another expert holds (NOT_ASSIGNEE)."
    )
    async def resolve_escalation(self, info: Info, input: ResolveEscalationInput) -> ResolveEscalationPayload | None:
        from app.schema.items import Item

        async def act(session: AsyncSession) -> escalations.Resolved:
            new = escalations.Resolution(
                item_id=input_id(input.item_id, "Item", "itemId"), value=input.value, rationale=input.rationale
            )
            return await escalations.resolve(session, info.context.actor, new)

        result = await run_mutation(info, escalations.RESOLVE_ESCALATION, input, act, WorkflowError)
        if isinstance(result, list):
            return ResolveEscalationPayload(decision=None, item=None, errors=result)
        return ResolveEscalationPayload(decision=Decision.of(result.decision), item=Item.of(result.item), errors=[])

    @strawberry.mutation(
        description="Change a project's quality policy (project managers and admins); audited with the values "
        "before and after. The new overlap applies to items imported from now on, the rest to every item settled "
        "from now on."
    )
    async def update_quality_policy(
        self, info: Info, input: UpdateQualityPolicyInput
    ) -> UpdateQualityPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            change = policy.PolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                overlap=input.overlap,
                max_overlap=input.max_overlap,
                method=input.method,
                accept_confidence=input.accept_confidence,
                review_rate=input.review_rate,
                review_below_confidence=input.review_below_confidence,
                refresh_every=input.refresh_every,
                audit_rate=input.audit_rate,
                audit_below_confidence=input.audit_below_confidence,
                high_impact_classes=input.high_impact_classes,  # type: ignore[arg-type]  # checked there
                rare_class_share=input.rare_class_share,
                audit_expert_decisions=input.audit_expert_decisions,
                label_issues_top=input.label_issues_top,
                auto_accept_confidence=input.auto_accept_confidence,  # type: ignore[arg-type]  # checked there
                spot_check_rate=input.spot_check_rate,
                auto_accept_floor=input.auto_accept_floor,
                auto_accept_min_checks=input.auto_accept_min_checks,
                auto_accept_enabled=input.auto_accept_enabled,
            )
            return await policy.update_policy(session, info.context.actor, change)

        result = await run_mutation(info, policy.UPDATE_QUALITY_POLICY, input, act, WorkflowError)
        if isinstance(result, list):
            return UpdateQualityPolicyPayload(project=None, errors=result)
        return UpdateQualityPolicyPayload(project=Project.of(result), errors=[])


@strawberry.type(description="Agreement and annotators' accuracy on one class of a field.")
class ClassQuality:
    value: str = strawberry.field(description='The class as canonical JSON (e.g. "\\"pos\\"" or "3").')
    agreement: float | None = strawberry.field(description="Krippendorff's alpha of this class against the rest.")
    precision: float = strawberry.field(description="Of the labels giving this class, the share the final label has.")
    recall: float = strawberry.field(description="Of the labels on items finally of this class, the share giving it.")
    f1: float
    support: int = strawberry.field(description="Labels on items whose final label is this class.")


@strawberry.type(description="Agreement on one field, measured as its kind calls for, and the error pattern.")
class FieldQuality:
    name: str
    kind: str
    statistic: str = strawberry.field(
        description="krippendorff_alpha_nominal (choices, taxonomy), _ordinal (ratings), _interval (numbers), "
        "krippendorff_alpha_binary_per_class (multi-choice, mean over classes), mean_pairwise_span_f1_overlap, "
        "mean_pairwise_box_f1_iou_0.5, pairwise_exact (text)."
    )
    agreement: float | None = strawberry.field(description="The statistic; null when there is nothing to pair.")
    pairwise_agreement: float | None = strawberry.field(description="Agreeing pairs / all pairs of labels on an item.")
    classes: list[ClassQuality]
    confusion_classes: list[str] = strawberry.field(description="Row and column order of `confusion`.")
    confusion: JSON = strawberry.field(
        description="Counts: rows the final label's class, columns the class an annotator gave (the per-label error "
        "patterns)."
    )
    pairs: list[PairQuality] = strawberry.field(
        description="Per pair of annotators sharing items (the 500 sharing the most): how often they agree."
    )
    gold_answers: int = strawberry.field(
        description="Gold answers in the period scored on this field (their gold answer has it)."
    )
    gold_accuracy: float | None = strawberry.field(
        description="Mean score of those answers on this field (0..1: exact match, or set, span or box F1 by the "
        "field's kind); null without one."
    )


@strawberry.type(description="Two annotators on the items both labeled.")
class PairQuality:
    items: int
    agreement: float = strawberry.field(description="Share of the shared items on which they gave the same value.")
    kappa: float | None = strawberry.field(description="Cohen's unweighted kappa; null when both used one class only.")
    _first: strawberry.Private[str]
    _second: strawberry.Private[str]

    @strawberry.field
    async def first(self, info: Info) -> User | None:
        return await known_user(info, uuid.UUID(self._first))

    @strawberry.field
    async def second(self, info: Info) -> User | None:
        return await known_user(info, uuid.UUID(self._second))


@strawberry.type(description="One annotator on one class field.")
class AnnotatorFieldQuality:
    field: str
    accuracy: float | None = strawberry.field(description="Share of its labels on decided items matching the final.")
    confusion: JSON = strawberry.field(
        description="Its counts against the final labels: rows the final class, columns its class, in the field's "
        "confusionClasses order."
    )
    estimated_classes: list[str] = strawberry.field(description="Row and column order of estimatedConfusion.")
    estimated_confusion: JSON | None = strawberry.field(
        description="The project's Dawid-Skene estimate: rows the true class, the probability it gives each column; "
        "null without a Dawid-Skene estimate of this annotator."
    )
    estimated_accuracy: float | None = strawberry.field(
        description="The estimate's accuracy (Dawid-Skene or weighted vote, with gold answers as known truth); "
        "null without one."
    )
    gold_answers: int = strawberry.field(description="Its gold answers in the period scored on this field.")
    gold_accuracy: float | None = strawberry.field(
        description="Their mean score on this field (0..1); null without one."
    )


@strawberry.type
class AnnotatorQuality:
    labels: int = strawberry.field(description="Its labels of items to decide (gold answers are counted apart).")
    accuracy: float | None = strawberry.field(
        description="Share of its labels on decided items matching the final label."
    )
    agreement: float | None = strawberry.field(description="Share of its pairs with other annotators that agree.")
    median_time_ms: float | None
    labels_per_active_hour: float | None = strawberry.field(
        description="Throughput: its labels / the clock hours in which it submitted at least one."
    )
    fields: list[AnnotatorFieldQuality] = strawberry.field(
        description="Per single-choice, taxonomy or rating field of at most 50 classes."
    )
    gold_answers: int = strawberry.field(description="Its gold answers in the period.")
    gold_accuracy: float | None = strawberry.field(
        description="Their mean score (0..1, each the mean over the gold answer's fields), over the period (not "
        "the rolling goldWindow of project.annotators); null without one."
    )
    _annotator: strawberry.Private[str]

    @strawberry.field
    async def annotator(self, info: Info) -> User | None:
        return await known_user(info, uuid.UUID(self._annotator))


@strawberry.type(
    description="The figures over one set of labels (the whole period or one segment). Answers to gold questions "
    "are not labels here: they are left out of the label figures (agreement, accuracy against final labels, "
    "throughput) and counted in the gold ones."
)
class QualityFigures:
    labels: int = strawberry.field(description="Labels of items to decide (gold answers apart).")
    items: int
    fields: list[FieldQuality]
    annotators: list[AnnotatorQuality] = strawberry.field(
        description="Everyone with labels or gold answers in the period."
    )
    gold_answers: int = strawberry.field(description="Answers to gold questions in the period.")
    gold_accuracy: float | None = strawberry.field(description="Their mean score (0..1); null without one.")

    @classmethod
    def of(cls, f: Figures) -> QualityFigures:
        return cls(
            labels=f.labels,
            items=f.items,
            fields=[
                FieldQuality(
                    name=x.name,
                    kind=x.kind,
                    statistic=x.statistic,
                    agreement=x.agreement,
                    pairwise_agreement=x.pairwise_agreement,
                    classes=[ClassQuality(**c.__dict__) for c in x.classes],
                    confusion_classes=x.confusion_classes,
                    confusion=JSON(x.confusion),
                    pairs=[
                        PairQuality(
                            items=p.items, agreement=p.agreement, kappa=p.kappa, _first=p.first, _second=p.second
                        )
                        for p in x.pairs
                    ],
                    gold_answers=x.gold_answers,
                    gold_accuracy=x.gold_accuracy,
                )
                for x in f.fields
            ],
            annotators=[
                AnnotatorQuality(
                    labels=a.labels,
                    accuracy=a.accuracy,
                    agreement=a.agreement,
                    median_time_ms=a.median_time_ms,
                    labels_per_active_hour=a.labels_per_active_hour,
                    fields=[
                        AnnotatorFieldQuality(
                            field=x.name,
                            accuracy=x.accuracy,
                            confusion=JSON(x.confusion),
                            estimated_classes=x.estimated_classes,
                            estimated_confusion=None if x.estimated_confusion is None else JSON(x.estimated_confusion),
                            estimated_accuracy=x.estimated_accuracy,
                            gold_answers=x.gold_answers,
                            gold_accuracy=x.gold_accuracy,
                        )
                        for x in a.fields
                    ],
                    gold_answers=a.gold_answers,
                    gold_accuracy=a.gold_accuracy,
                    _annotator=a.annotator,
                )
                for a in f.annotators
            ],
            gold_answers=f.gold_answers,
            gold_accuracy=f.gold_accuracy,
        )


@strawberry.type
class QualitySegment:
    value: str = strawberry.field(description="The item metadata value (as text) of this segment.")
    figures: QualityFigures


@strawberry.type(description="The labels and gold answers of one time window, and how the labels' distribution moved.")
class QualityWindow:
    start: datetime
    labels: int
    distribution: JSON = strawberry.field(
        description="Per choice, taxonomy, rating or multi-choice field: canonical value -> share of the labels."
    )
    drift: JSON = strawberry.field(
        description="Per field: Jensen-Shannon divergence (base 2, 0..1) from the previous window with labels; null "
        "for the first."
    )
    gold_answers: int = strawberry.field(description="Answers to gold questions in this window.")
    gold_accuracy: float | None = strawberry.field(description="Their mean score (0..1); null without one.")


@strawberry.type(description="QA audits of the decisions that gave one class of one field.")
class AuditClassQuality:
    field: str
    value: str = strawberry.field(description="The class as canonical JSON.")
    audits: int
    overturned: int
    overturn_rate: float | None


@strawberry.type(description="One annotator's labels behind audited decisions.")
class AuditAnnotatorQuality:
    labels: int = strawberry.field(description="Its labels behind the audited decisions.")
    errors: int = strawberry.field(
        description="Of those, behind an overturned decision and differing from the value it was overturned to."
    )
    error_rate: float | None
    _annotator: strawberry.Private[str]

    @strawberry.field
    async def annotator(self, info: Info) -> User | None:
        return await known_user(info, uuid.UUID(self._annotator))


@strawberry.type(description="Audits of the decisions one reviewer's reviews made.")
class AuditReviewerQuality:
    audits: int
    overturned: int
    overturn_rate: float | None
    _reviewer: strawberry.Private[str]

    @strawberry.field
    async def reviewer(self, info: Info) -> User | None:
        return await known_user(info, uuid.UUID(self._reviewer))


@strawberry.type(description="QA audits completed in the period and how often they overturned the decision.")
class AuditQuality:
    audits: int
    overturned: int
    overturn_rate: float | None
    classes: list[AuditClassQuality] = strawberry.field(description="Per (field, class) the audited decision gave.")
    annotators: list[AuditAnnotatorQuality]
    reviewers: list[AuditReviewerQuality]

    @classmethod
    def of(cls, f: AuditFigures) -> AuditQuality:
        return cls(
            audits=f.audits,
            overturned=f.overturned,
            overturn_rate=f.overturn_rate,
            classes=[
                AuditClassQuality(
                    field=c.field,
                    value=c.value,
                    audits=c.audits,
                    overturned=c.overturned,
                    overturn_rate=c.overturn_rate,
                )
                for c in f.classes
            ],
            annotators=[
                AuditAnnotatorQuality(labels=a.labels, errors=a.errors, error_rate=a.error_rate, _annotator=a.annotator)
                for a in f.annotators
            ],
            reviewers=[
                AuditReviewerQuality(
                    audits=r.audits, overturned=r.overturned, overturn_rate=r.overturn_rate, _reviewer=r.reviewer
                )
                for r in f.reviewers
            ],
        )


@strawberry.type(
    description="Auto-accept now: whether it is on, what it decided, and its spot checks since it was last turned on."
)
class AutoAcceptQuality:
    enabled: bool
    accepted: int = strawberry.field(description="Items decided AUTO_ACCEPTED in the project (whole history).")
    spot_checks: int = strawberry.field(description="Items marked as spot checks since auto-accept was last turned on.")
    spot_checks_decided: int = strawberry.field(description="Of those, decided by humans.")
    spot_checks_agreeing: int = strawberry.field(description="Decided with the suggested value on its every field.")
    accuracy: float | None = strawberry.field(description="Agreeing / decided spot checks; null without one.")
    turned_off_at: datetime | None = strawberry.field(description="When it turned itself off (or was paused).")
    turned_off_reason: str | None = strawberry.field(description="Why, with the figures.")


@strawberry.type(description="A project's quality over a period: agreement, annotators, error patterns, the loop.")
class ProjectQuality:
    figures: QualityFigures
    reviews: int
    review_rejection_rate: float | None
    escalations: int
    escalation_rate: float | None = strawberry.field(description="Escalated items / items settled.")
    decided_items: int
    labels_per_decided_item: float | None
    median_cycle_time_seconds: float | None = strawberry.field(description="From import to the decision in force.")
    segments: list[QualitySegment] = strawberry.field(description="Per value of segmentBy (at most 50).")
    windows: list[QualityWindow] = strawberry.field(description="Per `window` hours, oldest first (the last 1000).")
    audits: AuditQuality = strawberry.field(description="QA audits completed in [from, to).")
    auto_accept: AutoAcceptQuality = strawberry.field(
        description="Auto-accept as it stands (not limited to the period). AUTO_ACCEPTED decisions have no human "
        "labels behind them and are left out of the annotator and label figures above."
    )


@strawberry.type
class QualityQuery:
    @strawberry.field(
        description="Quality figures of a project over labels made in [from, to). Admins, project managers and QA "
        "auditors; null for a project you cannot read, null with FORBIDDEN for other roles."
    )
    async def project_quality(
        self,
        info: Info,
        project_id: strawberry.ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        segment_by: str | None = None,
        window: Annotated[
            int | None, strawberry.argument(description="Hours per window of the time series (1..8784).")
        ] = None,
    ) -> ProjectQuality | None:
        async with info.context.db() as session:
            project = await project_reads.get_project(session, info.context.actor, decode_id(project_id, "Project"))
            if project is None:
                return None
            try:
                report = await quality_report.project_quality(
                    session,
                    info.context.actor,
                    project,
                    since=from_,
                    until=to,
                    segment_by=segment_by,
                    window_hours=window,
                )
            except DomainError as exc:  # a bad argument of a query: BAD_USER_INPUT, as for `first`
                raise bad_input(exc.problems[0].message) from None
        flow = report.flow
        return ProjectQuality(
            figures=QualityFigures.of(report.figures),
            reviews=flow.reviews,
            review_rejection_rate=flow.review_rejection_rate,
            escalations=flow.escalations,
            escalation_rate=flow.escalation_rate,
            decided_items=flow.decided_items,
            labels_per_decided_item=flow.labels_per_decided_item,
            median_cycle_time_seconds=flow.median_cycle_time_s,
            segments=[QualitySegment(value=k, figures=QualityFigures.of(v)) for k, v in report.segments.items()],
            windows=[
                QualityWindow(
                    start=datetime.fromtimestamp(w.start, UTC),
                    labels=w.labels,
                    distribution=JSON(w.distribution),
                    drift=JSON(w.drift),
                    gold_answers=w.gold_answers,
                    gold_accuracy=w.gold_accuracy,
                )
                for w in report.windows
            ],
            audits=AuditQuality.of(report.audits),
            auto_accept=AutoAcceptQuality(
                enabled=report.auto_accept.enabled,
                accepted=report.auto_accept.accepted,
                spot_checks=report.auto_accept.spot_checks,
                spot_checks_decided=report.auto_accept.decided,
                spot_checks_agreeing=report.auto_accept.agreeing,
                accuracy=report.auto_accept.agreeing / report.auto_accept.decided
                if report.auto_accept.decided
                else None,
                turned_off_at=report.auto_accept.turned_off_at,
                turned_off_reason=report.auto_accept.turned_off_reason,
            ),
        )
