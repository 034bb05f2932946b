"""The GraphQL schema: capability modules merged into one Query and one Mutation, built once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

import strawberry
from graphql import GraphQLError, get_operation_ast, parse
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StreamResult
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from app.auth import reads as user_reads
from app.auth.actor import Actor
from app.automation import reads as automation_reads
from app.consent import reads as consent_reads
from app.discussion import reads as discussion_reads
from app.guidelines import service as guideline_service
from app.ingestion import reads as item_reads
from app.metrics.graphql import OperationMetrics
from app.projects import reads as project_reads
from app.schema.access import AccessLog, AccessQuery
from app.schema.accounts import AccountsMutation
from app.schema.anonymization import AnonymizationMutation
from app.schema.audit import AuditQuery
from app.schema.audits import AuditsMutation
from app.schema.automation import AutomationMutation, Model, ModelVersion
from app.schema.consent import ConsentMutation, ConsentQuery, ConsentRecord
from app.schema.context import Context, Info
from app.schema.discussion import Comment, DiscussionMutation
from app.schema.erasure import ErasureMutation
from app.schema.errors import should_mask
from app.schema.events import EventsMutation, EventsSubscription
from app.schema.expertise import ExpertiseMutation
from app.schema.guidelines import GuidelinesMutation, GuidelineVersion
from app.schema.identity import IdentityMutation, IdentityQuery, User
from app.schema.insights import InsightsQuery
from app.schema.items import Item, ItemsMutation
from app.schema.label_issues import LabelIssueRun, LabelIssuesMutation
from app.schema.label_issues import node_of as label_issue_run_node
from app.schema.label_schema import TYPES as LABEL_FIELDS
from app.schema.label_studio import LabelStudioMutation, LabelStudioQuery
from app.schema.learning_policy import LearningPolicyMutation
from app.schema.limits import SchemaOptions, extensions
from app.schema.lineage import LineageQuery
from app.schema.node import Node, parse_global_id
from app.schema.projects import Project, ProjectsMutation, ProjectsQuery
from app.schema.qualification import QualificationMutation
from app.schema.quality import QualityMutation, QualityQuery
from app.schema.scalars import SCALARS
from app.schema.sso import SsoMutation, SsoQuery
from app.schema.tasks import TasksMutation
from app.schema.taxonomy import SchemaChangeRequest, TaxonomyMutation
from app.schema.tokens import TokensMutation
from app.schema.train_model import TrainModelMutation
from app.schema.workflow import Assignment, Decision, Label, Review, WorkflowMutation
from app.settings import Settings
from app.taxonomy import service as taxonomy_service
from app.workflow import reads as workflow_reads

logger = logging.getLogger("labelgraph.graphql")


async def _node(session: AsyncSession, actor: Actor, type_name: str, pk: uuid.UUID) -> Node | None:
    """Refetch by global id through the capability's read module: what the actor may not read is None,
    exactly as what does not exist."""
    if type_name == "Project":
        project = await project_reads.get_project(session, actor, pk)
        return Project.of(project) if project else None
    if type_name == "Item":
        item = await item_reads.get_item(session, actor, pk)
        return Item.of(item) if item else None
    if type_name == "Label":
        label = await workflow_reads.get_label(session, actor, pk)
        return Label.of(label) if label else None
    if type_name == "Review":
        review = await workflow_reads.get_review(session, actor, pk)
        return Review.of(review) if review else None
    if type_name == "Assignment":
        assignment = await workflow_reads.get_assignment(session, actor, pk)
        return Assignment.of(assignment) if assignment else None
    if type_name == "SchemaChangeRequest":
        request = await taxonomy_service.get_request(session, actor, pk)
        return SchemaChangeRequest.of(request) if request else None
    if type_name == "GuidelineVersion":
        guideline = await guideline_service.get_version_by_id(session, actor, pk)
        return GuidelineVersion.of(guideline) if guideline else None
    if type_name == "Comment":
        comment = await discussion_reads.get_comment(session, actor, pk)
        return Comment.of(comment) if comment else None
    if type_name == "Decision":
        decision = await workflow_reads.get_decision(session, actor, pk)
        return Decision.of(decision) if decision else None
    if type_name == "ConsentRecord":
        consent = await consent_reads.get_consent(session, actor, pk)
        return ConsentRecord.of(consent) if consent else None
    if type_name == "User":
        user = await user_reads.get_user(session, actor, pk)
        return User.of(user) if user else None
    if type_name == "Model":
        model = await automation_reads.get_model(session, actor, pk)
        return Model.of(model) if model else None
    if type_name == "ModelVersion":
        found = await automation_reads.get_model_version(session, actor, pk)
        return ModelVersion.of(*found) if found else None
    if type_name == "LabelIssueRun":
        return await label_issue_run_node(session, actor, pk)
    return None


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Refetch any object by its global id; null when it does not exist or you may not read it "
        "(the same answer)."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = parse_global_id(id)
        async with info.context.db() as session:
            return await _node(session, info.context.actor, type_name, pk)


Query = merge_types(
    "Query",
    (
        NodeQuery,
        IdentityQuery,
        ProjectsQuery,
        AuditQuery,
        AccessQuery,
        QualityQuery,
        InsightsQuery,
        ConsentQuery,
        LineageQuery,
        SsoQuery,
        LabelStudioQuery,
    ),
)
Subscription = merge_types("Subscription", (EventsSubscription,))
Mutation = merge_types(
    "Mutation",
    (
        ProjectsMutation,
        ItemsMutation,
        LabelStudioMutation,
        ConsentMutation,
        AnonymizationMutation,
        AutomationMutation,
        TrainModelMutation,
        LearningPolicyMutation,
        LabelIssuesMutation,
        ErasureMutation,
        WorkflowMutation,
        TasksMutation,
        QualityMutation,
        ExpertiseMutation,
        QualificationMutation,
        AuditsMutation,
        TaxonomyMutation,
        GuidelinesMutation,
        DiscussionMutation,
        EventsMutation,
        IdentityMutation,
        AccountsMutation,
        SsoMutation,
        TokensMutation,
    ),
)


class LabelgraphSchema(strawberry.Schema):
    """Queries and mutations over HTTP only, subscriptions over WebSocket only: every HTTP request
    is one access note (app/access/) within the body bound, and a WebSocket carries only the
    streams that need it."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        if _operation_type(query, operation_name) not in (None, OperationType.SUBSCRIPTION):
            return _refused(
                "Only subscriptions run over WebSocket: send queries and mutations over HTTP.", "BAD_REQUEST"
            )
        return await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            (OperationType.SUBSCRIPTION,),
        )

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Expected errors (denials, bad input, validation) are the client's business; log the rest.
        for error in errors:
            if should_mask(error):
                logger.error("unexpected error in %s", error.path, exc_info=error.original_error)
            elif not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": request_error_code(error, execution_context)}
        context = execution_context.context if execution_context is not None else None
        if isinstance(context, Context):  # counted by the code the client sees (masked: INTERNAL)
            context.runtime.metrics.graphql_errors(
                "INTERNAL" if should_mask(e) else (e.extensions or {}).get("code", "") for e in errors
            )


def _operation_type(query: str | None, operation_name: str | None) -> OperationType | None:
    """The operation's type, or None when the document does not say (the schema reports that)."""
    try:
        operation = get_operation_ast(parse(query or ""), operation_name)
    except GraphQLError:
        return None
    return None if operation is None else OperationType(operation.operation.value)


async def _refused(message: str, code: str) -> StreamResult:
    yield PreExecutionError(data=None, errors=[GraphQLError(message, extensions={"code": code})])


def request_error_code(error: GraphQLError, execution_context: ExecutionContext | None) -> str:
    """A code for the errors graphql-core raises itself, so clients can branch on every error."""
    if execution_context is not None and execution_context.graphql_document is None:
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$") or isinstance(error.original_error, GraphQLError):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def build_schema(settings: Settings) -> strawberry.Schema:
    """Built once per process and schema options: strawberry schemas are not cheap (~0.2 s), nor
    meant to be rebuilt, and a new database URL or secret changes nothing in them."""
    return _schema(SchemaOptions.of(settings))


@cache
def _schema(settings: SchemaOptions) -> strawberry.Schema:
    return LabelgraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Project,
            Item,
            Label,
            Review,
            Assignment,
            Decision,
            Comment,
            User,
            SchemaChangeRequest,
            GuidelineVersion,
            Model,
            ModelVersion,
            LabelIssueRun,
            *LABEL_FIELDS,
        ],
        extensions=[*extensions(settings), AccessLog, OperationMetrics],
        config=StrawberryConfig(disable_field_suggestions=settings.production, scalar_map=SCALARS),
    )


__all__ = ["Context", "build_schema"]
