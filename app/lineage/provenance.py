"""An item's provenance as a W3C PROV graph: entities, activities, agents and their relations.

Mapping (docs/ARCHITECTURE.md, Lineage):

- entities: the item as stored (what annotators, models and reviewers saw), the raw item an
  anonymized import received (named by its keyed content hash only), suggestions, labels,
  reviews, QA audits, decisions, dataset snapshots;
- activities: ingest, anonymize (only for items anonymized at import), predict, annotate, review,
  audit, aggregate, export;
- agents: people (prov:Person), service accounts, models and the anonymizer with their versions
  (prov:SoftwareAgent), and the label-schema and guideline versions in force (``lg:SchemaVersion``,
  ``lg:GuidelineVersion``, agents an activity wasAssociatedWith: the plan it followed);
- relations: used (activity -> entity), wasGeneratedBy (entity -> activity), wasAssociatedWith
  (activity -> agent), wasDerivedFrom (entity -> entity it came from).

Ids are ``lg:<kind>/<global id>`` (the item's global id, never its external id, which may name a
person; the raw item's id is its content hash). Attributes hold kinds, states, versions, methods,
counts and times: never item content, label values, rationales or comments. One function per
entity kind adds its nodes, so a new kind is one more function in ``BUILDERS``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.audits.models import QaAudit
from app.auth.models import IdentityKind, User
from app.automation.models import Model, ModelVersion, Suggestion
from app.compliance.models import AuditEvent
from app.guidelines.models import GuidelineVersion
from app.ids import encode_global_id
from app.ingestion.models import Item
from app.lineage.models import DatasetSnapshot, DatasetSnapshotItem
from app.taxonomy.models import LabelSchemaVersion
from app.workflow.models import Decision, DecisionLabel, Label, Review

PREFIX = {"lg": "https://labelgraph.dev/ns/prov#", "prov": "http://www.w3.org/ns/prov#"}
RELATIONS = ("used", "wasGeneratedBy", "wasAssociatedWith", "wasDerivedFrom")


@dataclass
class Node:
    id: str
    kind: str
    label: str
    attributes: dict[str, Any]


@dataclass
class Graph:
    entities: dict[str, Node] = field(default_factory=dict)
    activities: dict[str, Node] = field(default_factory=dict)
    agents: dict[str, Node] = field(default_factory=dict)
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, from, to)

    def entity(self, id_: str, kind: str, label: str, **attributes: Any) -> str:
        self.entities.setdefault(id_, Node(id_, kind, label, _clean(attributes)))
        return id_

    def activity(self, id_: str, kind: str, label: str, **attributes: Any) -> str:
        self.activities.setdefault(id_, Node(id_, kind, label, _clean(attributes)))
        return id_

    def agent(self, id_: str, kind: str, label: str, **attributes: Any) -> str:
        self.agents.setdefault(id_, Node(id_, kind, label, _clean(attributes)))
        return id_

    def relate(self, kind: str, source: str, target: str) -> None:
        assert kind in RELATIONS
        if (kind, source, target) not in self.relations:
            self.relations.append((kind, source, target))


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in attributes.items()
        if value is not None
    }


def ref(kind: str, type_name: str, pk: uuid.UUID) -> str:
    return f"lg:{kind}/{encode_global_id(type_name, pk)}"


@dataclass
class Context:
    """What the builders share: the session, the item, the graph, and the agents met so far."""

    session: AsyncSession
    item: Item
    graph: Graph
    users: set[uuid.UUID] = field(default_factory=set)
    versions: set[uuid.UUID] = field(default_factory=set)  # schema and guideline version rows
    labels: dict[uuid.UUID, Label] = field(default_factory=dict)
    decisions: dict[uuid.UUID, Decision] = field(default_factory=dict)

    def person(self, user_id: uuid.UUID) -> str:
        self.users.add(user_id)
        return ref("agent", "User", user_id)

    def version(self, version_id: uuid.UUID) -> str:
        self.versions.add(version_id)
        return f"lg:plan/{version_id}"


def item_ref(item: Item) -> str:
    return ref("item", "Item", item.id)


def ingest_ref(item: Item) -> str:
    return f"lg:ingest/{encode_global_id('Item', item.id)}"


def anonymized_at_import(item: Item) -> bool:
    """Whether the project's anonymizer replaced the item's data before it was stored."""
    return bool(item.anonymizer)


async def ingested(ctx: Context) -> None:
    """The item entity and its ingest activity, associated with whoever imported it (the import's
    audit event). The ingest generated the item as stored, unless it was anonymized at import:
    then it generated the raw item, and the anonymize activity the stored one (``anonymized``)."""
    item, graph = ctx.item, ctx.graph
    entity = graph.entity(
        item_ref(item),
        "item",
        "Item",
        status=item.status.value,
        createdAt=item.created_at,
        withConsent=item.consent_id is not None,
    )
    ingest = graph.activity(ingest_ref(item), "ingest", "Ingest", startedAt=item.created_at)
    if not anonymized_at_import(item):
        graph.relate("wasGeneratedBy", entity, ingest)
    importer = await _importer(ctx.session, item)
    if importer is not None:
        graph.relate("wasAssociatedWith", ingest, ctx.person(importer))


async def _importer(session: AsyncSession, item: Item) -> uuid.UUID | None:
    """Who imported the item: the item.import event whose id range holds it (imports are audited per batch)."""
    events = await session.scalars(
        select(AuditEvent)
        .where(
            col(AuditEvent.project_id) == item.project_id,
            col(AuditEvent.action) == "item.import",
            col(AuditEvent.occurred_at) >= item.created_at,
        )
        .order_by(col(AuditEvent.id))
    )
    wanted = str(item.id)
    for event in events:
        first, last = event.details.get("first"), event.details.get("last")
        if isinstance(first, str) and isinstance(last, str) and first <= wanted <= last:
            return event.actor_id
    return None


# Placeholder types: the built-in kinds and project rule names (``[A-Z][A-Z0-9_]*``), so each
# count is a valid qualified name ``lg:redactions.<TYPE>``.
PLACEHOLDER_TYPE = re.compile(r"[A-Z][A-Z0-9_]*")


async def anonymized(ctx: Context) -> None:
    """For an item anonymized at import: the raw item the ingest received, identified by its keyed
    content hash alone (its content is stored nowhere); an anonymize activity that used it and
    generated the item as stored, which wasDerivedFrom it; the anonymizer (name and version) as the
    software agent. The activity carries how many values it replaced per placeholder type, numbers
    only. Everything after (suggestions, labels) uses the stored item: what annotators saw."""
    item, graph = ctx.item, ctx.graph
    if not anonymized_at_import(item):
        return
    gid = encode_global_id("Item", item.id)
    raw = graph.entity(
        f"lg:raw/{item.content_hash}",
        "rawItem",
        "Ingested item (raw)",
        contentHash=item.content_hash,
        contentHashAlgorithm="HMAC-SHA256",
    )
    graph.relate("wasGeneratedBy", raw, ingest_ref(item))
    counts = {
        kind: n
        for kind, n in sorted((item.redactions or {}).items())
        if PLACEHOLDER_TYPE.fullmatch(kind) and isinstance(n, int) and not isinstance(n, bool)
    }
    activity = graph.activity(
        f"lg:anonymize/{gid}",
        "anonymize",
        "Anonymize",
        startedAt=item.created_at,
        endedAt=item.created_at,
        redactionCount=sum(counts.values()),
        **{f"redactions.{kind}": n for kind, n in counts.items()},
    )
    name, version = str(item.anonymizer), item.anonymizer_version
    agent = graph.agent(
        f"lg:software/{name}@{version}" if version else f"lg:software/{name}",
        "software",
        f"{name} {version}" if version else name,
        **{"prov:type": "prov:SoftwareAgent", "softwareName": name, "softwareVersion": version},
    )
    graph.relate("used", activity, raw)
    graph.relate("wasGeneratedBy", item_ref(item), activity)
    graph.relate("wasDerivedFrom", item_ref(item), raw)
    graph.relate("wasAssociatedWith", activity, agent)


async def suggested(ctx: Context) -> None:
    """Suggestions: a predict activity that used the item, associated with the model (name and version)."""
    graph = ctx.graph
    rows = await ctx.session.execute(
        select(Suggestion, ModelVersion, Model)
        .join(ModelVersion, col(ModelVersion.id) == col(Suggestion.model_version_id))
        .join(Model, col(Model.id) == col(ModelVersion.model_id))
        .where(col(Suggestion.item_id) == ctx.item.id)
        .order_by(col(Suggestion.id))
    )
    for s, version, m in rows.all():
        entity = graph.entity(
            f"lg:suggestion/{s.id}", "suggestion", "Suggestion", confidence=s.confidence, createdAt=s.created_at
        )
        activity = graph.activity(f"lg:predict/{s.id}", "predict", "Predict", startedAt=s.created_at)
        # name@version is unique in the item's project (the registry's unique keys).
        model = graph.agent(
            f"lg:model/{m.name}@{version.version}",
            "model",
            f"{m.name} {version.version}",
            **{"prov:type": "prov:SoftwareAgent", "modelName": m.name, "modelVersion": version.version},
        )
        graph.relate("used", activity, item_ref(ctx.item))
        graph.relate("wasGeneratedBy", entity, activity)
        graph.relate("wasAssociatedWith", activity, model)
        graph.relate("wasAssociatedWith", activity, ctx.person(s.created_by))
        graph.relate("wasAssociatedWith", activity, ctx.version(s.schema_version_id))


async def annotated(ctx: Context) -> None:
    """Labels: an annotate activity by the author that used the item, under the schema and guideline versions."""
    graph = ctx.graph
    for label in await ctx.session.scalars(
        select(Label).where(col(Label.item_id) == ctx.item.id).order_by(col(Label.id))
    ):
        ctx.labels[label.id] = label
        entity = graph.entity(
            ref("label", "Label", label.id),
            "label",
            "Label",
            status=label.status.value,
            createdAt=label.created_at,
            importedFrom=label.imported_from,  # made elsewhere (importLabelStudio); absent for labels made here
        )
        activity = graph.activity(
            f"lg:annotate/{encode_global_id('Label', label.id)}", "annotate", "Annotate", endedAt=label.created_at
        )
        graph.relate("used", activity, item_ref(ctx.item))
        graph.relate("wasGeneratedBy", entity, activity)
        graph.relate("wasAssociatedWith", activity, ctx.person(label.author_id))
        graph.relate("wasAssociatedWith", activity, ctx.version(label.schema_version_id))
        if label.guideline_version_id:
            graph.relate("wasAssociatedWith", activity, ctx.version(label.guideline_version_id))


async def reviewed(ctx: Context) -> None:
    """Reviews: a review activity by the reviewer that used the label; the review entity (verdict, no comment)."""
    graph = ctx.graph
    for review in await ctx.session.scalars(
        select(Review).where(col(Review.item_id) == ctx.item.id).order_by(col(Review.id))
    ):
        entity = graph.entity(
            ref("review", "Review", review.id),
            "review",
            "Review",
            verdict=review.verdict.value,
            stage=review.stage.value,
            createdAt=review.created_at,
        )
        activity = graph.activity(
            f"lg:reviewing/{encode_global_id('Review', review.id)}", "review", "Review", endedAt=review.created_at
        )
        label = ref("label", "Label", review.label_id)
        graph.relate("used", activity, label)
        graph.relate("wasGeneratedBy", entity, activity)
        graph.relate("wasDerivedFrom", entity, label)
        graph.relate("wasAssociatedWith", activity, ctx.person(review.reviewer_id))
        graph.relate("wasAssociatedWith", activity, ctx.version(review.schema_version_id))


async def decided(ctx: Context) -> None:
    """Decisions: an aggregate activity that used the labels (and the review), the decision
    wasDerivedFrom them and from the version it superseded; associated with who decided, or the
    aggregation method as a software agent."""
    graph = ctx.graph
    decisions = (
        await ctx.session.scalars(
            select(Decision).where(col(Decision.item_id) == ctx.item.id).order_by(col(Decision.version))
        )
    ).all()
    if not decisions:
        return
    sources: dict[uuid.UUID, list[uuid.UUID]] = {}
    for link in await ctx.session.scalars(
        select(DecisionLabel).where(col(DecisionLabel.decision_id).in_([d.id for d in decisions]))
    ):
        sources.setdefault(link.decision_id, []).append(link.label_id)
    previous: str | None = None
    for decision in decisions:
        ctx.decisions[decision.id] = decision
        gid = encode_global_id("Decision", decision.id)
        entity = graph.entity(
            ref("decision", "Decision", decision.id),
            "decision",
            f"Decision v{decision.version}",
            version=decision.version,
            method=decision.method.value,
            aggregation=decision.aggregation.value if decision.aggregation else None,
            confidence=decision.confidence,
            decidedAt=decision.decided_at,
            supersededAt=decision.superseded_at,
        )
        activity = graph.activity(f"lg:aggregate/{gid}", "aggregate", "Aggregate", endedAt=decision.decided_at)
        graph.relate("wasGeneratedBy", entity, activity)
        for label_id in sorted(sources.get(decision.id, [])):
            graph.relate("used", activity, ref("label", "Label", label_id))
            graph.relate("wasDerivedFrom", entity, ref("label", "Label", label_id))
        if decision.review_id:
            graph.relate("used", activity, ref("review", "Review", decision.review_id))
        if previous is not None:
            graph.relate("wasDerivedFrom", entity, previous)
        if decision.decided_by:
            graph.relate("wasAssociatedWith", activity, ctx.person(decision.decided_by))
        elif decision.model_version_id is not None:  # AUTO_ACCEPTED: the model version's suggestion decided
            found = (
                await ctx.session.execute(
                    select(ModelVersion, Model)
                    .join(Model, col(Model.id) == col(ModelVersion.model_id))
                    .where(col(ModelVersion.id) == decision.model_version_id)
                )
            ).one_or_none()
            if found is not None:
                version, m = found
                model = graph.agent(
                    f"lg:model/{m.name}@{version.version}",
                    "model",
                    f"{m.name} {version.version}",
                    **{"prov:type": "prov:SoftwareAgent", "modelName": m.name, "modelVersion": version.version},
                )
                graph.relate("wasAssociatedWith", activity, model)
            suggestion = (decision.detail or {}).get("suggestion")
            if suggestion:
                graph.relate("used", activity, f"lg:suggestion/{suggestion}")
                graph.relate("wasDerivedFrom", entity, f"lg:suggestion/{suggestion}")
        else:
            method = decision.aggregation.value if decision.aggregation else decision.method.value
            model = graph.agent(
                f"lg:model/aggregation-{method}",
                "model",
                f"Aggregation {method}",
                **{"prov:type": "prov:SoftwareAgent", "modelName": method},
            )
            graph.relate("wasAssociatedWith", activity, model)
        graph.relate("wasAssociatedWith", activity, ctx.version(decision.schema_version_id))
        if decision.guideline_version_id:
            graph.relate("wasAssociatedWith", activity, ctx.version(decision.guideline_version_id))
        previous = entity


async def audited(ctx: Context) -> None:
    """QA audits: an audit activity by the auditor that used the decision it judged."""
    graph = ctx.graph
    for audit in await ctx.session.scalars(
        select(QaAudit).where(col(QaAudit.item_id) == ctx.item.id).order_by(col(QaAudit.id))
    ):
        entity = graph.entity(
            f"lg:qaAudit/{audit.id}",
            "audit",
            "QA audit",
            status=audit.status.value,
            verdict=audit.verdict.value if audit.verdict else None,
            reasons=list(audit.reasons),
            completedAt=audit.completed_at,
        )
        activity = graph.activity(f"lg:auditing/{audit.id}", "audit", "Audit", endedAt=audit.completed_at)
        judged = ref("decision", "Decision", audit.decision_id)
        graph.relate("used", activity, judged)
        graph.relate("wasGeneratedBy", entity, activity)
        graph.relate("wasDerivedFrom", entity, judged)
        if audit.claimed_by:
            graph.relate("wasAssociatedWith", activity, ctx.person(audit.claimed_by))
        if audit.result_decision_id:
            graph.relate("wasDerivedFrom", ref("decision", "Decision", audit.result_decision_id), entity)


async def exported(ctx: Context) -> None:
    """Dataset snapshots holding the item: an export activity that used the decision, by the exporter."""
    graph = ctx.graph
    rows = await ctx.session.execute(
        select(DatasetSnapshot, DatasetSnapshotItem)
        .join(DatasetSnapshotItem, col(DatasetSnapshotItem.snapshot_id) == col(DatasetSnapshot.id))
        .where(col(DatasetSnapshotItem.item_id) == ctx.item.id)
        .order_by(col(DatasetSnapshot.id))
    )
    for snapshot, row in rows.all():
        gid = encode_global_id("DatasetSnapshot", snapshot.id)
        entity = graph.entity(
            f"lg:dataset/{gid}",
            "dataset",
            "Dataset snapshot",
            purpose=snapshot.purpose,
            itemCount=snapshot.item_count,
            createdAt=snapshot.created_at,
            decisionVersion=row.decision_version,
        )
        activity = graph.activity(f"lg:export/{gid}", "export", "Export", startedAt=snapshot.created_at)
        decision = ref("decision", "Decision", row.decision_id)
        graph.relate("used", activity, decision)
        graph.relate("wasGeneratedBy", entity, activity)
        graph.relate("wasDerivedFrom", entity, decision)
        graph.relate("wasAssociatedWith", activity, ctx.person(snapshot.created_by))


async def agents(ctx: Context) -> None:
    """The people and service accounts met, and the schema and guideline versions (as plans)."""
    graph = ctx.graph
    if ctx.users:
        for user in await ctx.session.scalars(select(User).where(col(User.id).in_(ctx.users))):
            human = user.kind == IdentityKind.HUMAN
            graph.agent(
                ref("agent", "User", user.id),
                "person" if human else "serviceAccount",
                user.username,
                **{"prov:type": "prov:Person" if human else "prov:SoftwareAgent"},
            )
    if ctx.versions:
        for schema in await ctx.session.scalars(
            select(LabelSchemaVersion).where(col(LabelSchemaVersion.id).in_(ctx.versions))
        ):
            graph.agent(
                f"lg:plan/{schema.id}",
                "schemaVersion",
                f"Label schema v{schema.version}",
                **{"prov:type": "lg:SchemaVersion", "version": schema.version},
            )
        for guideline in await ctx.session.scalars(
            select(GuidelineVersion).where(col(GuidelineVersion.id).in_(ctx.versions))
        ):
            graph.agent(
                f"lg:plan/{guideline.id}",
                "guidelineVersion",
                f"Guideline v{guideline.version}",
                **{"prov:type": "lg:GuidelineVersion", "version": guideline.version},
            )


# One function per entity kind, in order (agents last: they collect who the others met).
BUILDERS: tuple[Callable[[Context], Awaitable[None]], ...] = (
    ingested,
    anonymized,
    suggested,
    annotated,
    reviewed,
    decided,
    audited,
    exported,
    agents,
)


async def build(session: AsyncSession, item: Item) -> Graph:
    """The item's provenance graph (the caller found the item through lineage reads)."""
    ctx = Context(session, item, Graph())
    for builder in BUILDERS:
        await builder(ctx)
    return ctx.graph


def prov_json(graph: Graph) -> dict[str, Any]:
    """W3C PROV-JSON: prefix, entity, activity, agent and one map per relation kind."""

    def node(n: Node) -> dict[str, Any]:
        return {"prov:label": n.label, "lg:kind": n.kind, **{_qualified(k): v for k, v in n.attributes.items()}}

    document: dict[str, Any] = {
        "prefix": PREFIX,
        "entity": {n.id: node(n) for n in graph.entities.values()},
        "activity": {n.id: node(n) for n in graph.activities.values()},
        "agent": {n.id: node(n) for n in graph.agents.values()},
    }
    roles = {
        "used": ("prov:activity", "prov:entity"),
        "wasGeneratedBy": ("prov:entity", "prov:activity"),
        "wasAssociatedWith": ("prov:activity", "prov:agent"),
        "wasDerivedFrom": ("prov:generatedEntity", "prov:usedEntity"),
    }
    for kind in RELATIONS:
        source, target = roles[kind]
        of_kind = [(a, b) for k, a, b in graph.relations if k == kind]
        document[kind] = {f"_:{kind}{i}": {source: a, target: b} for i, (a, b) in enumerate(of_kind, 1)}
    return document


# PROV's own attributes where it has one; every other attribute is ours (lg:).
PROV_ATTRIBUTES = {"startedAt": "prov:startTime", "endedAt": "prov:endTime"}


def _qualified(key: str) -> str:
    return key if ":" in key else PROV_ATTRIBUTES.get(key, f"lg:{key}")
