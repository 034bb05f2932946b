"""Projects, their label schema and guideline, and the items listed under them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from app.ingestion import reads as item_reads
from app.ingestion.models import ItemStatus
from app.projects import error_codes as area_codes
from app.projects import models, reads, service
from app.schema import automation, guidelines, learning_policy, taxonomy, train_model
from app.schema import label_issues as issues
from app.schema.anonymization import AnonymizationPolicy, ItemLineage, anonymization_policy, item_lineage
from app.schema.connections import Connection, connection, page_size, uuid_cursor
from app.schema.consent import ConsentPolicy
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.events import Webhook, project_webhooks
from app.schema.expertise import GoldPolicy, ProjectAnnotator, project_annotators
from app.schema.identity import ProjectMember, project_members
from app.schema.items import Item
from app.schema.items import ItemStatus as ItemStatusEnum
from app.schema.mutation import run_mutation
from app.schema.node import Node, decode_id, global_id
from app.schema.qualification import CertificationPolicy
from app.schema.quality import QualityPolicy
from app.schema.taxonomy import LabelSchemaVersion

ProjectErrorCode = strawberry.enum(area_codes.ProjectErrorCode, description=area_codes.ProjectErrorCode.__doc__)


@strawberry.type(description="A failure of creating a project.")
class ProjectError(UserError):
    codes = area_codes.ProjectErrorCode
    code: ProjectErrorCode  # type: ignore[valid-type]


@strawberry.type(description="How many items are in each state.")
class ItemCounts:
    queued: int
    in_review: int
    escalated: int
    final: int
    withdrawn: int  # out of every queue: their subject revoked consent
    total: int


@strawberry.type(description="A labeling project.")
class Project(Node):
    name: str
    description: str
    overlap: int = strawberry.field(description="How many distinct annotators label each item.")
    lease_seconds: int
    created_at: datetime
    retention_days: int | None = strawberry.field(
        description="Days item content is kept after import (updateRetentionPolicy); null: forever."
    )
    row: strawberry.Private[models.Project]

    @classmethod
    def of(cls, row: models.Project) -> Project:
        return cls(
            id=global_id("Project", row.id),
            name=row.name,
            description=row.description,
            overlap=row.overlap,
            lease_seconds=row.lease_seconds,
            created_at=row.created_at,
            retention_days=row.retention_days,
            row=row,
        )

    @strawberry.field(description="How the project's items get decided (app/workflow/policy.py).")
    def quality_policy(self) -> QualityPolicy:
        return QualityPolicy.of(self.row)

    @strawberry.field(description="Whether imports need consent records; the extra purposes accepted (app/consent).")
    def consent_policy(self) -> ConsentPolicy:
        return ConsentPolicy.of(self.row)

    @strawberry.field(description="How gold questions are served and what their scores do (app/expertise).")
    def gold_policy(self) -> GoldPolicy:
        return GoldPolicy.of(self.row)

    @strawberry.field(
        description="Who may claim here: certification by a qualification set and certificates required from "
        "other projects (app/expertise/qualification.py)."
    )
    async def certification_policy(self, info: Info) -> CertificationPolicy:
        return await CertificationPolicy.of(info, self.row)

    @strawberry.field(
        description="How importItems anonymizes data here. Admins, project managers and compliance officers (its "
        "rules can name people); null with FORBIDDEN for other roles."
    )
    async def anonymization_policy(self, info: Info) -> AnonymizationPolicy | None:
        return await anonymization_policy(info, self.row)

    @strawberry.field(
        description="Items' lineage oldest first: external id, content hash and anonymization, never content; at most "
        "100 a page. Admins, project managers, compliance officers and ML services; null with FORBIDDEN for others."
    )
    async def item_lineage(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[ItemLineage] | None:
        return await item_lineage(info, self.row, first, after)

    @strawberry.field(
        description="The project's webhooks. Project managers and admins; null with FORBIDDEN for other roles."
    )
    async def webhooks(self, info: Info) -> list[Webhook] | None:
        return await project_webhooks(info, self.row)

    @strawberry.field(
        description="The project's annotators with their rolling gold accuracy and suspension. Project managers, "
        "admins and QA auditors; null with FORBIDDEN for other roles."
    )
    async def annotators(self, info: Info) -> list[ProjectAnnotator]:
        return await project_annotators(info, self.row)

    @strawberry.field(description="When annotators' tasks show model suggestions (updateSuggestionPolicy).")
    def show_suggestions(self) -> automation.ShowSuggestions:  # type: ignore[valid-type]
        return self.row.show_suggestions

    @strawberry.field(description="Retrain the built-in model after this many new decisions; null: only trainModel.")
    def retrain_every(self) -> int | None:
        return self.row.retrain_every

    @strawberry.field(description="The queue's order after priority (updateActiveLearningPolicy).")
    def sampling_strategy(self) -> learning_policy.SamplingStrategy:  # type: ignore[valid-type]
        return self.row.sampling_strategy

    @strawberry.field(description="How UNCERTAINTY sampling scores an item.")
    def uncertainty_measure(self) -> learning_policy.UncertaintyMeasure:  # type: ignore[valid-type]
        return self.row.uncertainty_measure

    @strawberry.field(
        description="The built-in model's training runs, newest first (at most `first`, up to 100), failed ones "
        "with their error code. Readers of the models; null with FORBIDDEN for others."
    )
    async def training_runs(self, info: Info, first: int = 20) -> list[train_model.TrainingRun] | None:
        return await train_model.project_training_runs(info, self.row, first)

    @strawberry.field(
        name="models",
        description="The project's models by name, each with its versions, who registered them and when. Admins, "
        "project managers, QA auditors, compliance officers and ML services; null with FORBIDDEN for others.",
    )
    async def model_registry(self, info: Info) -> list[automation.Model] | None:
        return await automation.project_models_list(info, self.row)

    @strawberry.field(
        description="The heuristic rules run at import as the model `heuristics` (setHeuristicRules). Readers of "
        "the models; null with FORBIDDEN for others."
    )
    def heuristic_rules(self, info: Info) -> automation.HeuristicRules | None:
        return automation.heuristic_rules(info, self.row)

    @strawberry.field(
        description="Agreement of the labels with a model's suggestions, apart for tasks that showed that model "
        "and tasks that showed no suggestion (anchoring bias); of one version when named. Null for a model or "
        "version the project does not have. Admins, project managers and QA auditors; null with FORBIDDEN for "
        "other roles."
    )
    async def model_agreement(
        self, info: Info, model_name: str, model_version: str | None = None
    ) -> automation.ModelAgreement | None:
        return await automation.model_agreement(info, self.row, model_name, model_version)

    @strawberry.field(
        description="The ranked issues of the project's latest label-issue run (detectLabelIssues), or of the run "
        "named; null when there is none (or runId names no run of this project). Rank order, at most 100 a page; "
        "each issue's item is null for whoever may not read it. Project managers, reviewers, QA auditors and "
        "admins; null with FORBIDDEN for other roles."
    )
    async def label_issues(
        self, info: Info, first: int = 20, after: str | None = None, run_id: strawberry.ID | None = None
    ) -> issues.LabelIssues | None:
        return await issues.project_label_issues(info, self.row, first, after, run_id)

    @strawberry.field(
        description="Everyone holding a role in this project (org-wide roles not listed), with those roles and "
        "their status, by username. The project's managers and admins; null with FORBIDDEN for other roles."
    )
    async def members(self, info: Info) -> list[ProjectMember] | None:
        return await project_members(info, self.row.id)

    @strawberry.field(description="The label schema in force.")
    async def label_schema(self, info: Info) -> LabelSchemaVersion:
        async with info.context.db() as session:
            return LabelSchemaVersion.of(await service.schema_version_row(session, self.row))

    label_schema_versions = strawberry.field(resolver=taxonomy.label_schema_versions, description="Newest first.")
    label_schema_version = strawberry.field(resolver=taxonomy.label_schema_version)
    schema_change_requests = strawberry.field(
        resolver=taxonomy.schema_change_requests,
        description="Newest first: the schema's changelog of who proposed what and why, who decided, when and why.",
    )
    schema_diff = strawberry.field(
        resolver=taxonomy.schema_diff,
        description="What changed from one version to a later one, renames followed through the approved mappings.",
    )
    guideline = strawberry.field(resolver=guidelines.guideline, description="The published guideline in force.")
    guideline_versions = strawberry.field(
        resolver=guidelines.guideline_versions, description="Published versions, newest first."
    )
    guideline_version = strawberry.field(
        resolver=guidelines.guideline_version, description="A version by number; drafts only for their writers."
    )
    guideline_draft = strawberry.field(
        resolver=guidelines.guideline_draft, description="The draft being written. Project managers and admins."
    )
    guideline_diff = strawberry.field(
        resolver=guidelines.guideline_diff, description="What changed between two versions (either order)."
    )

    @strawberry.field(description="Null with FORBIDDEN for roles that may not read items (annotators, compliance).")
    async def item_counts(self, info: Info) -> ItemCounts | None:
        async with info.context.db() as session:
            counts = await item_reads.count_items(session, info.context.actor, self.row)
        return ItemCounts(
            queued=counts[ItemStatus.QUEUED],
            in_review=counts[ItemStatus.IN_REVIEW],
            escalated=counts[ItemStatus.ESCALATED],
            final=counts[ItemStatus.FINAL],
            withdrawn=counts[ItemStatus.WITHDRAWN],
            total=sum(counts.values()),
        )

    @strawberry.field(
        description="Items oldest first, optionally of one status; at most 100 a page. "
        "Null with FORBIDDEN for roles that may not read items (annotators see items through their tasks)."
    )
    async def items(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: ItemStatusEnum | None = None,  # type: ignore[valid-type]
    ) -> Connection[Item] | None:
        limit, cursor = page_size(first), uuid_cursor(after)
        async with info.context.db() as session:
            rows = await item_reads.list_items(
                session, info.context.actor, self.row, status=status, after=cursor, limit=limit + 1
            )
        return connection(rows, limit, key=lambda r: r.id, node=Item.of, after=after)


@strawberry.input
class CreateProjectInput:
    name: str
    label_schema: JSON = strawberry.field(
        description='{"fields": [{"name", "kind": single_choice|multi_choice|taxonomy|spans|boxes|rating|number|text, '
        '"required", ...}], "rules": [...]}: the language is documented in app/taxonomy/schema_language.py.'
    )
    description: str = ""
    overlap: int = strawberry.field(default=1, description="Distinct annotators per item, 1..10.")
    lease_seconds: int = strawberry.field(default=600, description="How long a claimed task stays yours.")
    guideline: str | None = strawberry.field(default=None, description="Markdown; published as version 1.")
    guideline_content: JSON | None = strawberry.field(
        default=None,
        description="Definitions, examples (text only), edge cases, decision tree: see saveGuidelineDraft.",
    )


@strawberry.type
class CreateProjectPayload:
    project: Project | None
    errors: list[ProjectError]


@strawberry.type
class ProjectsQuery:
    @strawberry.field(description="Projects you hold a role in (all of them for org-wide roles).")
    async def projects(self, info: Info, first: int = 20, after: str | None = None) -> Connection[Project] | None:
        limit, cursor = page_size(first), uuid_cursor(after)
        async with info.context.db() as session:
            rows = await reads.list_projects(session, info.context.actor, after=cursor, limit=limit + 1)
        return connection(rows, limit, key=lambda r: r.id, node=Project.of, after=after)

    @strawberry.field(description="Null when it does not exist or you hold no role in it (the same answer).")
    async def project(self, info: Info, id: strawberry.ID) -> Project | None:
        project_id = decode_id(id, "Project")
        async with info.context.db() as session:
            row = await reads.get_project(session, info.context.actor, project_id)
        return Project.of(row) if row else None


@strawberry.type
class ProjectsMutation:
    @strawberry.mutation(description="Create a project with its first label schema (and guideline). Admins only.")
    async def create_project(self, info: Info, input: CreateProjectInput) -> CreateProjectPayload | None:
        new = service.NewProject(
            name=input.name,
            label_schema=input.label_schema,
            description=input.description,
            overlap=input.overlap,
            lease_seconds=input.lease_seconds,
            guideline=input.guideline,
            guideline_content=input.guideline_content,
        )

        async def act(session: AsyncSession) -> models.Project:
            return await service.create_project(session, info.context.actor, new)

        result = await run_mutation(info, service.CREATE_PROJECT, input, act, ProjectError)
        if isinstance(result, list):
            return CreateProjectPayload(project=None, errors=result)
        return CreateProjectPayload(project=Project.of(result), errors=[])
