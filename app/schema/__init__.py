"""The GraphQL schema: capability modules merged into one Query and one Mutation, built once."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.auth.models import User as UserRow
from app.errors import Forbidden
from app.guidelines import service as guideline_service
from app.guidelines.models import GuidelineVersion as GuidelineRow
from app.ingestion.models import Item as ItemRow
from app.projects.service import get_project
from app.schema.audit import AuditQuery
from app.schema.context import Context, Info
from app.schema.errors import should_mask
from app.schema.guidelines import GuidelinesMutation, GuidelineVersion
from app.schema.identity import IdentityMutation, IdentityQuery, User
from app.schema.items import Item, ItemsMutation
from app.schema.limits import extensions
from app.schema.node import Node, parse_global_id
from app.schema.projects import Project, ProjectsMutation, ProjectsQuery
from app.schema.taxonomy import SchemaChangeRequest, TaxonomyMutation
from app.schema.tokens import TokensMutation
from app.schema.workflow import Assignment, Label, Review, WorkflowMutation
from app.settings import Settings
from app.taxonomy.service import get_request
from app.workflow.models import Assignment as AssignmentRow
from app.workflow.models import Label as LabelRow
from app.workflow.models import Review as ReviewRow

logger = logging.getLogger("labelgraph.graphql")


async def _node(session: AsyncSession, info: Info, type_name: str, pk: Any) -> Node | None:
    """Refetch by global id, under the same rules as the fields that list the object."""
    actor = info.context.actor
    if type_name == "Project":
        project = await get_project(session, actor, pk)
        return Project.of(project) if project else None
    if type_name == "Item":
        item = await session.get(ItemRow, pk)
        if item is None:
            return None
        actor.require("item", "read", item.project_id)
        return Item.of(item)
    if type_name in ("Label", "Review"):
        review = await session.get(ReviewRow, pk) if type_name == "Review" else None
        label = await session.get(LabelRow, review.label_id if review else pk)
        if label is None or (type_name == "Review" and review is None):
            return None
        # One's own label (and its reviews) always; anyone else's only with label read rights.
        if label.author_id != actor.id:
            actor.require("label", "read", label.project_id)
        return Review.of(review) if review else Label.of(label)
    if type_name == "Assignment":
        assignment = await session.get(AssignmentRow, pk)
        if assignment is None:
            return None
        if assignment.annotator_id != actor.id:
            actor.require("item", "read", assignment.project_id)
        return Assignment.of(assignment)
    if type_name == "SchemaChangeRequest":
        request = await get_request(session, actor, pk)
        return SchemaChangeRequest.of(request) if request else None
    if type_name == "GuidelineVersion":
        guideline = await session.get(GuidelineRow, pk)
        if guideline is None:
            return None
        found = await guideline_service.get_version(session, actor, guideline.project_id, guideline.version)
        return GuidelineVersion.of(found) if found else None
    if type_name == "User":
        user = await session.get(UserRow, pk)
        if user is None:
            return None
        # The same right as the `users` list: admins and project managers (who hand out roles).
        if user.id != actor.id and actor.authorizer.projects_with(actor.id, "user", "read") == set():
            raise Forbidden("You may not look up other users.")
        return User.of(user)
    return None


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Refetch any object by its global id; null when it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = parse_global_id(id)
        async with info.context.db() as session:
            return await _node(session, info, type_name, pk)


Query = merge_types("Query", (NodeQuery, IdentityQuery, ProjectsQuery, AuditQuery))
Mutation = merge_types(
    "Mutation",
    (
        ProjectsMutation,
        ItemsMutation,
        WorkflowMutation,
        TaxonomyMutation,
        GuidelinesMutation,
        IdentityMutation,
        TokensMutation,
    ),
)


class LabelgraphSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Expected errors (denials, bad input, validation) are the client's business; log the rest.
        for error in errors:
            if should_mask(error):
                logger.error("unexpected error in %s", error.path, exc_info=error.original_error)
            elif not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": request_error_code(error, execution_context)}


def request_error_code(error: GraphQLError, execution_context: ExecutionContext | None) -> str:
    """A code for the errors graphql-core raises itself, so clients can branch on every error."""
    if execution_context is not None and execution_context.graphql_document is None:
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$") or isinstance(error.original_error, GraphQLError):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


@cache
def build_schema(settings: Settings) -> strawberry.Schema:
    """Built once per process and settings: strawberry schemas are not cheap, nor meant to be rebuilt."""
    return LabelgraphSchema(
        query=Query,
        mutation=Mutation,
        types=[Project, Item, Label, Review, Assignment, User, SchemaChangeRequest, GuidelineVersion],
        extensions=extensions(settings),
        config=StrawberryConfig(disable_field_suggestions=settings.production),
    )


__all__ = ["Context", "build_schema"]
