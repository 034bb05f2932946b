"""Access history in GraphQL: the accessEvents query, and the extension that names each
request's operation and notes its denials (app/access/)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import strawberry
from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON

from app.access import models
from app.access import note as access
from app.access.service import RESOURCES_SHOWN, AccessFilter, list_access_events
from app.errors import Forbidden
from app.ids import encode_global_id
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.errors import PublicError
from app.schema.identity import User, load_user
from app.schema.node import decode_id, parse_global_id

AccessChannel = strawberry.enum(
    models.Channel,
    name="AccessChannel",
    description="How the access came: a GraphQL request, a download, or a refused or throttled sign-in "
    "(SIGN_IN, at /auth/token: no actor; the operation names the grant).",
)
AccessOutcome = strawberry.enum(models.Outcome, name="AccessOutcome", description="How the request was answered.")
ResourceAction = strawberry.enum(
    models.ResourceAction, name="AccessAction", description="READ: its content was returned; CHANGED: an audit event."
)


class AccessLog(SchemaExtension):
    """Names the request's operation (its name, else its root fields) and notes every
    authorization error of the result as a denial, with its path."""

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context
        operation = _operation(context.graphql_document, context.operation_name)
        if operation is not None:
            kind = operation.operation.value
            roots = [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]
            access.name_operation(operation.name.value if operation.name else ",".join(roots) or kind, kind)
        result = context.result
        for error in (result.errors if result is not None else None) or []:
            if isinstance(error.original_error, Forbidden):
                access.denied(".".join(str(p) for p in error.path or ()), error.message)
            else:
                access.failed()


def _operation(document: object, name: str | None) -> OperationDefinitionNode | None:
    definitions = getattr(document, "definitions", ())
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    for candidate in operations:
        if name is None or (candidate.name is not None and candidate.name.value == name):
            return candidate
    return None


@strawberry.type(description="A resource a request read (its content was returned) or changed (an audit event).")
class AccessedResource:
    resource_type: str
    resource_id: strawberry.ID = strawberry.field(description="Its global id where it has one, else the raw id.")
    action: ResourceAction  # type: ignore[valid-type]


@strawberry.type(description="One GraphQL request or download: who, when, which operation, what it touched.")
class AccessEvent:
    occurred_at: datetime
    actor_kind: str = strawberry.field(description="HUMAN, SERVICE, or ANONYMOUS (no valid credentials).")
    channel: AccessChannel  # type: ignore[valid-type]
    operation: str = strawberry.field(description="The operation's name, else its root fields; or the download route.")
    operation_type: str = strawberry.field(description="query, mutation, subscription or download.")
    outcome: AccessOutcome  # type: ignore[valid-type]
    status: int = strawberry.field(description="The HTTP status answered.")
    details: JSON = strawberry.field(description="Denied paths with their public messages; never input or content.")
    resources: list[AccessedResource] = strawberry.field(
        description=f"What it read or changed, at most {RESOURCES_SHOWN} (resourceCount has them all)."
    )
    resource_count: int
    _actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self._actor_id)


def _public_id(kind: str, raw: str) -> strawberry.ID:
    try:
        return strawberry.ID(encode_global_id(kind, uuid.UUID(raw)))
    except ValueError:
        return strawberry.ID(raw)


def _resource(value: str) -> tuple[str, str]:
    try:
        kind, pk = parse_global_id(value)
    except PublicError:
        return "", value  # not a global id: matches raw ids (audit entities without one)
    return kind, str(pk)


@strawberry.type
class AccessQuery:
    @strawberry.field(
        description="Access history, newest first: every GraphQL request and download, with what it read "
        "(items whose content it returned) or changed, and every authorization denial. `resource` (a global "
        "id) answers who touched it; `actorId` with `since`/`until` what a user accessed. Admins and "
        "compliance officers; what this server has not yet written is written first."
    )
    async def access_events(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        actor_id: strawberry.ID | None = None,
        resource: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: models.Outcome | None = None,
        channel: models.Channel | None = None,
    ) -> Connection[AccessEvent] | None:
        limit = page_size(first)
        cursor = uuid_cursor(after)
        where = AccessFilter(
            actor_id=decode_id(actor_id, "User", "actorId") if actor_id else None,
            resource=_resource(resource) if resource else None,
            since=since,
            until=until,
            outcome=outcome,
            channel=channel,
        )
        await info.context.runtime.access.flush()
        async with info.context.db() as session:
            page = await list_access_events(session, info.context.actor, where, after=cursor, limit=limit + 1)

        def node(row: models.AccessEvent) -> AccessEvent:
            return AccessEvent(
                occurred_at=row.occurred_at,
                actor_kind=row.actor_kind,
                channel=row.channel,
                operation=row.operation,
                operation_type=row.operation_type,
                outcome=row.outcome,
                status=row.status,
                details=JSON(row.details),
                resources=[
                    AccessedResource(resource_type=k, resource_id=_public_id(k, pk), action=models.ResourceAction(a))
                    for k, pk, a in page.resources.get(row.id, [])
                ],
                resource_count=page.resource_counts.get(row.id, 0),
                _actor_id=row.actor_id,
            )

        return connection(list(page.events), limit, key=lambda r: r.id, node=node, after=after)
