"""The annotator's own tasks: `viewer.tasks`, renewing a lease, releasing a task."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.context import Info
from app.schema.mutation import input_id, run_mutation
from app.schema.node import decode_id
from app.schema.workflow import Assignment, WorkflowError
from app.workflow import models, tasks


async def viewer_tasks(
    info: Info,
    project_id: strawberry.ID | None,
    status: models.AssignmentStatus | None,
    first: int,
    after: str | None,
) -> Connection[Assignment]:
    """Resolver of Viewer.tasks (app/schema/identity.py)."""
    limit, cursor = page_size(first), uuid_cursor(after)
    where = tasks.TaskFilter(
        project_id=decode_id(project_id, "Project", "projectId") if project_id is not None else None,
        status=status,
    )
    async with info.context.db() as session:
        rows = await tasks.list_my_tasks(session, info.context.actor, where, before=cursor, limit=limit + 1)
    return connection(rows, limit, key=lambda r: r.id, node=Assignment.of, after=after)


@strawberry.input
class RenewLeaseInput:
    assignment_id: strawberry.ID


@strawberry.type
class RenewLeasePayload:
    assignment: Assignment | None
    errors: list[WorkflowError]


@strawberry.input
class ReleaseTaskInput:
    assignment_id: strawberry.ID
    reason: str = strawberry.field(default="", description="Why (unclear, not my language, ...); at most 1000.")


@strawberry.type
class ReleaseTaskPayload:
    assignment: Assignment | None
    errors: list[WorkflowError]


@strawberry.type
class TasksMutation:
    @strawberry.mutation(
        description="Keep your task: its lease runs the project's leaseSeconds from now, but never longer than "
        "24 hours after the claim (RENEWAL_LIMIT). LEASE_EXPIRED once it ran out."
    )
    async def renew_lease(self, info: Info, input: RenewLeaseInput) -> RenewLeasePayload | None:
        async def act(session: AsyncSession) -> models.Assignment:
            assignment_id = input_id(input.assignment_id, "Assignment", "assignmentId")
            return await tasks.renew_lease(session, info.context.actor, assignment_id)

        result = await run_mutation(info, tasks.RENEW_LEASE, input, act, WorkflowError)
        if isinstance(result, list):
            return RenewLeasePayload(assignment=None, errors=result)
        return RenewLeasePayload(assignment=Assignment.of(result), errors=[])

    @strawberry.mutation(
        description="Hand your task's item back to the queue, unlabeled. Others may claim it at once; "
        "you get it again only when nothing else is waiting for you."
    )
    async def release_task(self, info: Info, input: ReleaseTaskInput) -> ReleaseTaskPayload | None:
        async def act(session: AsyncSession) -> models.Assignment:
            assignment_id = input_id(input.assignment_id, "Assignment", "assignmentId")
            return await tasks.release_task(session, info.context.actor, assignment_id, input.reason)

        result = await run_mutation(info, tasks.RELEASE_TASK, input, act, WorkflowError)
        if isinstance(result, list):
            return ReleaseTaskPayload(assignment=None, errors=result)
        return ReleaseTaskPayload(assignment=Assignment.of(result), errors=[])
