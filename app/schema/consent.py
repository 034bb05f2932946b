"""Consent: recordConsent, revokeConsent, updateConsentPolicy, consentRecords, consentRecord and
Project.consentPolicy (app/consent/)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import utcnow
from app.consent import error_codes as area_codes
from app.consent import models, reads, service
from app.projects import models as project_models
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.mutation import input_id, run_mutation
from app.schema.node import Node, decode_id, global_id

if TYPE_CHECKING:
    from app.schema.projects import Project

ConsentErrorCode = strawberry.enum(area_codes.ConsentErrorCode, description=area_codes.ConsentErrorCode.__doc__)
LegalBasis = strawberry.enum(models.LegalBasis, description=models.LegalBasis.__doc__)
ConsentStatus = strawberry.enum(
    models.ConsentStatus,
    description="Read at the time of asking: REVOKED once revoked, EXPIRED once expiresAt passed, else ACTIVE.",
)


@strawberry.type(description="A failure of a consent mutation; `field` names the row (records.N.field).")
class ConsentError(UserError):
    codes = area_codes.ConsentErrorCode
    code: ConsentErrorCode  # type: ignore[valid-type]


@strawberry.type(
    description="What a (pseudonymous) subject agreed to, on which legal basis, until when. Never edited: a "
    "revocation is a fact of its own (revokedAt), a changed consent a new record."
)
class ConsentRecord(Node):
    subject_ref: str = strawberry.field(description="The subject's pseudonym (never a name or an address).")
    purposes: list[str] = strawberry.field(description="annotation, model_training, or a project's own purposes.")
    legal_basis: LegalBasis  # type: ignore[valid-type]
    granted_at: datetime
    expires_at: datetime | None
    jurisdiction: str = strawberry.field(description="ISO 3166 code: a country (DE) or a subdivision (US-CA).")
    collector: str = strawberry.field(description="Who collected the consent (a system or an organisation).")
    evidence_ref: str = strawberry.field(description="Where the proof of consent is kept.")
    notice_version: str = strawberry.field(description="The version of the notice the subject consented to.")
    recorded_at: datetime
    status: ConsentStatus  # type: ignore[valid-type]
    revoked_at: datetime | None
    revocation_reason: str | None

    @classmethod
    def of(cls, consent: reads.Consent, now: datetime | None = None) -> ConsentRecord:
        record, revocation = consent.record, consent.revocation
        return cls(
            id=global_id("ConsentRecord", record.id),
            subject_ref=record.subject_ref,
            purposes=list(record.purposes),
            legal_basis=record.legal_basis,
            granted_at=record.granted_at,
            expires_at=record.expires_at,
            jurisdiction=record.jurisdiction,
            collector=record.collector,
            evidence_ref=record.evidence_ref,
            notice_version=record.notice_version,
            recorded_at=record.recorded_at,
            status=consent.status(now or utcnow()),
            revoked_at=revocation.revoked_at if revocation else None,
            revocation_reason=revocation.reason if revocation else None,
        )


@strawberry.type(description="Whether items here need consent, and the purposes beyond the standard ones accepted.")
class ConsentPolicy:
    required: bool = strawberry.field(
        description="Every imported item names a consent record in force that covers annotation."
    )
    purposes: list[str] = strawberry.field(
        description="Purposes this project accepts besides annotation and model_training (records and exports)."
    )

    @classmethod
    def of(cls, row: project_models.Project) -> ConsentPolicy:
        return cls(required=row.consent_required, purposes=list(row.consent_purposes or []))


@strawberry.input
class ConsentRecordInput:
    subject_ref: str = strawberry.field(description="A pseudonym: 1-200 of A-Z a-z 0-9 . _ : - (no e-mail address).")
    purposes: list[str]
    legal_basis: LegalBasis  # type: ignore[valid-type]
    granted_at: datetime
    jurisdiction: str
    collector: str
    evidence_ref: str
    notice_version: str
    expires_at: datetime | None = None


@strawberry.input
class RecordConsentInput:
    records: list[ConsentRecordInput] = strawberry.field(
        description="Up to 10,000 records. One bad row records nothing, with an error per row."
    )


@strawberry.type
class RecordConsentPayload:
    recorded_count: int
    consent_ids: list[strawberry.ID] = strawberry.field(description="The new records' ids, in input order.")
    errors: list[ConsentError]


@strawberry.input(description="Name either consentIds or a subjectRef (every record of the subject not yet revoked).")
class RevokeConsentInput:
    reason: str
    consent_ids: list[strawberry.ID] | None = None
    subject_ref: str | None = None


@strawberry.type
class RevokeConsentPayload:
    revoked: list[ConsentRecord]
    items_withdrawn: int = strawberry.field(description="Items that left every queue and export.")
    assignments_cancelled: int = strawberry.field(description="Open tasks on them, now CANCELLED.")
    errors: list[ConsentError]


@strawberry.input
class UpdateConsentPolicyInput:
    project_id: strawberry.ID
    required: bool | None = None
    purposes: list[str] | None = strawberry.field(
        default=None, description="Replaces the project's extra purposes (lower-case names)."
    )


@strawberry.type
class UpdateConsentPolicyPayload:
    project: Annotated[Project, strawberry.lazy("app.schema.projects")] | None
    errors: list[ConsentError]


@strawberry.type
class ConsentQuery:
    @strawberry.field(
        description="Consent records oldest first, of one subject when named. Compliance officers, ingestion "
        "services and admins; null with FORBIDDEN for other roles."
    )
    async def consent_records(
        self, info: Info, subject_ref: str | None = None, first: int = 50, after: str | None = None
    ) -> Connection[ConsentRecord] | None:
        limit = page_size(first)
        start = uuid_cursor(after)
        async with info.context.db() as session:
            rows = await reads.list_consents(
                session, info.context.actor, subject_ref=subject_ref, after=start, limit=limit + 1
            )
        now = utcnow()
        return connection(rows, limit, key=lambda c: c.record.id, node=lambda c: ConsentRecord.of(c, now), after=after)

    @strawberry.field(description="A consent record; null when missing or when you may not read consent.")
    async def consent_record(self, info: Info, id: strawberry.ID) -> ConsentRecord | None:
        pk = decode_id(id, "ConsentRecord")
        async with info.context.db() as session:
            found = await reads.get_consent(session, info.context.actor, pk)
        return ConsentRecord.of(found) if found else None


@strawberry.type
class ConsentMutation:
    @strawberry.mutation(
        description="Record consent (compliance officers and ingestion services; audited): all rows or none."
    )
    async def record_consent(self, info: Info, input: RecordConsentInput) -> RecordConsentPayload | None:
        rows = [
            service.NewConsent(
                subject_ref=r.subject_ref,
                purposes=list(r.purposes),
                legal_basis=models.LegalBasis(r.legal_basis),
                granted_at=r.granted_at,
                jurisdiction=r.jurisdiction,
                collector=r.collector,
                evidence_ref=r.evidence_ref,
                notice_version=r.notice_version,
                expires_at=r.expires_at,
            )
            for r in input.records
        ]

        async def act(session: AsyncSession) -> tuple[uuid.UUID, ...]:
            return tuple(await service.record_consent(session, info.context.actor, rows))

        result = await run_mutation(info, service.RECORD_CONSENT, input, act, ConsentError)
        if isinstance(result, list):
            return RecordConsentPayload(recorded_count=0, consent_ids=[], errors=result)
        ids = [strawberry.ID(global_id("ConsentRecord", pk)) for pk in result]
        return RecordConsentPayload(recorded_count=len(ids), consent_ids=ids, errors=[])

    @strawberry.mutation(
        description="Revoke consent (compliance officers and ingestion services; audited). At once the items "
        "imported under it are WITHDRAWN (out of every queue and export) and their open tasks CANCELLED."
    )
    async def revoke_consent(self, info: Info, input: RevokeConsentInput) -> RevokeConsentPayload | None:
        async def act(session: AsyncSession) -> service.Revoked:
            ids = (
                None
                if input.consent_ids is None
                else [input_id(c, "ConsentRecord", f"consentIds.{i}") for i, c in enumerate(input.consent_ids)]
            )
            return await service.revoke_consent(
                session, info.context.actor, consent_ids=ids, subject_ref=input.subject_ref, reason=input.reason
            )

        result = await run_mutation(info, service.REVOKE_CONSENT, input, act, ConsentError)
        if isinstance(result, list):
            return RevokeConsentPayload(revoked=[], items_withdrawn=0, assignments_cancelled=0, errors=result)
        return RevokeConsentPayload(
            revoked=[ConsentRecord.of(c) for c in result.consents],
            items_withdrawn=result.items_withdrawn,
            assignments_cancelled=result.assignments_cancelled,
            errors=[],
        )

    @strawberry.mutation(
        description="Require consent for a project's imports, and set the extra purposes it accepts (project "
        "managers and admins; audited)."
    )
    async def update_consent_policy(
        self, info: Info, input: UpdateConsentPolicyInput
    ) -> UpdateConsentPolicyPayload | None:
        from app.schema.projects import Project

        async def act(session: AsyncSession) -> project_models.Project:
            change = service.ConsentPolicyChange(
                project_id=input_id(input.project_id, "Project", "projectId"),
                consent_required=input.required,
                purposes=input.purposes,
            )
            return await service.update_consent_policy(session, info.context.actor, change)

        result = await run_mutation(info, service.UPDATE_CONSENT_POLICY, input, act, ConsentError)
        if isinstance(result, list):
            return UpdateConsentPolicyPayload(project=None, errors=result)
        return UpdateConsentPolicyPayload(project=Project.of(result), errors=[])
