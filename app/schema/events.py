"""Events: registerWebhook, updateWebhook, deleteWebhook, redeliverWebhookDelivery, Project.webhooks
with their deliveries, and the projectEvents subscription (app/events/)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.auth.middleware import token_expiry
from app.errors import DomainError, Unauthenticated
from app.events import error_codes as area_codes
from app.events import kinds as event_kinds
from app.events import models, reads, service, stream
from app.projects import models as project_models
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import PublicError, UserError
from app.schema.mutation import input_id, run_mutation
from app.schema.node import decode_id, global_id

EventKind = strawberry.enum(event_kinds.EventKind, description=event_kinds.EventKind.__doc__)
DeliveryStatus = strawberry.enum(
    models.DeliveryStatus,
    description="PENDING: due (now or at nextAttemptAt); SUCCEEDED: answered 2xx; FAILED: every attempt of the "
    "round failed (redeliver starts another); CANCELLED: the webhook was turned off before it went out.",
)
EventsErrorCode = strawberry.enum(area_codes.EventsErrorCode, description=area_codes.EventsErrorCode.__doc__)
DeliveryErrorCode = strawberry.enum(area_codes.DeliveryErrorCode, description=area_codes.DeliveryErrorCode.__doc__)


@strawberry.type(description="A failure of a webhook mutation.")
class EventsError(UserError):
    codes = area_codes.EventsErrorCode
    code: EventsErrorCode  # type: ignore[valid-type]


@strawberry.type(
    description="Something that happened in a project. `data` holds ids (global ids), counts, versions and "
    "values of the API's enums, never item content or free text; its keys are fixed per kind (README)."
)
class ProjectEvent:
    id: strawberry.ID = strawberry.field(description="Unique per event: receivers de-duplicate by it.")
    kind: EventKind  # type: ignore[valid-type]
    sequence: int = strawberry.field(description="1, 2, 3, ... in commit order, across the organisation.")
    project_id: strawberry.ID
    occurred_at: datetime
    data: JSON

    @classmethod
    def of(cls, row: models.Event) -> ProjectEvent:
        shown = reads.envelope(row)
        return cls(
            id=strawberry.ID(shown["id"]),
            kind=row.kind,
            sequence=row.seq,
            project_id=global_id("Project", row.project_id),
            occurred_at=reads.aware(row.occurred_at),
            data=JSON(row.data),
        )


@strawberry.type(description="Why an attempt failed, in our words (never the receiver's response body).")
class DeliveryError:
    code: DeliveryErrorCode  # type: ignore[valid-type]
    message: str


def _error(code: str | None, message: str | None) -> DeliveryError | None:
    if code is None:
        return None
    return DeliveryError(code=area_codes.DeliveryErrorCode(code), message=message or "")


@strawberry.type(description="One attempt of a delivery: the delivery log.")
class WebhookAttempt:
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None = strawberry.field(description="The receiver's HTTP status, when it answered.")
    error: DeliveryError | None = strawberry.field(description="Null for a 2xx answer.")
    next_retry_at: datetime | None = strawberry.field(
        description="When this failure was to be retried (null: no retry)."
    )

    @classmethod
    def of(cls, row: models.WebhookAttempt) -> WebhookAttempt:
        return cls(
            attempt=row.number,
            started_at=reads.aware(row.started_at),
            duration_ms=row.duration_ms,
            status_code=row.status_code,
            error=_error(row.error_code, row.error_message),
            next_retry_at=reads.aware(row.next_retry_at) if row.next_retry_at else None,
        )


@strawberry.type(description="One event owed to one webhook.")
class WebhookDelivery:
    id: strawberry.ID
    status: DeliveryStatus  # type: ignore[valid-type]
    event: ProjectEvent
    attempts: int = strawberry.field(description="Attempts started so far, every round.")
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error_code: DeliveryErrorCode | None  # type: ignore[valid-type]
    created_at: datetime
    delivered_at: datetime | None
    log: list[WebhookAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @classmethod
    def of(cls, row: models.WebhookDelivery, event: models.Event, log: list[models.WebhookAttempt]) -> WebhookDelivery:
        return cls(
            id=global_id("WebhookDelivery", row.id),
            status=row.status,
            event=ProjectEvent.of(event),
            attempts=row.attempts,
            next_attempt_at=reads.aware(row.next_attempt_at) if row.next_attempt_at else None,
            last_status_code=row.last_status_code,
            last_error_code=area_codes.DeliveryErrorCode(row.last_error_code) if row.last_error_code else None,
            created_at=reads.aware(row.created_at),
            delivered_at=reads.aware(row.delivered_at) if row.delivered_at else None,
            log=[WebhookAttempt.of(a) for a in log],
        )


@strawberry.type(
    description="Where a project's events are POSTed, signed (Labelgraph-Signature: t=...,v1=HMAC-SHA256 of "
    "`t.body` with the signing secret), retried with backoff. Managed by the project's managers and admins."
)
class Webhook:
    id: strawberry.ID
    url: str
    events: list[EventKind]  # type: ignore[valid-type]
    active: bool
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[models.Webhook]

    @classmethod
    def of(cls, row: models.Webhook) -> Webhook:
        return cls(
            id=global_id("Webhook", row.id),
            url=row.url,
            events=[event_kinds.EventKind(k) for k in row.events],
            active=row.active,
            created_at=reads.aware(row.created_at),
            updated_at=reads.aware(row.updated_at),
            row=row,
        )

    @strawberry.field(description="Deliveries newest first, with their log; at most 100 a page.")
    async def deliveries(
        self,
        info: Info,
        status: DeliveryStatus | None = None,  # type: ignore[valid-type]
        first: int = 20,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        limit, cursor = page_size(first), uuid_cursor(after)
        async with info.context.db() as session:
            rows = await reads.deliveries_of(session, self.row.id, status=status, after=cursor, limit=limit + 1)
            log = await reads.attempts_of(session, [d.id for d, _ in rows[:limit]])
        return connection(
            rows, limit, key=lambda r: r[0].id, node=lambda r: WebhookDelivery.of(r[0], r[1], log[r[0].id]), after=after
        )


async def project_webhooks(info: Info, row: project_models.Project) -> list[Webhook]:
    async with info.context.db() as session:
        found = await reads.webhooks_of(session, info.context.actor, row)
    return [Webhook.of(w) for w in found]


@strawberry.input
class RegisterWebhookInput:
    project_id: strawberry.ID
    url: str = strawberry.field(description="http(s), public address, no credentials; at most 2,048 characters.")
    events: list[EventKind] = strawberry.field(description="The kinds to send.")  # type: ignore[valid-type]
    active: bool = True


@strawberry.type
class RegisterWebhookPayload:
    webhook: Webhook | None
    signing_secret: str | None = strawberry.field(
        description="whsec_...: the HMAC key of the signatures. Shown only here, once: keep it."
    )
    errors: list[EventsError]


@strawberry.input(description="Fields left out keep their value.")
class UpdateWebhookInput:
    webhook_id: strawberry.ID
    events: list[EventKind] | None = None  # type: ignore[valid-type]
    active: bool | None = strawberry.field(
        default=None, description="Off: nothing more is sent, and what is still due is CANCELLED."
    )


@strawberry.type
class UpdateWebhookPayload:
    webhook: Webhook | None
    errors: list[EventsError]


@strawberry.input
class DeleteWebhookInput:
    webhook_id: strawberry.ID


@strawberry.type
class DeleteWebhookPayload:
    deleted_webhook_id: strawberry.ID | None
    errors: list[EventsError]


@strawberry.input
class RedeliverWebhookDeliveryInput:
    delivery_id: strawberry.ID


@strawberry.type
class RedeliverWebhookDeliveryPayload:
    delivery: WebhookDelivery | None
    errors: list[EventsError]


@strawberry.type
class EventsMutation:
    @strawberry.mutation(
        description="Register a webhook (project managers and admins; audited). The signing secret is in this "
        "answer only."
    )
    async def register_webhook(self, info: Info, input: RegisterWebhookInput) -> RegisterWebhookPayload | None:
        async def act(session: AsyncSession) -> service.Registered:
            new = service.NewWebhook(
                project_id=input_id(input.project_id, "Project", "projectId"),
                url=input.url,
                events=[event_kinds.EventKind(k) for k in input.events],
                active=input.active,
            )
            return await service.register_webhook(session, info.context.actor, info.context.runtime.settings, new)

        result = await run_mutation(info, service.REGISTER_WEBHOOK, input, act, EventsError)
        if isinstance(result, list):
            return RegisterWebhookPayload(webhook=None, signing_secret=None, errors=result)
        return RegisterWebhookPayload(webhook=Webhook.of(result.webhook), signing_secret=result.secret, errors=[])

    @strawberry.mutation(description="Change which events a webhook gets, or turn it off and on (audited).")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> UpdateWebhookPayload | None:
        async def act(session: AsyncSession) -> models.Webhook:
            change = service.WebhookChange(
                webhook_id=input_id(input.webhook_id, "Webhook", "webhookId"),
                events=None if input.events is None else [event_kinds.EventKind(k) for k in input.events],
                active=input.active,
            )
            return await service.update_webhook(session, info.context.actor, change)

        result = await run_mutation(info, service.UPDATE_WEBHOOK, input, act, EventsError)
        if isinstance(result, list):
            return UpdateWebhookPayload(webhook=None, errors=result)
        return UpdateWebhookPayload(webhook=Webhook.of(result), errors=[])

    @strawberry.mutation(description="Delete a webhook with its deliveries and their log (audited).")
    async def delete_webhook(self, info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload | None:
        async def act(session: AsyncSession) -> uuid.UUID:
            webhook_id = input_id(input.webhook_id, "Webhook", "webhookId")
            return await service.delete_webhook(session, info.context.actor, webhook_id)

        result = await run_mutation(info, service.DELETE_WEBHOOK, input, act, EventsError)
        if isinstance(result, list):
            return DeleteWebhookPayload(deleted_webhook_id=None, errors=result)
        return DeleteWebhookPayload(deleted_webhook_id=global_id("Webhook", result), errors=[])

    @strawberry.mutation(
        description="Send a delivery again (a new round of attempts, the same event id, freshly signed; audited)."
    )
    async def redeliver_webhook_delivery(
        self, info: Info, input: RedeliverWebhookDeliveryInput
    ) -> RedeliverWebhookDeliveryPayload | None:
        async def act(session: AsyncSession) -> WebhookDelivery:
            delivery_id = input_id(input.delivery_id, "WebhookDelivery", "deliveryId")
            delivery = await service.redeliver(session, info.context.actor, delivery_id)
            event = await session.get(models.Event, delivery.event_id)
            assert event is not None
            log = await reads.attempts_of(session, [delivery.id])
            return WebhookDelivery.of(delivery, event, log[delivery.id])

        result = await run_mutation(info, service.REDELIVER, input, act, EventsError)
        if isinstance(result, list):
            return RedeliverWebhookDeliveryPayload(delivery=None, errors=result)
        return RedeliverWebhookDeliveryPayload(delivery=result, errors=[])


@strawberry.type
class EventsSubscription:
    @strawberry.subscription(
        description="A project's events as they commit, over WebSocket (graphql-transport-ws). Roles that read the "
        "project's work (admin, project manager, reviewer, QA auditor, expert, ML service, compliance officer); a "
        "project you cannot read is NOT_FOUND, as a missing one. `afterSequence` replays the outbox first (resume "
        "after a reconnect). Ends when the access token expires."
    )
    async def project_events(
        self,
        info: Info,
        project_id: strawberry.ID,
        kinds: list[EventKind] | None = None,  # type: ignore[valid-type]
        after_sequence: int | None = None,
    ) -> AsyncGenerator[ProjectEvent, None]:
        pk = decode_id(project_id, "Project", "projectId")
        runtime = info.context.runtime
        actor = info.context.actor

        async def still_active() -> bool:
            return await runtime.identity(actor.id) is not None

        events = stream.project_events(
            runtime.sessions,
            runtime.hub,
            actor,
            pk,
            [event_kinds.EventKind(k) for k in kinds or []],
            after_sequence,
            expires_at=token_expiry(info.context.request.scope),
            still_active=still_active,
        )
        try:
            async for event in events:
                yield ProjectEvent.of(event)
        except DomainError as exc:
            raise PublicError(exc.problems[0].message, exc.problems[0].code) from None
        except Unauthenticated as exc:
            raise PublicError(str(exc), "UNAUTHENTICATED") from None
