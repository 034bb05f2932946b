"""The QA audit stage: an item's audits, claiming and submitting audits, and escalating an item to
an expert from review or audit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.audits import error_codes as area_codes
from app.audits import models, service
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.identity import User, known_user
from app.schema.mutation import input_id, run_mutation
from app.schema.quality import Escalation
from app.schema.workflow import Decision

if TYPE_CHECKING:
    from app.schema.items import Item

AuditErrorCode = strawberry.enum(area_codes.AuditErrorCode, description=area_codes.AuditErrorCode.__doc__)
AuditReason = strawberry.enum(models.AuditReason, description="Why an item entered the audit queue.")
AuditStatus = strawberry.enum(models.AuditStatus)
AuditVerdict = strawberry.enum(models.AuditVerdict)
FindingKind = strawberry.enum(models.FindingKind, description="What an auditor found about one (field, class).")


@strawberry.type(description="A failure of an audit or escalation operation.")
class AuditError(UserError):
    codes = area_codes.AuditErrorCode
    code: AuditErrorCode  # type: ignore[valid-type]


@strawberry.type(description="What an auditor found about one class of one field.")
class AuditFinding:
    field: str
    class_: JSON | None = strawberry.field(name="class", description="The class (null for a field without classes).")
    kind: FindingKind  # type: ignore[valid-type]


@strawberry.type(description="A QA audit of one decision on an item: pending, or its verdict with findings.")
class ItemAudit:
    status: AuditStatus  # type: ignore[valid-type]
    reasons: list[AuditReason]  # type: ignore[valid-type]
    reason_detail: str = strawberry.field(description="What flagged the item, for FLAGGED.")
    decision_version: int = strawberry.field(description="The version of the item's decision audited.")
    verdict: AuditVerdict | None  # type: ignore[valid-type]
    comment: str
    created_at: datetime
    lease_expires_at: datetime | None = strawberry.field(description="Until when the claiming auditor holds it.")
    completed_at: datetime | None
    _row: strawberry.Private[models.QaAudit]

    @classmethod
    def of(cls, row: models.QaAudit) -> ItemAudit:
        return cls(
            status=row.status,
            reasons=[models.AuditReason(r) for r in row.reasons],
            reason_detail=row.reason_detail,
            decision_version=row.decision_version,
            verdict=row.verdict,
            comment=row.comment,
            created_at=row.created_at,
            lease_expires_at=row.lease_expires_at,
            completed_at=row.completed_at,
            _row=row,
        )

    @strawberry.field(description="The auditor who claimed it (and gave the verdict).")
    async def auditor(self, info: Info) -> User | None:
        return await known_user(info, self._row.claimed_by) if self._row.claimed_by else None

    @strawberry.field
    async def findings(self, info: Info) -> list[AuditFinding]:
        rows = await info.context.loaders.findings_of_audit.load(self._row.id)
        return [AuditFinding(field=r.field, class_=JSON(_parsed(r.class_value)), kind=r.kind) for r in rows]

    @strawberry.field
    async def item(self, info: Info) -> Annotated[Item, strawberry.lazy("app.schema.items")] | None:
        from app.schema.items import Item

        row = await info.context.loaders.item.load(self._row.item_id)
        return Item.of(row) if row else None


def _parsed(text: str) -> object:
    return json.loads(text)


@strawberry.input
class ClaimNextAuditInput:
    project_id: strawberry.ID


@strawberry.type
class ClaimNextAuditPayload:
    audit: ItemAudit | None
    item: Annotated[Item, strawberry.lazy("app.schema.items")] | None
    resumed: bool = strawberry.field(description="True when this is the caller's still-leased audit.")
    errors: list[AuditError]


@strawberry.input
class AuditFindingInput:
    field: str
    class_: JSON | None = strawberry.field(name="class", default=None, description="A class of the field.")
    kind: FindingKind  # type: ignore[valid-type]


@strawberry.input
class SubmitAuditInput:
    item_id: strawberry.ID
    verdict: AuditVerdict  # type: ignore[valid-type]
    value: JSON | None = strawberry.field(
        default=None, description="OVERTURN only: the new value, checked against the label schema in force."
    )
    findings: list[AuditFindingInput] = strawberry.field(default_factory=list, description="At most 100.")
    comment: str = strawberry.field(default="", description="Required with OVERTURN: the new decision's rationale.")


@strawberry.type
class SubmitAuditPayload:
    audit: ItemAudit | None
    decision: Decision | None = strawberry.field(description="The new decision version an overturn recorded.")
    item: Annotated[Item, strawberry.lazy("app.schema.items")] | None
    errors: list[AuditError]


@strawberry.input
class EscalateItemInput:
    item_id: strawberry.ID
    reason: str = strawberry.field(description="What the expert should settle: required.")


@strawberry.type
class EscalateItemPayload:
    escalation: Escalation | None
    item: Annotated[Item, strawberry.lazy("app.schema.items")] | None
    errors: list[AuditError]


@strawberry.type
class AuditsMutation:
    @strawberry.mutation(
        description="QA auditors: lease the oldest pending audit of the project on an item you did not label, "
        "review or decide; returns your live one if you have one."
    )
    async def claim_next_audit(self, info: Info, input: ClaimNextAuditInput) -> ClaimNextAuditPayload | None:
        from app.schema.items import Item

        async def act(session: AsyncSession) -> service.AuditClaim:
            project_id = input_id(input.project_id, "Project", "projectId")
            return await service.claim_next(session, info.context.actor, project_id)

        result = await run_mutation(info, service.CLAIM_NEXT_AUDIT, input, act, AuditError)
        if isinstance(result, list):
            return ClaimNextAuditPayload(audit=None, item=None, resumed=False, errors=result)
        return ClaimNextAuditPayload(
            audit=ItemAudit.of(result.audit), item=Item.of(result.item), resumed=result.resumed, errors=[]
        )

    @strawberry.mutation(
        description="QA auditors: give the verdict on the audit you hold. CONFIRM keeps the decision; OVERTURN "
        "records a new decision version (AUDIT_OVERTURNED) with your value and comment. STALE when the decision "
        "was superseded meanwhile."
    )
    async def submit_audit(self, info: Info, input: SubmitAuditInput) -> SubmitAuditPayload | None:
        from app.schema.items import Item

        async def act(session: AsyncSession) -> service.Audited:
            verdict = service.NewVerdict(
                item_id=input_id(input.item_id, "Item", "itemId"),
                verdict=input.verdict,
                value=input.value,
                findings=[service.Finding(f.field, f.class_, f.kind) for f in input.findings],
                comment=input.comment,
            )
            return await service.submit(session, info.context.actor, verdict)

        result = await run_mutation(info, service.SUBMIT_AUDIT, input, act, AuditError)
        if isinstance(result, list):
            return SubmitAuditPayload(audit=None, decision=None, item=None, errors=result)
        return SubmitAuditPayload(
            audit=ItemAudit.of(result.audit),
            decision=Decision.of(result.decision) if result.decision else None,
            item=Item.of(result.item),
            errors=[],
        )

    @strawberry.mutation(
        description="Send an item to the expert queue with a reason: reviewers (and admins) for an item IN_REVIEW, "
        "QA auditors for a FINAL one. Not an item you labeled (or, as an auditor, reviewed or decided)."
    )
    async def escalate_item(self, info: Info, input: EscalateItemInput) -> EscalateItemPayload | None:
        from app.schema.items import Item

        async def act(session: AsyncSession) -> service.Escalated:
            item_id = input_id(input.item_id, "Item", "itemId")
            return await service.escalate_item(session, info.context.actor, item_id, input.reason)

        result = await run_mutation(info, service.ESCALATE_ITEM, input, act, AuditError)
        if isinstance(result, list):
            return EscalateItemPayload(escalation=None, item=None, errors=result)
        return EscalateItemPayload(escalation=Escalation.of(result.escalation), item=Item.of(result.item), errors=[])
