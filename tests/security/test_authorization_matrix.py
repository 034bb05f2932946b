"""The authorization matrix: every operation of the API, called by every role of the world.

MATRIX below is the reviewed answer to "who may do what" in project A, derived from DESIGN.md's
role list and app/policies/policy.csv. Each case builds a realistic scene through the API (items
imported by the manager, labeled by annotators, one reviewed), then calls one operation as one
role and checks:

- ALLOW: it succeeds end to end, shows what it should, and a write changes the database;
- DENY: the caller can read the object but may not do this: a FORBIDDEN GraphQL error on that
  field's path only (HTTP 403 on a route), never a 500, nothing written;
- EMPTY: it succeeds and shows nothing;
- HIDDEN: the caller may not read the object, so it does not exist for it: null from a query,
  a NOT_FOUND payload error from a mutation, 404 on a route; nothing written;
- DUTY: refused for a separation-of-duty conflict with this very object: a payload code.

The last tests fail when the schema gains a Query or Mutation field, or the product a role, that
the table does not cover: new operations cannot slip in unreviewed.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse
from graphql import build_schema as schema_from_sdl
from sqlmodel import select
from starlette.routing import Route

from app.audits import service as audits
from app.auth.models import IdentityKind
from app.automation.models import IssueOutcome, IssueSource, LabelIssue, LabelIssueRun
from app.events.models import DeliveryStatus, WebhookDelivery
from app.expertise.models import GoldAnswer, Suspension
from app.ingestion.models import Item
from app.main import create_app
from app.policies.roles import Role
from app.projects.models import Project
from app.schema import build_schema
from app.settings import Settings
from app.sso.models import IdentityProvider
from app.workflow import lifecycle
from app.workflow.lifecycle import Move
from app.workflow.models import Decision, Escalation
from tests.conftest import CAST, PASSWORD, SCHEMA, Api, gid
from tests.security import (
    CLAIM,
    GRANT,
    IMPORT,
    REVIEW,
    REVOKE,
    SUBMIT,
    assert_forbidden,
    claim_and_submit,
    database_state,
    import_items,
)


class Outcome(enum.StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"
    EMPTY = "EMPTY"
    HIDDEN = "HIDDEN"
    DUTY = "DUTY"


ALLOW, DENY, EMPTY, HIDDEN, DUTY = Outcome
# Payload codes of separation-of-duty conflicts.
DUTY_CODES = {"SELF_REVIEW", "SELF_APPROVAL", "SELF_GRANT", "NOT_PROPOSER", "NOT_ASSIGNEE", "NOT_AUTHOR"}

ROLES = ("admin", "pm", "ann1", "reviewer", "qa", "expert", "compliance", "mlbot", "outsider", "ingest", "metrics")

# Every operation against project A. Notes on choices a reviewer may question:
# - claimNextTask/submitLabel: admin is DENY. DESIGN.md says an admin may do "everything a project
#   role may", but policy.csv gives no role except annotator task.claim or label.create, which
#   keeps separation of duties (an admin also reviews).
# - submitLabel on ann1's task: roles that can read the task (item readers) but may not label are
#   DENY; those who cannot read it at all (compliance, outsiders) get HIDDEN, as for a missing id.
# - node(User) follows `users` (user read): admins and project managers, who hand out roles, and
#   compliance officers, who must put names to the actors of audit events.
# - Schema history (versions, requests, diffs) is for everyone who reads labels or governs them,
#   and for ML services that must interpret exported labels; annotators label under the version
#   in force (project.labelSchema) and need no history. Impact examples show label values, so
#   they need label read on top.
# - approve/reject/withdraw on a request one cannot even read is HIDDEN (NOT_FOUND); withdrawing
#   is the proposer's alone, so the admin gets DUTY (NOT_PROPOSER) on the manager's proposal.
# - A guideline draft exists only for those who may write one: EMPTY for everyone else.
# - viewer.tasks, renewLease, releaseTask: the task loop is the annotator's (task claim). Everyone
#   else has no tasks of their own (EMPTY); renewing or releasing ann1's task is DENY for those who
#   can read it (item readers) and HIDDEN for those who cannot, as submitLabel is.
# - acknowledgeGuideline: the roles that label or judge labels; admins and managers write guidelines.
# fmt: off
MATRIX: dict[str, tuple[Outcome, ...]] = {
    #                          admin   pm      ann1    reviewer qa      expert  compliance mlbot   outsider ingest
    "viewer":                  (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW),
    # A pure mapping of the config sent: nothing of any project is read.
    "labelStudioConfigMapping":(ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW),
    "users":                   (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY),
    "projects":                (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  EMPTY,  ALLOW),
    "project":                 (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "project.labelSchema":     (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "project.guideline":       (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.itemCounts":      (ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  ALLOW,  DENY,   ALLOW,  HIDDEN, DENY),
    "project.items":           (ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  ALLOW,  DENY,   ALLOW,  HIDDEN, DENY),
    "node(Project)":           (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "node(Item)":              (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW,  HIDDEN, HIDDEN),
    "node(Label)":             (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "node(Review)":            (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "node(Assignment)":        (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW,  HIDDEN, HIDDEN),
    "node(User)":              (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, HIDDEN),
    "item.labels":             (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY,   HIDDEN, HIDDEN),
    "assignment.label":        (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY,   HIDDEN, HIDDEN),
    "auditEvents":             (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY),
    "accessEvents":            (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY),
    "verifyAuditChain":        (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY),
    "auditCheckpoint":         (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY),
    "createProject":           (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY),
    "importItems":             (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, ALLOW),
    # Items with labels in others' names (label import): the ingestion service imports items only.
    "importLabelStudio":       (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "claimNextTask":           (DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "submitLabel":             (DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    "reviewLabel":             (ALLOW,  DENY,   HIDDEN, ALLOW,  DENY,   DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "grantRole":               (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "revokeRole":              (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "GET /export/{id}.jsonl":  (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  HIDDEN, DENY),
    "GET /export/{id}/{format}":(ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  HIDDEN, DENY),
    # Label-schema governance
    "project.labelSchemaVersions":(ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.labelSchemaVersion":(ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.schemaChangeRequests":(ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.schemaDiff":      (ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "node(SchemaChangeRequest)":(ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, HIDDEN),
    "impactExample.before":    (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  DENY,   DENY,   HIDDEN, HIDDEN),
    "proposeSchemaChange":     (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "approveSchemaChange":     (ALLOW,  DENY,   HIDDEN, DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, HIDDEN),
    "rejectSchemaChange":      (ALLOW,  DENY,   HIDDEN, DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, HIDDEN),
    "withdrawSchemaChange":    (DUTY,   ALLOW,  HIDDEN, DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, HIDDEN),
    # Guidelines
    "project.guidelineVersions":(ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.guidelineVersion(draft)":(ALLOW,  ALLOW,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  HIDDEN, DENY),
    "project.guidelineDraft":  (ALLOW,  ALLOW,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  HIDDEN, EMPTY),
    "project.guidelineDiff":   (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "node(GuidelineVersion)":  (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, HIDDEN),
    "guideline.acknowledgements":(ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   HIDDEN, HIDDEN),
    "saveGuidelineDraft":      (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "publishGuideline":        (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "acknowledgeGuideline":    (DENY,   DENY,   ALLOW,  ALLOW,  ALLOW,  ALLOW,  DENY,   DENY,   HIDDEN, DENY),
    "GET /guidelines/{id}/{version}.md":(ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    "GET /guidelines/{id}/{version}.pdf":(ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY),
    # The task loop around a claim
    "viewer.tasks":            (EMPTY,  EMPTY,  ALLOW,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY),
    # Feedback is on one's own labels: ann1's rejected label on a-3 is ann1's alone to read.
    "viewer.feedback":         (EMPTY,  EMPTY,  ALLOW,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY),
    "renewLease":              (DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    "releaseTask":             (DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    # The quality program: its policy is the project's managers' and admins'.
    "project.qualityPolicy":   (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "updateQualityPolicy":     (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "projectQuality":          (ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    # The quality report downloads: projectQuality's readers (quality read), audited like an export.
    "GET /reports/{id}/quality.html":(ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    "GET /reports/{id}/quality.pdf":(ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    "refreshQuality":          (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    # Operations figures (the dashboard): the whole project for quality readers, one's own figures
    # for annotators and reviewers (scope SELF), nothing for other roles.
    "projectOperations":       (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    # Gold questions and annotator standing: set by managers; figures for managers and QA.
    "project.goldPolicy":      (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "project.annotators":      (ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    "setGoldAnswers":          (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "updateGoldPolicy":        (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "liftSuspension":          (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    # Anonymization at import: configured by managers; the policy (its term lists can name people)
    # is read by them and compliance; lineage (hashes and redaction counts, never content) also by
    # ML services, who dedupe training data. Item.anonymization goes with the item.
    "project.anonymizationPolicy":(ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   HIDDEN, DENY),
    "project.itemLineage":     (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   ALLOW,  ALLOW,  HIDDEN, DENY),
    "updateAnonymizationPolicy":(ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    # Certification: the policy is the managers'; a qualification set is taken by whoever claims tasks.
    "project.certificationPolicy":(ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "updateCertificationPolicy":(ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "startQualification":      (DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    # The expert queue is the experts' alone; resolving needs the item readable first.
    "claimNextEscalation":     (DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   HIDDEN, DENY),
    "resolveEscalation":       (DENY,   DENY,   HIDDEN, DENY,   DENY,   ALLOW,  HIDDEN, DENY,   HIDDEN, HIDDEN),
    # Discussion (the reviewer's thread on a-1, which ann2 labeled, mentioning admin, pm, reviewer,
    # qa and expert): read by those who read items and comments; ann1 never labeled a-1 (HIDDEN,
    # as the item is); ML services read items but not comments (DENY on the list, HIDDEN for a
    # comment by id). Only the author edits (DUTY: NOT_AUTHOR); the author or a moderator (pm,
    # admin) deletes. Promotion writes the guideline draft: its writers only.
    "item.comments":           (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY,   HIDDEN, HIDDEN),
    "node(Comment)":           (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "node(Decision)":          (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW,  HIDDEN, HIDDEN),
    "viewer.mentions":         (ALLOW,  ALLOW,  EMPTY,  ALLOW,  ALLOW,  ALLOW,  EMPTY,  EMPTY,  EMPTY,  EMPTY),
    "addComment":              (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY,   HIDDEN, HIDDEN),
    "editComment":             (DUTY,   DUTY,   HIDDEN, ALLOW,  DUTY,   DUTY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "deleteComment":           (ALLOW,  ALLOW,  HIDDEN, ALLOW,  DUTY,   DUTY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "promoteToGuideline":      (ALLOW,  ALLOW,  HIDDEN, DENY,   DENY,   DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    # QA audits are the auditors'; an item's audits are read where its reviews are. Escalating an
    # item IN_REVIEW is the reviewers' alternative to deciding (admins review too); escalating a
    # FINAL one is the auditors'. Item unreadable: HIDDEN, as for resolveEscalation.
    "claimNextAudit":          (DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    "submitAudit":             (DENY,   DENY,   HIDDEN, DENY,   ALLOW,  DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    "escalateItem":            (ALLOW,  DENY,   HIDDEN, ALLOW,  DENY,   DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    "escalateItem(FINAL)":     (DENY,   DENY,   HIDDEN, DENY,   ALLOW,  DENY,   HIDDEN, DENY,   HIDDEN, HIDDEN),
    "item.audits":             (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, DENY,   HIDDEN, HIDDEN),
    # Signing out: everyone ends their own sign-ins. Service accounts get no refresh tokens
    # (client_credentials), so theirs is EMPTY: nothing to end.
    "revokeToken":             (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  EMPTY,  ALLOW,  EMPTY),
    "POST /auth/revoke":       (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  EMPTY,  ALLOW,  EMPTY),
    # Consent is org-wide (about subjects, not projects): compliance officers and ingestion services
    # record, revoke and read it; admins read it; nobody reads it through a project role, so for
    # them a record by id does not exist (HIDDEN). Managers and admins set a project's policy.
    "consentRecords":          (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   ALLOW),
    "consentRecord":           (ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, ALLOW),
    "node(ConsentRecord)":     (ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, ALLOW),
    "recordConsent":           (DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   ALLOW),
    "revokeConsent":           (DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, ALLOW),
    "project.consentPolicy":   (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "updateConsentPolicy":     (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    # Subjects are org-wide (as consent is): no object to find first, so a refusal is DENY for all.
    "eraseSubject":            (DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY),
    # Another person (ann2): readable to those who read users; erasing is the admin's and compliance's.
    "eraseUser":               (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, HIDDEN),
    "updateRetentionPolicy":   (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    # Lineage: snapshots' metadata and item ids for those who export or govern (lineage read:
    # admin, pm, compliance); downloading one again needs export read (compliance: DENY, it reads
    # no content); an item's provenance for the governors only, null (404) for everyone else.
    "datasetSnapshots":        (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   ALLOW,  ALLOW,  HIDDEN, DENY),
    "datasetSnapshot":         (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  ALLOW,  HIDDEN, HIDDEN),
    "GET /export/snapshots/{id}.jsonl":(ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   ALLOW,  HIDDEN, HIDDEN),
    "GET /export/snapshots/{id}/{format}":
                               (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   ALLOW,  HIDDEN, HIDDEN),
    "GET /export/snapshots/{id}/label-studio-config":
                               (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   ALLOW,  HIDDEN, HIDDEN),
    "lineage":                 (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, HIDDEN),
    "GET /lineage/{id}.prov.json":(ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, ALLOW,  HIDDEN, HIDDEN, HIDDEN),
    # Webhooks (the manager's, of project A, with one delivery FAILED) are managed by managers and
    # admins; for everyone else a webhook or delivery by id does not exist (HIDDEN), and the
    # project's list is FORBIDDEN where the project is readable. The projectEvents subscription
    # has its own table (tests/events/test_subscriptions.py: WebSocket, not HTTP).
    "project.webhooks":        (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "registerWebhook":         (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "updateWebhook":           (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "deleteWebhook":           (ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "redeliverWebhookDelivery":(ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    # Suggestions: ML services and managers (and admins) push them; managers set when tasks show
    # them and the heuristic rules. The registry (names, versions, who, metrics) is read by those
    # who push, govern or measure (admin, pm, QA, compliance, ML services); agreement with a model
    # is a quality figure (quality read). A task shows them to whoever reads the task, under the
    # project's policy (ALWAYS here); only its own annotator's reads are recorded.
    "submitSuggestions":       (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   ALLOW,  HIDDEN, DENY),
    "updateSuggestionPolicy":  (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "setHeuristicRules":       (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "project.showSuggestions": (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW),
    "project.models":          (ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.heuristicRules":  (ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   ALLOW,  ALLOW,  HIDDEN, DENY),
    "project.modelAgreement":  (ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    "node(Model)":             (ALLOW,  ALLOW,  HIDDEN, HIDDEN, ALLOW,  HIDDEN, ALLOW,  ALLOW,  HIDDEN, HIDDEN),
    "node(ModelVersion)":      (ALLOW,  ALLOW,  HIDDEN, HIDDEN, ALLOW,  HIDDEN, ALLOW,  ALLOW,  HIDDEN, HIDDEN),
    "assignment.suggestions":  (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  ALLOW,  HIDDEN, ALLOW,  HIDDEN, HIDDEN),
    # The built-in model (app/automation/training.py): training and the active-learning policy are
    # the manager's (model train / model configure); its runs are read as the registry is. In the
    # scene one item is decided, so an allowed training is a FAILED run (TOO_FEW_CLASSES), recorded.
    "trainModel":              (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "updateActiveLearningPolicy":(ALLOW, ALLOW, DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "project.trainingRuns":    (ALLOW,  ALLOW,  DENY,   DENY,   ALLOW,  DENY,   ALLOW,  ALLOW,  HIDDEN, DENY),
    # Label-issue detection (app/automation/detection.py): managers run it (it queues audits); its
    # ranked issues name items and their decided classes, so those who judge labels read them
    # (managers, reviewers, QA auditors); experts resolve what is escalated to them, not this list.
    "detectLabelIssues":       (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "project.labelIssues":     (ALLOW,  ALLOW,  DENY,   ALLOW,  ALLOW,  DENY,   DENY,   DENY,   HIDDEN, DENY),
    "node(LabelIssueRun)":     (ALLOW,  ALLOW,  HIDDEN, ALLOW,  ALLOW,  HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    # People and machines (app/auth/people.py, credentials.py, machines.py). Accounts are for
    # admins; a manager invites into its own project (with the roles it grants there) and lists
    # its members. An account is readable by those who read users (admin, pm, compliance) and by
    # itself: for the others one on another account is HIDDEN. The links are the credential:
    # acceptInvite and resetPassword work for whoever holds the token (anonymous callers too,
    # tests/auth). A service account has no password to change (EMPTY), nor may rotate or revoke
    # itself (DENY: it reads itself).
    "project.members":         (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "createUser":              (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY),
    "inviteUser":              (ALLOW,  ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   HIDDEN, DENY),
    "acceptInvite":            (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW),
    "updateUser":              (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   HIDDEN, HIDDEN, HIDDEN),
    "deactivateUser":          (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   HIDDEN, HIDDEN, HIDDEN),
    "reactivateUser":          (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   HIDDEN, HIDDEN, HIDDEN),
    "changePassword":          (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  EMPTY,  ALLOW,  EMPTY),
    "issuePasswordReset":      (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   HIDDEN, HIDDEN, HIDDEN),
    "resetPassword":           (ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW),
    "createServiceAccount":    (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY),
    "rotateClientSecret":      (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   DENY,   HIDDEN, HIDDEN),
    "revokeServiceAccount":    (ALLOW,  DENY,   HIDDEN, HIDDEN, HIDDEN, HIDDEN, DENY,   DENY,   HIDDEN, HIDDEN),
    # Single sign-on (app/sso/): identity providers and their claims->roles mappings are the admins'
    # alone (a mapping hands out roles in projects). The sign-in routes are open (tests/sso).
    "identityProviders":       (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY),
    "configureIdentityProvider":(ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY),
    # Operations metrics (app/metrics/): org-wide `metrics read`, admins' and the metrics role's.
    "GET /metrics":            (ALLOW,  DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY,   DENY),
}
# fmt: on

# The last column, the metrics service account (role metrics: `metrics read` and nothing else),
# answers everywhere as the identity with no role does, but for GET /metrics and for being a
# service account: no password to change, no refresh token to revoke (EMPTY, as mlbot's). Derived
# from the outsider's column, so a row added above covers it without an eleventh value to keep in step.
METRICS_ACCOUNT: dict[str, Outcome] = {
    "GET /metrics": ALLOW,
    "changePassword": EMPTY,
    "revokeToken": EMPTY,
    "POST /auth/revoke": EMPTY,
}
MATRIX = {
    name: (*row, METRICS_ACCOUNT.get(name, row[ROLES.index("outsider")])) if len(row) == len(ROLES) - 1 else row
    for name, row in MATRIX.items()
}

# Cells where the product disagrees with the table: expected to fail (and to fail loudly once
# fixed, so the entry is removed); each is reported, not papered over.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


@dataclass
class Scene:
    """Project A mid-flight, built through the API by the people whose job each step is."""

    caller: str
    people: dict[str, str]  # username -> global id
    project: str
    pending_item: str  # a-1: ann2 labeled it, it awaits review
    pending_label: str
    ann2_task: str  # the task ann2 submitted that label on
    review: str  # reviewer's acceptance of ann3's label on a-2, now final
    change_request: str  # pm's pending proposal: "neu" renamed "neutral"
    guideline: str  # version 1, in force; pm has a draft of version 2
    own_task: str = ""  # ann1's live task, claimed by submitLabel's setup
    escalated_item: str = ""  # a-4, escalated by the escalation rows' setup
    gold_item: str = ""  # a-gold, imported by setGoldAnswers' setup
    comment: str = ""  # the reviewer's comment on a-1, made by the discussion rows' setup
    decision: str = ""  # the decision in force on a-2
    audited_item: str = ""  # a-2, flagged for audit by the audit rows' setup
    refresh_token: str = ""  # the caller's own, from signing in (people only), for the sign-out rows
    rejected_label: str = ""  # ann1's label on a-3, rejected by the reviewer, for viewer.feedback
    consent: str = ""  # a consent record of subject "subj-1", recorded by the compliance officer
    snapshot: str = ""  # the dataset snapshot of the manager's export (a-2), made by the lineage rows' setup
    webhook: str = ""  # the manager's webhook on project A, made by the webhook rows' setup
    delivery: str = ""  # its delivery of an import, FAILED
    model: str = ""  # the ML service's model "m", version 1 suggesting for a-1 and a-2, shown ALWAYS
    model_version: str = ""
    invitation: str = ""  # the admin's invitation of "invitee", for acceptInvite
    reset_link: str = ""  # the admin's reset link for ann2, for resetPassword
    issue_run: str = ""  # a label-issue run ranking a-2 (decided neg) as likely pos, as detectLabelIssues stores it


async def build_scene(api: Api, caller: str) -> Scene:
    project = gid("Project", api.world.project_a)
    await import_items(api, project, ["a-1", "a-2", "a-3", "a-4"], as_="pm")
    pending = await claim_and_submit(api, project, "ann2", "pos")
    reviewed = await claim_and_submit(api, project, "ann3", "neg")
    accepted = await api.data(REVIEW, {"input": {"labelId": reviewed["label"], "verdict": "ACCEPT"}}, as_="reviewer")
    assert accepted["reviewLabel"]["errors"] == []
    proposed = await api.data(PROPOSE, {"input": proposal(project)}, as_="pm")
    assert proposed["proposeSchemaChange"]["errors"] == []
    drafted = await api.data(SAVE_DRAFT, {"input": {"projectId": project, "body": "# A, v2"}}, as_="pm")
    assert drafted["saveGuidelineDraft"]["errors"] == []
    guideline = await api.data(project_query("guideline { id }"), {"id": project}, as_="admin")
    return Scene(
        caller=caller,
        people={name: gid("User", user.id) for name, user in api.world.users.items()},
        project=project,
        pending_item=pending["item"],
        pending_label=pending["label"],
        ann2_task=pending["task"],
        review=accepted["reviewLabel"]["review"]["id"],
        change_request=proposed["proposeSchemaChange"]["request"]["id"],
        guideline=guideline["project"]["guideline"]["id"],
    )


Check = Callable[[dict[str, Any], Scene], Outcome]
Setup = Callable[[Api, Scene], Awaitable[None]]


async def no_setup(api: Api, scene: Scene) -> None:
    return None


@dataclass(frozen=True)
class Operation:
    """One row's call: a GraphQL document as a client sends it, or a GET of a REST route."""

    document: str | None
    variables: Callable[[Scene], dict[str, Any]]
    check: Check  # judges a successful response: ALLOW (after checking what it shows) or EMPTY
    writes: bool = False  # an allowed call must change the database
    setup: Setup = no_setup
    route: str = ""  # the route's path template, when document is None
    url: Callable[[Scene], str] = lambda s: ""
    form: Callable[[Scene], dict[str, str]] | None = None  # a POSTed form, for POST routes

    @property
    def root_field(self) -> str:
        if self.document is None:
            return f"{'GET' if self.form is None else 'POST'} {self.route}"
        definition = parse(self.document).definitions[0]
        assert isinstance(definition, OperationDefinitionNode)
        first = definition.selection_set.selections[0]
        assert isinstance(first, FieldNode)
        return f"{definition.operation.value.capitalize()}.{first.name.value}"


def payload(data: dict[str, Any], field: str) -> tuple[Outcome | None, dict[str, Any]]:
    """A mutation's payload; HIDDEN when it was refused as NOT_FOUND, DUTY for a separation-of-duty
    code, None when it went through."""
    result: dict[str, Any] = data[field]
    codes = [error["code"] for error in result["errors"]]
    if codes == ["NOT_FOUND"]:
        return HIDDEN, result
    if len(codes) == 1 and codes[0] in DUTY_CODES:
        return DUTY, result
    assert codes == [], result
    return None, result


def allow(condition: bool, shown: Any) -> Outcome:
    assert condition, f"allowed, but it showed {shown!r}"
    return ALLOW


def check_operations(data: dict[str, Any], scene: Scene) -> Outcome:
    """PROJECT scope shows every annotator with labels; SELF scope exactly one row (the caller's)."""
    found = data["projectOperations"]
    if found["scope"] == "SELF":
        return allow(len(found["annotators"]) == 1, found)
    return allow(found["scope"] == "PROJECT" and sum(a["labels"] for a in found["annotators"]) >= 1, found)


def node_query(fragment: str) -> str:
    return "query Node($id: ID!) { node(id: $id) { __typename ... on " + fragment + " } }"


def project_query(selection: str) -> str:
    return "query Project($id: ID!) { project(id: $id) { " + selection + " } }"


def check_projects(data: dict[str, Any], scene: Scene) -> Outcome:
    names = [node["name"] for node in data["projects"]["nodes"]]
    return EMPTY if names == [] else allow("Project A" in names, names)


def check_create(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "createProject")
    return refused or allow(result["project"]["name"] == "Project C", result)


def check_import(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "importItems")
    return refused or allow(result["importedCount"] == 1, result)


IMPORT_LABEL_STUDIO = """
mutation I($input: ImportLabelStudioInput!) {
  importLabelStudio(input: $input) { importedCount labelCount errors { code field message } }
}
"""
LS_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
    '<Choice value="pos"/><Choice value="neg"/><Choice value="neu"/></Choices></View>'
)


def import_label_studio_input(scene: Scene) -> dict[str, Any]:
    """One Label Studio task annotated by ann1 (Label Studio user 1)."""
    result = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
    task = {
        "id": 901,
        "data": {"text": "from Label Studio"},
        "annotations": [{"id": 1, "completed_by": 1, "result": result}],
    }
    return {
        "input": {
            "projectId": scene.project,
            "tasks": [task],
            "labelConfig": LS_CONFIG,
            "annotators": [{"labelStudioId": 1, "username": "ann1"}],
        }
    }


def check_import_label_studio(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "importLabelStudio")
    return refused or allow(result["importedCount"] == 1 and result["labelCount"] == 1, result)


def check_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateQualityPolicy")
    return refused or allow(result["project"]["qualityPolicy"] == {"reviewRate": 0.5}, result)


def check_claim(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "claimNextTask")
    task = result["assignment"]
    return refused or allow(not result["resumed"] and task["item"]["externalId"] == "a-3", result)


def check_submit(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "submitLabel")
    return refused or allow(result["label"]["author"]["username"] == scene.caller, result)


def check_review(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "reviewLabel")
    decided = result["finalLabel"] == {"method": "CONSENSUS_ACCEPTED", "value": {"sentiment": "pos"}}
    return refused or allow(decided and result["item"]["status"] == "FINAL", result)


def check_role_change(field: str, grantee: str) -> Check:
    def check(data: dict[str, Any], scene: Scene) -> Outcome:
        refused, result = payload(data, field)
        return refused or allow(result["user"]["username"] == grantee, result)

    return check


PROPOSE = """
mutation Propose($input: ProposeSchemaChangeInput!) {
  proposeSchemaChange(input: $input) { request { id status } errors { code field message } }
}
"""
SAVE_DRAFT = """
mutation Draft($input: SaveGuidelineDraftInput!) {
  saveGuidelineDraft(input: $input) { guideline { version status } errors { code field message } }
}
"""
PUBLISH = """
mutation Publish($input: PublishGuidelineInput!) {
  publishGuideline(input: $input) { guideline { version status } errors { code field message } }
}
"""


def proposal(project: str) -> dict[str, Any]:
    fields = [dict(f) for f in SCHEMA["fields"]]
    fields[0]["classes"] = ["pos", "neg", "neutral"]
    return {
        "projectId": project,
        "definition": {"fields": fields},
        "rationale": "Spell the neutral class out.",
        "classMapping": {"sentiment": {"neu": "neutral"}},
    }


def decision(field: str, status: str) -> Check:
    def check(data: dict[str, Any], scene: Scene) -> Outcome:
        refused, result = payload(data, field)
        return refused or allow(result["request"] == {"id": scene.change_request, "status": status}, result)

    return check


def guideline_written(field: str, status: str) -> Check:
    def check(data: dict[str, Any], scene: Scene) -> Outcome:
        refused, result = payload(data, field)
        return refused or allow(result["guideline"] == {"version": 2, "status": status}, result)

    return check


def check_acknowledged(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "acknowledgeGuideline")
    shown = result["acknowledgement"]
    return refused or allow(shown["version"] == 2 and shown["user"]["username"] == scene.caller, result)


async def publish_draft(api: Api, scene: Scene) -> None:
    published = await api.data(PUBLISH, {"input": {"projectId": scene.project, "changelog": "v2"}}, as_="pm")
    assert published["publishGuideline"]["errors"] == []


async def sign_in(api: Api, scene: Scene) -> None:
    """The caller signs in as a client would; people get a refresh token, service accounts none."""
    if api.world.users[scene.caller].kind is IdentityKind.SERVICE:
        return
    form = {"grant_type": "password", "username": scene.caller, "password": PASSWORD}
    response = await api.client.post("/auth/token", data=form)
    assert response.status_code == 200, response.text
    scene.refresh_token = response.json()["refresh_token"]


def check_signed_out(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "revokeToken")
    if refused or not scene.refresh_token:
        return refused or (EMPTY if result["revokedCount"] == 0 else allow(False, result))
    return allow(result["revokedCount"] == 1, result)


async def claim_own_task(api: Api, scene: Scene) -> None:
    claim = await api.data(CLAIM, {"input": {"projectId": scene.project}}, as_="ann1")
    scene.own_task = claim["claimNextTask"]["assignment"]["id"]


async def escalate_a4(api: Api, scene: Scene) -> None:
    """a-4 escalated as settling would leave it (no label needed: the queue only cares about the row)."""
    async with api.runtime.sessions() as session:
        item = await session.scalar(
            select(Item).where(Item.project_id == api.world.project_a, Item.external_id == "a-4")
        )
        assert item is not None
        item.labels_required = 0
        await session.flush()
        await lifecycle.move(session, item.id, Move.ESCALATE)
        session.add(Escalation(project_id=item.project_id, item_id=item.id, reason="split", confidence=0.5))
        await session.commit()
        scene.escalated_item = gid("Item", item.id)


COMMENT_ON_A1 = """
mutation Add($input: AddCommentInput!) { addComment(input: $input) { comment { id } errors { code field message } } }
"""


async def comment_on_a1(api: Api, scene: Scene) -> None:
    """The reviewer's comment on a-1 mentioning everyone who may read its thread (once per scene)."""
    if scene.comment:
        return
    mentioned = [scene.people[name] for name in ("admin", "pm", "reviewer", "qa", "expert")]
    variables = {"input": {"itemId": scene.pending_item, "body": "Is this sarcasm?", "mentions": mentioned}}
    added = await api.data(COMMENT_ON_A1, variables, as_="reviewer")
    assert added["addComment"]["errors"] == [], added
    scene.comment = added["addComment"]["comment"]["id"]


async def decision_on_a2(api: Api, scene: Scene) -> None:
    async with api.runtime.sessions() as session:
        found = await session.scalar(select(Decision.id).where(Decision.project_id == api.world.project_a))
    assert found is not None
    scene.decision = gid("Decision", found)


def check_comment(field: str, body: str | None) -> Check:
    def check(data: dict[str, Any], scene: Scene) -> Outcome:
        refused, result = payload(data, field)
        return refused or allow(result["comment"]["body"] == body, result)

    return check


def check_promotion(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "promoteToGuideline")
    case = result["edgeCase"]
    return refused or allow(
        result["guideline"] == {"version": 2} and case["source"] == {"commentId": scene.comment}, result
    )


async def flag_a2(api: Api, scene: Scene) -> None:
    """a-2 (final, ann3's label accepted by the reviewer) in the audit queue, as a detector puts it."""
    async with api.runtime.sessions() as session:
        item = await session.scalar(
            select(Item).where(Item.project_id == api.world.project_a, Item.external_id == "a-2")
        )
        assert item is not None
        await audits.flag_for_audit(session, item.id, "suspected label issue")
        await session.commit()
        scene.audited_item = gid("Item", item.id)


async def qa_holds_a2(api: Api, scene: Scene) -> None:
    await flag_a2(api, scene)
    claimed = await api.data(CLAIM_AUDIT, {"input": {"projectId": scene.project}}, as_="qa")
    assert claimed["claimNextAudit"]["errors"] == []


def check_audit_claim(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "claimNextAudit")
    return refused or allow(result["item"]["id"] == scene.audited_item and not result["resumed"], result)


def check_audit_submit(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "submitAudit")
    return refused or allow(result["audit"] == {"status": "DONE", "verdict": "CONFIRM"}, result)


def check_escalated(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "escalateItem")
    return refused or allow(result["item"]["status"] == "ESCALATED", result)


CLAIM_AUDIT = """
mutation Claim($input: ClaimNextAuditInput!) {
  claimNextAudit(input: $input) { resumed item { id } errors { code field message } }
}
"""
ESCALATE = """
mutation Escalate($input: EscalateItemInput!) {
  escalateItem(input: $input) { item { status } errors { code field message } }
}
"""


def check_refresh(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "refreshQuality")
    return refused or allow((result["fields"], result["redecided"]) == (0, 0), result)  # MAJORITY: nothing to fit


async def import_a_gold_candidate(api: Api, scene: Scene) -> None:
    await import_items(api, scene.project, ["a-gold"], as_="pm")
    async with api.runtime.sessions() as session:
        item = (await session.scalars(select(Item).where(Item.external_id == "a-gold"))).one()
        scene.gold_item = gid("Item", item.id)


async def suspend_ann1(api: Api, scene: Scene) -> None:
    async with api.runtime.sessions() as session:
        session.add(Suspension(project_id=api.world.project_a, user_id=api.world.id("ann1"), reason="gold 0.2"))
        await session.commit()


def check_gold_answers(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "setGoldAnswers")
    return refused or allow(result["goldItems"] == 1, result)


def check_gold_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateGoldPolicy")
    return refused or allow(result["project"]["goldPolicy"] == {"goldRate": 0.1}, result)


def check_lift(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "liftSuspension")
    return refused or allow(result["lifted"] is True, result)


async def one_gold_question(api: Api, scene: Scene) -> None:
    """A gold item and a qualification set of one, so a qualification can start."""
    await import_a_gold_candidate(api, scene)
    async with api.runtime.sessions() as session:
        item = (await session.scalars(select(Item).where(Item.external_id == "a-gold"))).one()
        item.gold = True
        session.add(
            GoldAnswer(
                item_id=item.id, project_id=item.project_id, value={"sentiment": "pos"}, set_by=api.world.id("pm")
            )
        )
        project = await session.get(Project, item.project_id)
        assert project is not None
        project.qualification_size = 1
        await session.commit()


def check_certification_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateCertificationPolicy")
    return refused or allow(result["project"]["certificationPolicy"] == {"passMark": 0.9}, result)


def check_start_qualification(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "startQualification")
    return refused or allow(result["qualification"] == {"size": 1, "answered": 0}, result)


def check_escalation_claim(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "claimNextEscalation")
    return refused or allow(result["escalation"]["item"]["id"] == scene.escalated_item, result)


def check_resolution(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "resolveEscalation")
    return refused or allow(result["decision"]["method"] == "EXPERT_RESOLVED", result)


def check_anonymization_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateAnonymizationPolicy")
    return refused or allow(result["project"]["anonymizationPolicy"] == {"enabled": True}, result)


def check_lineage(data: dict[str, Any], scene: Scene) -> Outcome:
    nodes = data["project"]["itemLineage"]["nodes"]
    return allow(
        [n["externalId"] for n in nodes] == ["a-1", "a-2", "a-3", "a-4"]
        and all(len(n["contentHash"]) == 64 and n["anonymization"] is None for n in nodes),
        nodes,
    )


OPERATIONS: dict[str, Operation] = {
    "project.anonymizationPolicy": Operation(
        project_query("anonymizationPolicy { enabled detectors customRules { name } duplicateContent }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(
            d["project"]["anonymizationPolicy"]
            == {
                "enabled": False,
                "detectors": ["EMAIL", "PHONE", "CARD", "IBAN", "IPV4", "IPV6", "URL", "SSN"],
                "customRules": [],
                "duplicateContent": "ALLOW",
            },
            d,
        ),
    ),
    "project.itemLineage": Operation(
        project_query("itemLineage(first: 10) { nodes { externalId contentHash anonymization { version } } }"),
        lambda s: {"id": s.project},
        check_lineage,
    ),
    "updateAnonymizationPolicy": Operation(
        """
        mutation Anonymization($input: UpdateAnonymizationPolicyInput!) {
          updateAnonymizationPolicy(input: $input) {
            project { anonymizationPolicy { enabled } } errors { code field message }
          }
        }
        """,
        lambda s: {"input": {"projectId": s.project, "enabled": True}},
        check_anonymization_policy,
        writes=True,
    ),
    "project.goldPolicy": Operation(
        project_query("goldPolicy { goldRate goldFloor }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["goldPolicy"] == {"goldRate": 0.0, "goldFloor": 0.0}, d),
    ),
    "project.annotators": Operation(
        project_query("annotators { user { username } goldAnswers suspension { reason } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow({a["user"]["username"] for a in d["project"]["annotators"]} >= {"ann1", "ann2", "ann3"}, d),
    ),
    "setGoldAnswers": Operation(
        """
        mutation Gold($input: SetGoldAnswersInput!) {
          setGoldAnswers(input: $input) { goldItems errors { code field message } }
        }
        """,
        lambda s: {
            "input": {"projectId": s.project, "answers": [{"itemId": s.gold_item, "value": {"sentiment": "pos"}}]}
        },
        check_gold_answers,
        writes=True,
        setup=import_a_gold_candidate,
    ),
    "updateGoldPolicy": Operation(
        """
        mutation GoldPolicy($input: UpdateGoldPolicyInput!) {
          updateGoldPolicy(input: $input) { project { goldPolicy { goldRate } } errors { code field message } }
        }
        """,
        lambda s: {"input": {"projectId": s.project, "goldRate": 0.1}},
        check_gold_policy,
        writes=True,
    ),
    "liftSuspension": Operation(
        """
        mutation Lift($input: LiftSuspensionInput!) {
          liftSuspension(input: $input) { lifted errors { code field message } }
        }
        """,
        lambda s: {"input": {"projectId": s.project, "userId": s.people["ann1"], "reason": "Retrained."}},
        check_lift,
        writes=True,
        setup=suspend_ann1,
    ),
    "project.certificationPolicy": Operation(
        project_query("certificationPolicy { required size prerequisites { field } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(
            d["project"]["certificationPolicy"] == {"required": False, "size": 10, "prerequisites": []}, d
        ),
    ),
    "updateCertificationPolicy": Operation(
        """
        mutation Certification($input: UpdateCertificationPolicyInput!) {
          updateCertificationPolicy(input: $input) {
            project { certificationPolicy { passMark } } errors { code field message }
          }
        }
        """,
        lambda s: {"input": {"projectId": s.project, "passMark": 0.9}},
        check_certification_policy,
        writes=True,
    ),
    "startQualification": Operation(
        """
        mutation Start($input: StartQualificationInput!) {
          startQualification(input: $input) { qualification { size answered } errors { code field message } }
        }
        """,
        lambda s: {"input": {"projectId": s.project}},
        check_start_qualification,
        writes=True,
        setup=one_gold_question,
    ),
    "item.comments": Operation(
        node_query("Item { comments { body author { username } } }"),
        lambda s: {"id": s.pending_item},
        lambda d, s: allow(
            d["node"]["comments"] == [{"body": "Is this sarcasm?", "author": {"username": "reviewer"}}], d
        ),
        setup=comment_on_a1,
    ),
    "node(Comment)": Operation(
        node_query("Comment { body }"),
        lambda s: {"id": s.comment},
        lambda d, s: allow(d["node"] == {"__typename": "Comment", "body": "Is this sarcasm?"}, d),
        setup=comment_on_a1,
    ),
    "node(Decision)": Operation(
        node_query("Decision { method value }"),
        lambda s: {"id": s.decision},
        lambda d, s: allow(
            d["node"] == {"__typename": "Decision", "method": "CONSENSUS_ACCEPTED", "value": {"sentiment": "neg"}}, d
        ),
        setup=decision_on_a2,
    ),
    "viewer.mentions": Operation(
        "query Mentions { viewer { mentions(first: 10) { nodes { id body } } } }",
        lambda s: {},
        lambda d, s: (
            EMPTY
            if d["viewer"]["mentions"]["nodes"] == []
            else allow(d["viewer"]["mentions"]["nodes"] == [{"id": s.comment, "body": "Is this sarcasm?"}], d)
        ),
        setup=comment_on_a1,
    ),
    "addComment": Operation(
        """
        mutation Add($input: AddCommentInput!) {
          addComment(input: $input) { comment { body } errors { code field message } }
        }
        """,
        lambda s: {"input": {"itemId": s.pending_item, "body": "Looks negative to me."}},
        check_comment("addComment", "Looks negative to me."),
        writes=True,
    ),
    "editComment": Operation(
        """
        mutation Edit($input: EditCommentInput!) {
          editComment(input: $input) { comment { body } errors { code field message } }
        }
        """,
        lambda s: {"input": {"commentId": s.comment, "body": "Is this irony?"}},
        check_comment("editComment", "Is this irony?"),
        writes=True,
        setup=comment_on_a1,
    ),
    "deleteComment": Operation(
        """
        mutation Delete($input: DeleteCommentInput!) {
          deleteComment(input: $input) { comment { body } errors { code field message } }
        }
        """,
        lambda s: {"input": {"commentId": s.comment}},
        check_comment("deleteComment", None),
        writes=True,
        setup=comment_on_a1,
    ),
    "promoteToGuideline": Operation(
        """
        mutation Promote($input: PromoteToGuidelineInput!) {
          promoteToGuideline(input: $input) {
            guideline { version } edgeCase { source { commentId } } errors { code field message }
          }
        }
        """,
        lambda s: {"input": {"itemId": s.pending_item, "commentId": s.comment, "title": "Sarcasm"}},
        check_promotion,
        writes=True,
        setup=comment_on_a1,
    ),
    "claimNextAudit": Operation(
        CLAIM_AUDIT, lambda s: {"input": {"projectId": s.project}}, check_audit_claim, writes=True, setup=flag_a2
    ),
    "submitAudit": Operation(
        """
        mutation Submit($input: SubmitAuditInput!) {
          submitAudit(input: $input) { audit { status verdict } errors { code field message } }
        }
        """,
        lambda s: {"input": {"itemId": s.audited_item, "verdict": "CONFIRM"}},
        check_audit_submit,
        writes=True,
        setup=qa_holds_a2,
    ),
    "escalateItem": Operation(
        ESCALATE,
        lambda s: {"input": {"itemId": s.pending_item, "reason": "Needs an expert."}},
        check_escalated,
        writes=True,
    ),
    "escalateItem(FINAL)": Operation(
        ESCALATE,
        lambda s: {"input": {"itemId": s.audited_item, "reason": "The decision looks wrong."}},
        check_escalated,
        writes=True,
        setup=flag_a2,
    ),
    "item.audits": Operation(
        node_query("Item { audits { status reasons reasonDetail } }"),
        lambda s: {"id": s.audited_item},
        lambda d, s: allow(
            d["node"]["audits"]
            == [{"status": "PENDING", "reasons": ["FLAGGED"], "reasonDetail": "suspected label issue"}],
            d,
        ),
        setup=flag_a2,
    ),
    "projectQuality": Operation(
        "query Quality($id: ID!) { projectQuality(projectId: $id) { decidedItems figures { labels } } }",
        lambda s: {"id": s.project},
        lambda d, s: allow(d["projectQuality"] == {"decidedItems": 1, "figures": {"labels": 2}}, d),
    ),
    "projectOperations": Operation(
        "query Ops($id: ID!) { projectOperations(projectId: $id) { scope annotators { labels } } }",
        lambda s: {"id": s.project},
        check_operations,
    ),
    "refreshQuality": Operation(
        """
        mutation Refresh($input: RefreshQualityInput!) {
          refreshQuality(input: $input) { fields redecided errors { code field message } }
        }
        """,
        lambda s: {"input": {"projectId": s.project}},
        check_refresh,
        writes=True,
    ),
    "claimNextEscalation": Operation(
        """
        mutation Claim($input: ClaimNextEscalationInput!) {
          claimNextEscalation(input: $input) { escalation { item { id } } errors { code field message } }
        }
        """,
        lambda s: {"input": {"projectId": s.project}},
        check_escalation_claim,
        writes=True,
        setup=escalate_a4,
    ),
    "resolveEscalation": Operation(
        """
        mutation Resolve($input: ResolveEscalationInput!) {
          resolveEscalation(input: $input) { decision { method } errors { code field message } }
        }
        """,
        lambda s: {"input": {"itemId": s.escalated_item, "value": {"sentiment": "neu"}, "rationale": "Flat tone."}},
        check_resolution,
        writes=True,
        setup=escalate_a4,
    ),
    "viewer": Operation(
        "query { viewer { username } }",
        lambda s: {},
        lambda d, s: allow(d["viewer"]["username"] == s.caller, d),
    ),
    "labelStudioConfigMapping": Operation(
        "query M($c: String!) { labelStudioConfigMapping(labelConfig: $c) { fields { field kind } } }",
        lambda s: {"c": LS_CONFIG},
        lambda d, s: allow(
            d["labelStudioConfigMapping"]["fields"] == [{"field": "sentiment", "kind": "single_choice"}], d
        ),
    ),
    "users": Operation(
        "query Users { users(first: 50) { nodes { username } } }",
        lambda s: {},
        lambda d, s: allow("ann2" in [n["username"] for n in d["users"]["nodes"]], d),
    ),
    "projects": Operation("query { projects { nodes { name } } }", lambda s: {}, check_projects),
    "project": Operation(
        project_query("name"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"] == {"name": "Project A"}, d),
    ),
    "project.labelSchema": Operation(
        project_query("labelSchema { version definition }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["labelSchema"] == {"version": 1, "definition": SCHEMA}, d),
    ),
    "project.guideline": Operation(
        project_query("guideline { version body }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["guideline"] == {"version": 1, "body": "# A"}, d),
    ),
    "project.itemCounts": Operation(
        project_query("itemCounts { queued inReview final total }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["itemCounts"] == {"queued": 2, "inReview": 1, "final": 1, "total": 4}, d),
    ),
    "project.items": Operation(
        project_query("items(first: 10) { nodes { externalId data } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(
            [n["externalId"] for n in d["project"]["items"]["nodes"]] == ["a-1", "a-2", "a-3", "a-4"], d
        ),
    ),
    "node(Project)": Operation(
        node_query("Project { name }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["node"]["name"] == "Project A", d),
    ),
    "node(Item)": Operation(
        node_query("Item { externalId data }"),
        lambda s: {"id": s.pending_item},
        lambda d, s: allow(d["node"]["data"] == {"text": "text of a-1"}, d),
    ),
    "node(Label)": Operation(
        node_query("Label { value author { username } }"),
        lambda s: {"id": s.pending_label},
        lambda d, s: allow(d["node"]["author"]["username"] == "ann2", d),
    ),
    "node(Review)": Operation(
        node_query("Review { verdict reviewer { username } }"),
        lambda s: {"id": s.review},
        lambda d, s: allow(d["node"]["reviewer"]["username"] == "reviewer", d),
    ),
    "node(Assignment)": Operation(
        node_query("Assignment { status item { id } }"),
        lambda s: {"id": s.ann2_task},
        lambda d, s: allow(
            d["node"] == {"__typename": "Assignment", "status": "SUBMITTED", "item": {"id": s.pending_item}}, d
        ),
    ),
    "node(User)": Operation(
        node_query("User { username kind }"),
        lambda s: {"id": s.people["ann2"]},
        lambda d, s: allow(d["node"]["username"] == "ann2", d),
    ),
    # Nested fields with checks of their own, reached through node().
    "item.labels": Operation(
        node_query("Item { labels { id value } }"),
        lambda s: {"id": s.pending_item},
        lambda d, s: allow([lb["id"] for lb in d["node"]["labels"]] == [s.pending_label], d),
    ),
    "assignment.label": Operation(
        node_query("Assignment { label { id value } }"),
        lambda s: {"id": s.ann2_task},
        lambda d, s: allow(d["node"]["label"] == {"id": s.pending_label, "value": {"sentiment": "pos"}}, d),
    ),
    "auditEvents": Operation(
        "query Audit { auditEvents(first: 100) { nodes { action } } }",
        lambda s: {},
        lambda d, s: allow({"item.import", "label.review"} <= {n["action"] for n in d["auditEvents"]["nodes"]}, d),
    ),
    "accessEvents": Operation(
        "query Access { accessEvents(first: 100) { nodes { operation actor { username } } } }",
        lambda s: {},
        # The scene was built through the API: the manager's import and the reviewer's acceptance are there.
        lambda d, s: allow(
            {("Import", "pm"), ("Review", "reviewer")}
            <= {(n["operation"], (n["actor"] or {}).get("username")) for n in d["accessEvents"]["nodes"]},
            d,
        ),
    ),
    "verifyAuditChain": Operation(
        "query Verify { verifyAuditChain { ok checkedEvents headSeq firstBroken { seq } } }",
        lambda s: {},
        lambda d, s: allow(d["verifyAuditChain"]["ok"] and d["verifyAuditChain"]["checkedEvents"] > 0, d),
    ),
    "auditCheckpoint": Operation(
        "query Checkpoint { auditCheckpoint { seq hash signed } }",
        lambda s: {},
        lambda d, s: allow(
            d["auditCheckpoint"]["seq"] > 0 and d["auditCheckpoint"]["hash"] in d["auditCheckpoint"]["signed"], d
        ),
    ),
    "createProject": Operation(
        """
        mutation Create($input: CreateProjectInput!) {
          createProject(input: $input) { project { name } errors { code field message } }
        }
        """,
        lambda s: {"input": {"name": "Project C", "labelSchema": SCHEMA}},
        check_create,
        writes=True,
    ),
    "project.qualityPolicy": Operation(
        project_query("qualityPolicy { overlap maxOverlap method reviewRate }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(
            d["project"]["qualityPolicy"] == {"overlap": 1, "maxOverlap": 1, "method": "MAJORITY", "reviewRate": 1.0}, d
        ),
    ),
    "updateQualityPolicy": Operation(
        """
        mutation Policy($input: UpdateQualityPolicyInput!) {
          updateQualityPolicy(input: $input) { project { qualityPolicy { reviewRate } } errors { code field message } }
        }
        """,
        lambda s: {"input": {"projectId": s.project, "reviewRate": 0.5}},
        check_policy,
        writes=True,
    ),
    "importItems": Operation(
        IMPORT,
        lambda s: {"input": {"projectId": s.project, "items": [{"externalId": "a-new", "data": {"text": "new"}}]}},
        check_import,
        writes=True,
    ),
    "importLabelStudio": Operation(
        IMPORT_LABEL_STUDIO, import_label_studio_input, check_import_label_studio, writes=True
    ),
    "claimNextTask": Operation(CLAIM, lambda s: {"input": {"projectId": s.project}}, check_claim, writes=True),
    "submitLabel": Operation(
        SUBMIT,
        lambda s: {"input": {"assignmentId": s.own_task, "value": {"sentiment": "neu"}}},
        check_submit,
        writes=True,
        setup=claim_own_task,
    ),
    "reviewLabel": Operation(
        REVIEW,
        lambda s: {"input": {"labelId": s.pending_label, "verdict": "ACCEPT"}},
        check_review,
        writes=True,
    ),
    "grantRole": Operation(
        GRANT,
        lambda s: {"input": {"userId": s.people["ann_b"], "role": "ANNOTATOR", "projectId": s.project}},
        check_role_change("grantRole", "ann_b"),
        writes=True,
    ),
    "revokeRole": Operation(
        REVOKE,
        lambda s: {"input": {"userId": s.people["ann3"], "role": "ANNOTATOR", "projectId": s.project}},
        check_role_change("revokeRole", "ann3"),
        writes=True,
    ),
    # The export answers 403 itself; an allowed download is audited, hence a write.
    "GET /export/{id}.jsonl": Operation(
        None,
        lambda s: {},
        lambda d, s: allow([json.loads(line)["external_id"] for line in d["text"].splitlines()] == ["a-2"], d),
        writes=True,
        route="/export/{project}.jsonl",
        url=lambda s: f"/export/{s.project}.jsonl",
    ),
    # Every other format behind the same checks (CSV here: tests/exports covers the formats).
    "GET /export/{id}/{format}": Operation(
        None,
        lambda s: {},
        lambda d, s: allow(csv_column(d["text"], "external_id") == ["a-2"], d),
        writes=True,
        route="/export/{project}/{format}",
        url=lambda s: f"/export/{s.project}/csv",
    ),
    "project.labelSchemaVersions": Operation(
        project_query("labelSchemaVersions { nodes { version definition } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["labelSchemaVersions"]["nodes"] == [{"version": 1, "definition": SCHEMA}], d),
    ),
    "project.labelSchemaVersion": Operation(
        project_query("labelSchemaVersion(version: 1) { version createdBy { username } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["labelSchemaVersion"] == {"version": 1, "createdBy": {"username": "admin"}}, d),
    ),
    "project.schemaChangeRequests": Operation(
        project_query("schemaChangeRequests { nodes { id rationale proposedBy { username } } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(
            d["project"]["schemaChangeRequests"]["nodes"]
            == [
                {"id": s.change_request, "rationale": "Spell the neutral class out.", "proposedBy": {"username": "pm"}}
            ],
            d,
        ),
    ),
    "project.schemaDiff": Operation(
        project_query("schemaDiff(from: 1, to: 1) { fields { field } classes { className } rules { description } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["schemaDiff"] == {"fields": [], "classes": [], "rules": []}, d),
    ),
    "node(SchemaChangeRequest)": Operation(
        node_query("SchemaChangeRequest { status impact { labels { valid remapped invalid } } }"),
        lambda s: {"id": s.change_request},
        lambda d, s: allow(
            d["node"]["status"] == "PENDING"
            and d["node"]["impact"]["labels"] == {"valid": 2, "remapped": 0, "invalid": 0},
            d,
        ),
    ),
    "impactExample.before": Operation(
        node_query("SchemaChangeRequest { impact { labels { examples { before } } } }"),
        lambda s: {"id": s.change_request},
        lambda d, s: allow(
            [e["before"] for e in d["node"]["impact"]["labels"]["examples"]]
            == [{"sentiment": "pos"}, {"sentiment": "neg"}],
            d,
        ),
    ),
    "proposeSchemaChange": Operation(
        PROPOSE,
        lambda s: {"input": proposal(s.project)},
        lambda d, s: (
            payload(d, "proposeSchemaChange")[0]
            or allow(payload(d, "proposeSchemaChange")[1]["request"]["status"] == "PENDING", d)
        ),
        writes=True,
    ),
    "approveSchemaChange": Operation(
        """
        mutation Approve($input: ApproveSchemaChangeInput!) {
          approveSchemaChange(input: $input) { request { id status } errors { code field message } }
        }
        """,
        lambda s: {"input": {"requestId": s.change_request}},
        decision("approveSchemaChange", "APPROVED"),
        writes=True,
    ),
    "rejectSchemaChange": Operation(
        """
        mutation Reject($input: RejectSchemaChangeInput!) {
          rejectSchemaChange(input: $input) { request { id status } errors { code field message } }
        }
        """,
        lambda s: {"input": {"requestId": s.change_request, "reason": "Not now."}},
        decision("rejectSchemaChange", "REJECTED"),
        writes=True,
    ),
    "withdrawSchemaChange": Operation(
        """
        mutation Withdraw($input: WithdrawSchemaChangeInput!) {
          withdrawSchemaChange(input: $input) { request { id status } errors { code field message } }
        }
        """,
        lambda s: {"input": {"requestId": s.change_request}},
        decision("withdrawSchemaChange", "WITHDRAWN"),
        writes=True,
    ),
    "project.guidelineVersions": Operation(
        project_query("guidelineVersions { nodes { version body } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["guidelineVersions"]["nodes"] == [{"version": 1, "body": "# A"}], d),
    ),
    "project.guidelineVersion(draft)": Operation(
        project_query("guidelineVersion(version: 2) { status body }"),
        lambda s: {"id": s.project},
        lambda d, s: (
            EMPTY
            if d["project"]["guidelineVersion"] is None
            else allow(d["project"]["guidelineVersion"] == {"status": "DRAFT", "body": "# A, v2"}, d)
        ),
    ),
    "project.guidelineDraft": Operation(
        project_query("guidelineDraft { version body }"),
        lambda s: {"id": s.project},
        lambda d, s: (
            EMPTY
            if d["project"]["guidelineDraft"] is None
            else allow(d["project"]["guidelineDraft"] == {"version": 2, "body": "# A, v2"}, d)
        ),
    ),
    "project.guidelineDiff": Operation(
        project_query("guidelineDiff(from: 1, to: 1) { body changes { key } }"),
        lambda s: {"id": s.project},
        lambda d, s: allow(d["project"]["guidelineDiff"] == {"body": "", "changes": []}, d),
    ),
    "node(GuidelineVersion)": Operation(
        node_query("GuidelineVersion { version status }"),
        lambda s: {"id": s.guideline},
        lambda d, s: allow(d["node"] == {"__typename": "GuidelineVersion", "version": 1, "status": "PUBLISHED"}, d),
    ),
    "guideline.acknowledgements": Operation(
        node_query("GuidelineVersion { acknowledgements(first: 50) { nodes { user { username } } } }"),
        lambda s: {"id": s.guideline},
        lambda d, s: allow(
            {n["user"]["username"] for n in d["node"]["acknowledgements"]["nodes"]}
            == {"ann1", "ann2", "ann3", "reviewer", "qa", "expert"},
            d,
        ),
    ),
    "saveGuidelineDraft": Operation(
        SAVE_DRAFT,
        lambda s: {"input": {"projectId": s.project, "body": "# A, v2, revised"}},
        guideline_written("saveGuidelineDraft", "DRAFT"),
        writes=True,
    ),
    "publishGuideline": Operation(
        PUBLISH,
        lambda s: {"input": {"projectId": s.project, "changelog": "Second version."}},
        guideline_written("publishGuideline", "PUBLISHED"),
        writes=True,
    ),
    "acknowledgeGuideline": Operation(
        """
        mutation Acknowledge($input: AcknowledgeGuidelineInput!) {
          acknowledgeGuideline(input: $input) {
            acknowledgement { version user { username } }
            errors { code field message }
          }
        }
        """,
        lambda s: {"input": {"projectId": s.project, "version": 2}},
        check_acknowledged,
        writes=True,
        setup=publish_draft,
    ),
    "GET /guidelines/{id}/{version}.md": Operation(
        None,
        lambda s: {},
        lambda d, s: allow(d["text"].startswith("# Project A") and "\n# A\n" in d["text"], d),
        route="/guidelines/{project}/{version:int}.md",
        url=lambda s: f"/guidelines/{s.project}/1.md",
    ),
    "GET /guidelines/{id}/{version}.pdf": Operation(
        None,
        lambda s: {},
        lambda d, s: allow(d["text"].startswith("%PDF-"), {"text": d["text"][:8]}),
        route="/guidelines/{project}/{version:int}.pdf",
        url=lambda s: f"/guidelines/{s.project}/1.pdf",
    ),
    "GET /reports/{id}/quality.html": Operation(
        None,
        lambda s: {},
        lambda d, s: allow("Project A — quality report" in d["text"], {"text": d["text"][:200]}),
        writes=True,
        route="/reports/{project}/quality.html",
        url=lambda s: f"/reports/{s.project}/quality.html",
    ),
    "GET /reports/{id}/quality.pdf": Operation(
        None,
        lambda s: {},
        lambda d, s: allow(d["text"].startswith("%PDF-"), {"text": d["text"][:8]}),
        writes=True,
        route="/reports/{project}/quality.pdf",
        url=lambda s: f"/reports/{s.project}/quality.pdf",
    ),
    "revokeToken": Operation(
        """
        mutation SignOut($input: RevokeTokenInput!) {
          revokeToken(input: $input) { revokedCount errors { code field message } }
        }
        """,
        lambda s: {"input": {"all": True}},
        check_signed_out,
        writes=True,
        setup=sign_in,
    ),
    # RFC 7009 answers an empty 200 whatever the token; that the sign-in ended shows in the
    # database (tests/auth/test_refresh_tokens.py checks the token is dead). A service account
    # has no refresh token of its own to send.
    "POST /auth/revoke": Operation(
        None,
        lambda s: {},
        lambda d, s: allow(d["text"] == "", d) if s.refresh_token else EMPTY,
        writes=True,
        setup=sign_in,
        route="/auth/revoke",
        url=lambda s: "/auth/revoke",
        form=lambda s: {"token": s.refresh_token or "not-a-refresh-token-of-anyones"},
    ),
}


def check_own_tasks(data: dict[str, Any], scene: Scene) -> Outcome:
    shown = data["viewer"]["tasks"]["nodes"]
    if shown == []:
        return EMPTY
    # status: null lists every status: ann2's and ann3's submitted tasks must still not show.
    return allow(shown == [{"id": scene.own_task, "status": "ACTIVE", "item": {"externalId": "a-3"}}], shown)


async def reject_ann1s_label(api: Api, scene: Scene) -> None:
    """ann1 labels its task (a-3) and the reviewer rejects the label (once per scene)."""
    if scene.rejected_label:
        return
    await claim_own_task(api, scene)
    submitted = await api.data(
        SUBMIT, {"input": {"assignmentId": scene.own_task, "value": {"sentiment": "pos"}}}, as_="ann1"
    )
    assert submitted["submitLabel"]["errors"] == [], submitted
    label = submitted["submitLabel"]["label"]["id"]
    verdict = {"labelId": label, "verdict": "REJECT", "comment": "Not positive."}
    rejected = await api.data(REVIEW, {"input": verdict}, as_="reviewer")
    assert rejected["reviewLabel"]["errors"] == [], rejected
    scene.rejected_label = label


def check_own_feedback(data: dict[str, Any], scene: Scene) -> Outcome:
    shown = data["viewer"]["feedback"]["nodes"]
    if shown == []:
        return EMPTY
    expected = [{"kind": "REJECTION", "comment": "Not positive.", "item": {"externalId": "a-3"}}]
    return allow(shown == expected, shown)


def own_task_now(field: str, status: str) -> Check:
    def check(data: dict[str, Any], scene: Scene) -> Outcome:
        refused, result = payload(data, field)
        return refused or allow(result["assignment"] == {"id": scene.own_task, "status": status}, result)

    return check


OPERATIONS.update(
    {
        # Last: their setup claims ann1's task, which the reads above must not see.
        "viewer.tasks": Operation(
            "query Tasks($p: ID!) { viewer { tasks(projectId: $p, status: null) { "
            "nodes { id status item { externalId } } } } }",
            lambda s: {"p": s.project},
            check_own_tasks,
            setup=claim_own_task,
        ),
        "renewLease": Operation(
            """
            mutation Renew($input: RenewLeaseInput!) {
              renewLease(input: $input) { assignment { id status } errors { code field message } }
            }
            """,
            lambda s: {"input": {"assignmentId": s.own_task}},
            own_task_now("renewLease", "ACTIVE"),
            writes=True,
            setup=claim_own_task,
        ),
        "releaseTask": Operation(
            """
            mutation Release($input: ReleaseTaskInput!) {
              releaseTask(input: $input) { assignment { id status } errors { code field message } }
            }
            """,
            lambda s: {"input": {"assignmentId": s.own_task, "reason": "Unclear."}},
            own_task_now("releaseTask", "RELEASED"),
            writes=True,
            setup=claim_own_task,
        ),
        # After viewer.tasks: its setup labels ann1's task, which viewer.tasks must see still live.
        "viewer.feedback": Operation(
            "query Feedback { viewer { feedback(first: 10) { nodes { kind comment item { externalId } } } } }",
            lambda s: {},
            check_own_feedback,
            setup=reject_ann1s_label,
        ),
    }
)
RECORD_CONSENT = """
mutation Record($input: RecordConsentInput!) {
  recordConsent(input: $input) { recordedCount consentIds errors { code field message } }
}
"""
CONSENT_ROW = {
    "subjectRef": "subj-1",
    "purposes": ["annotation", "model_training"],
    "legalBasis": "CONSENT",
    "grantedAt": "2026-01-01T00:00:00Z",
    "jurisdiction": "DE",
    "collector": "intake-app",
    "evidenceRef": "evidence/1",
    "noticeVersion": "v3",
}


async def a_consent(api: Api, scene: Scene) -> None:
    if scene.consent:
        return
    recorded = await api.data(RECORD_CONSENT, {"input": {"records": [CONSENT_ROW]}}, as_="compliance")
    assert recorded["recordConsent"]["errors"] == [], recorded
    scene.consent = recorded["recordConsent"]["consentIds"][0]


def check_recorded(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "recordConsent")
    return refused or allow(result["recordedCount"] == 1, result)


def check_revoked(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "revokeConsent")
    return refused or allow([(r["id"], r["status"]) for r in result["revoked"]] == [(scene.consent, "REVOKED")], result)


def check_consent_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateConsentPolicy")
    return refused or allow(result["project"]["consentPolicy"] == {"required": True}, result)


OPERATIONS.update(
    {
        "consentRecords": Operation(
            'query Consents { consentRecords(subjectRef: "subj-1") { nodes { id status purposes } } }',
            lambda s: {},
            lambda d, s: allow([n["id"] for n in d["consentRecords"]["nodes"]] == [s.consent], d),
            setup=a_consent,
        ),
        "consentRecord": Operation(
            "query Consent($id: ID!) { consentRecord(id: $id) { id subjectRef status } }",
            lambda s: {"id": s.consent},
            lambda d, s: allow(d["consentRecord"] == {"id": s.consent, "subjectRef": "subj-1", "status": "ACTIVE"}, d),
            setup=a_consent,
        ),
        "node(ConsentRecord)": Operation(
            node_query("ConsentRecord { subjectRef legalBasis }"),
            lambda s: {"id": s.consent},
            lambda d, s: allow(d["node"]["subjectRef"] == "subj-1", d),
            setup=a_consent,
        ),
        "recordConsent": Operation(
            RECORD_CONSENT,
            lambda s: {"input": {"records": [CONSENT_ROW]}},
            check_recorded,
            writes=True,
        ),
        "revokeConsent": Operation(
            """
            mutation Revoke($input: RevokeConsentInput!) {
              revokeConsent(input: $input) { revoked { id status } itemsWithdrawn errors { code field message } }
            }
            """,
            lambda s: {"input": {"consentIds": [s.consent], "reason": "The subject withdrew."}},
            check_revoked,
            writes=True,
            setup=a_consent,
        ),
        "project.consentPolicy": Operation(
            project_query("consentPolicy { required purposes }"),
            lambda s: {"id": s.project},
            lambda d, s: allow(d["project"]["consentPolicy"] == {"required": False, "purposes": []}, d),
        ),
        "updateConsentPolicy": Operation(
            """
            mutation ConsentPolicy($input: UpdateConsentPolicyInput!) {
              updateConsentPolicy(input: $input) {
                project { consentPolicy { required } } errors { code field message }
              }
            }
            """,
            lambda s: {"input": {"projectId": s.project, "required": True}},
            check_consent_policy,
            writes=True,
        ),
    }
)


def check_erased_subject(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "eraseSubject")
    return refused or allow(result["erasureId"] is not None and result["counts"]["items"] == 0, result)


def check_erased_user(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "eraseUser")
    return refused or allow(result["user"]["username"].startswith("erased-user-"), result)


def check_retention_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateRetentionPolicy")
    return refused or allow(result["project"]["retentionDays"] == 30, result)


async def a_snapshot(api: Api, scene: Scene) -> None:
    if scene.snapshot:
        return
    response = await api.client.get(
        f"/export/{scene.project}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"}
    )
    assert response.status_code == 200, response.text
    scene.snapshot = response.headers["Labelgraph-Snapshot"]


def csv_column(text: str, column: str) -> list[str]:
    return [row[column] for row in csv.DictReader(io.StringIO(text))]


def exported_a2(data: dict[str, Any], scene: Scene) -> Outcome:
    return allow([json.loads(line)["external_id"] for line in data["text"].splitlines()] == ["a-2"], data)


def lineage_of_a1(data: dict[str, Any], scene: Scene) -> Outcome:
    entities = [n["id"] for n in data["lineage"]["entities"]]
    return allow(f"lg:item/{scene.pending_item}" in entities and f"lg:label/{scene.pending_label}" in entities, data)


def prov_json_of_a1(data: dict[str, Any], scene: Scene) -> Outcome:
    entities = json.loads(data["text"])["entity"]
    return allow(f"lg:item/{scene.pending_item}" in entities, data)


OPERATIONS.update(
    {
        "eraseSubject": Operation(
            """
            mutation Erase($input: EraseSubjectInput!) {
              eraseSubject(input: $input) { erasureId counts { items } errors { code field message } }
            }
            """,
            lambda s: {"input": {"subjectRef": "subj-unknown", "reason": "Art. 17 request."}},
            check_erased_subject,
            writes=True,
        ),
        "eraseUser": Operation(
            """
            mutation EraseUser($input: EraseUserInput!) {
              eraseUser(input: $input) { user { id username } errors { code field message } }
            }
            """,
            lambda s: {"input": {"userId": s.people["ann2"], "reason": "Left; asked to be forgotten."}},
            check_erased_user,
            writes=True,
        ),
        "updateRetentionPolicy": Operation(
            """
            mutation Retention($input: UpdateRetentionPolicyInput!) {
              updateRetentionPolicy(input: $input) { project { retentionDays } errors { code field message } }
            }
            """,
            lambda s: {"input": {"projectId": s.project, "retentionDays": 30}},
            check_retention_policy,
            writes=True,
        ),
        "datasetSnapshots": Operation(
            "query Snapshots($id: ID!) { datasetSnapshots(projectId: $id) { nodes { id itemCount } } }",
            lambda s: {"id": s.project},
            lambda d, s: allow(d["datasetSnapshots"]["nodes"] == [{"id": s.snapshot, "itemCount": 1}], d),
            setup=a_snapshot,
        ),
        "datasetSnapshot": Operation(
            "query Snapshot($id: ID!) { datasetSnapshot(id: $id) { id items { nodes { decisionVersion } } } }",
            lambda s: {"id": s.snapshot},
            lambda d, s: allow(d["datasetSnapshot"]["items"]["nodes"] == [{"decisionVersion": 1}], d),
            setup=a_snapshot,
        ),
        # Downloading again is audited, hence a write.
        "GET /export/snapshots/{id}.jsonl": Operation(
            None,
            lambda s: {},
            exported_a2,
            writes=True,
            setup=a_snapshot,
            route="/export/snapshots/{snapshot}.jsonl",
            url=lambda s: f"/export/snapshots/{s.snapshot}.jsonl",
        ),
        "GET /export/snapshots/{id}/{format}": Operation(
            None,
            lambda s: {},
            lambda d, s: allow(csv_column(d["text"], "external_id") == ["a-2"], d),
            writes=True,
            setup=a_snapshot,
            route="/export/snapshots/{snapshot}/{format}",
            url=lambda s: f"/export/snapshots/{s.snapshot}/csv",
        ),
        # The labeling config of a snapshot's Label Studio export: schema and data keys, no content; not audited.
        "GET /export/snapshots/{id}/label-studio-config": Operation(
            None,
            lambda s: {},
            lambda d, s: allow(d["text"].startswith("<View>") and 'name="sentiment"' in d["text"], d),
            setup=a_snapshot,
            route="/export/snapshots/{snapshot}/label-studio-config",
            url=lambda s: f"/export/snapshots/{s.snapshot}/label-studio-config",
        ),
        "lineage": Operation(
            "query Lineage($id: ID!) { lineage(itemId: $id) { entities { id kind } } }",
            lambda s: {"id": s.pending_item},
            lineage_of_a1,
        ),
        "GET /lineage/{id}.prov.json": Operation(
            None,
            lambda s: {},
            prov_json_of_a1,
            route="/lineage/{item}.prov.json",
            url=lambda s: f"/lineage/{s.pending_item}.prov.json",
        ),
    }
)
WEBHOOK_URL = "http://127.0.0.1:9/hooks/labelgraph"  # never called: the dispatcher is off in tests
REGISTER_WEBHOOK = """
mutation Register($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) { webhook { id url events active } signingSecret errors { code field message } }
}
"""


async def a_webhook(api: Api, scene: Scene) -> None:
    """The manager's webhook on A for imports, and its delivery of one import, which failed."""
    if scene.webhook:
        return
    variables = {"input": {"projectId": scene.project, "url": WEBHOOK_URL, "events": ["ITEMS_IMPORTED"]}}
    registered = await api.data(REGISTER_WEBHOOK, variables, as_="pm")
    assert registered["registerWebhook"]["errors"] == [], registered
    scene.webhook = registered["registerWebhook"]["webhook"]["id"]
    await import_items(api, scene.project, ["a-5"], as_="pm")
    async with api.runtime.sessions() as session:
        delivery = await session.scalar(select(WebhookDelivery))
        assert delivery is not None
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        await session.commit()
        scene.delivery = gid("WebhookDelivery", delivery.id)


def check_registered(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "registerWebhook")
    if refused:
        return refused
    shown = result["webhook"]
    good = shown["url"] == WEBHOOK_URL and shown["events"] == ["ITEM_DECIDED"] and shown["active"]
    return allow(good and result["signingSecret"].startswith("whsec_"), result)


def check_webhook_updated(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateWebhook")
    return refused or allow(result["webhook"] == {"id": scene.webhook, "active": False}, result)


def check_webhook_deleted(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "deleteWebhook")
    return refused or allow(result["deletedWebhookId"] == scene.webhook, result)


def check_redelivered(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "redeliverWebhookDelivery")
    return refused or allow(result["delivery"] == {"id": scene.delivery, "status": "PENDING"}, result)


def webhooks_listed(data: dict[str, Any], scene: Scene) -> Outcome:
    (shown,) = data["project"]["webhooks"]
    deliveries = shown["deliveries"]["nodes"]
    good = [(d["id"], d["status"], d["event"]["kind"]) for d in deliveries] == [
        (scene.delivery, "FAILED", "ITEMS_IMPORTED")
    ]
    return allow(shown["id"] == scene.webhook and good, data)


PUSH = """
mutation Push($input: SubmitSuggestionsInput!) {
  submitSuggestions(input: $input) { created modelVersion { id } errors { code field message } }
}
"""

SHOW_ALWAYS = """
mutation P($input: UpdateSuggestionPolicyInput!) { updateSuggestionPolicy(input: $input) { errors { code } } }
"""


async def suggested(api: Api, scene: Scene) -> None:
    """The ML service's model m 1 suggests pos for a-1 and a-2; tasks show suggestions."""
    if scene.model:
        return
    rows = [{"externalId": e, "value": {"sentiment": "pos"}, "confidence": 0.8} for e in ("a-1", "a-2")]
    variables = {"input": {"projectId": scene.project, "modelName": "m", "modelVersion": "1", "suggestions": rows}}
    pushed = (await api.data(PUSH, variables, as_="mlbot"))["submitSuggestions"]
    assert pushed["errors"] == [], pushed
    policy = await api.data(SHOW_ALWAYS, {"input": {"projectId": scene.project, "showSuggestions": "ALWAYS"}}, as_="pm")
    assert policy["updateSuggestionPolicy"]["errors"] == []
    models = await api.data(project_query("models { id }"), {"id": scene.project}, as_="pm")
    scene.model = models["project"]["models"][0]["id"]
    scene.model_version = pushed["modelVersion"]["id"]


def check_pushed(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "submitSuggestions")
    return refused or allow(result["created"] == 1, result)


def check_suggestion_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateSuggestionPolicy")
    return refused or allow(result["project"] == {"showSuggestions": "ALWAYS"}, result)


def check_heuristic_rules(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "setHeuristicRules")
    return refused or allow(
        result["project"]["heuristicRules"] == {"version": 1, "rules": [{"name": "refund"}]}, result
    )


def check_trained(data: dict[str, Any], scene: Scene) -> Outcome:
    result = data["trainModel"]
    codes = [error["code"] for error in result["errors"]]
    if codes == ["NOT_FOUND"]:
        return HIDDEN
    failed = [{"field": "sentiment", "status": "FAILED", "errorCode": "TOO_FEW_CLASSES"}]
    return allow(codes == ["TOO_FEW_CLASSES"] and result["runs"] == failed, result)


def check_learning_policy(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "updateActiveLearningPolicy")
    return refused or allow(result["project"] == {"samplingStrategy": "UNCERTAINTY", "retrainEvery": 50}, result)


STRONG = "amber-lantern-quietly-92"
ACCOUNT_ERRORS = "errors { code field message }"


async def an_invitation(api: Api, scene: Scene) -> None:
    invited = await api.data(
        user_mutation("inviteUser", "InviteUserInput", "invitationToken"),
        {"input": {"username": "invitee", "grants": [{"role": "ANNOTATOR", "projectId": scene.project}]}},
        as_="admin",
    )
    assert invited["inviteUser"]["errors"] == [], invited
    scene.invitation = invited["inviteUser"]["invitationToken"]


async def a_reset_link(api: Api, scene: Scene) -> None:
    issued = await api.data(
        user_mutation("issuePasswordReset", "IssuePasswordResetInput", "resetToken"),
        {"input": {"userId": scene.people["ann2"]}},
        as_="admin",
    )
    assert issued["issuePasswordReset"]["errors"] == [], issued
    scene.reset_link = issued["issuePasswordReset"]["resetToken"]


async def ann2_deactivated(api: Api, scene: Scene) -> None:
    done = await api.data(
        user_mutation("deactivateUser", "AccountReasonInput", ""),
        {"input": {"userId": scene.people["ann2"], "reason": "On leave."}},
        as_="admin",
    )
    assert done["deactivateUser"]["errors"] == [], done


def account_check(field: str, condition: Callable[[dict[str, Any], Scene], bool]) -> Check:
    def check(data: dict[str, Any], scene: Scene) -> Outcome:
        refused, result = payload(data, field)
        return refused or allow(condition(result, scene), result)

    return check


def check_password_changed(data: dict[str, Any], scene: Scene) -> Outcome:
    result = data["changePassword"]
    if [e["code"] for e in result["errors"]] == ["WRONG_IDENTITY_KIND"]:
        return EMPTY  # a service account has a client secret, not a password
    refused, result = payload(data, "changePassword")
    return refused or allow(result["signInsEnded"] == 0, result)


def user_mutation(field: str, input_type: str, selection: str) -> str:
    return f"mutation M($input: {input_type}!) {{ {field}(input: $input) {{ {selection} {ACCOUNT_ERRORS} }} }}"


OPERATIONS.update(
    {
        "project.webhooks": Operation(
            project_query("webhooks { id url deliveries { nodes { id status event { kind } } } }"),
            lambda s: {"id": s.project},
            webhooks_listed,
            setup=a_webhook,
        ),
        "registerWebhook": Operation(
            REGISTER_WEBHOOK,
            lambda s: {"input": {"projectId": s.project, "url": WEBHOOK_URL, "events": ["ITEM_DECIDED"]}},
            check_registered,
            writes=True,
        ),
        "updateWebhook": Operation(
            """
            mutation Update($input: UpdateWebhookInput!) {
              updateWebhook(input: $input) { webhook { id active } errors { code field message } }
            }
            """,
            lambda s: {"input": {"webhookId": s.webhook, "active": False}},
            check_webhook_updated,
            writes=True,
            setup=a_webhook,
        ),
        "deleteWebhook": Operation(
            """
            mutation Delete($input: DeleteWebhookInput!) {
              deleteWebhook(input: $input) { deletedWebhookId errors { code field message } }
            }
            """,
            lambda s: {"input": {"webhookId": s.webhook}},
            check_webhook_deleted,
            writes=True,
            setup=a_webhook,
        ),
        "redeliverWebhookDelivery": Operation(
            """
            mutation Redeliver($input: RedeliverWebhookDeliveryInput!) {
              redeliverWebhookDelivery(input: $input) { delivery { id status } errors { code field message } }
            }
            """,
            lambda s: {"input": {"deliveryId": s.delivery}},
            check_redelivered,
            writes=True,
            setup=a_webhook,
        ),
        "submitSuggestions": Operation(
            PUSH,
            lambda s: {
                "input": {
                    "projectId": s.project,
                    "modelName": "m",
                    "modelVersion": "1",
                    "suggestions": [{"externalId": "a-3", "value": {"sentiment": "neg"}, "confidence": 0.7}],
                }
            },
            check_pushed,
            writes=True,
        ),
        "updateSuggestionPolicy": Operation(
            """
            mutation Policy($input: UpdateSuggestionPolicyInput!) {
              updateSuggestionPolicy(input: $input) { project { showSuggestions } errors { code field message } }
            }
            """,
            lambda s: {"input": {"projectId": s.project, "showSuggestions": "ALWAYS"}},
            check_suggestion_policy,
            writes=True,
        ),
        "setHeuristicRules": Operation(
            """
            mutation Rules($input: SetHeuristicRulesInput!) {
              setHeuristicRules(input: $input) {
                project { heuristicRules { version rules { name } } } errors { code field message }
              }
            }
            """,
            lambda s: {
                "input": {
                    "projectId": s.project,
                    "rules": [
                        {
                            "name": "refund",
                            "itemField": "text",
                            "keywords": ["refund"],
                            "field": "sentiment",
                            "class": "neg",
                            "confidence": 0.8,
                        }
                    ],
                }
            },
            check_heuristic_rules,
            writes=True,
        ),
        "trainModel": Operation(
            """
            mutation Train($input: TrainModelInput!) {
              trainModel(input: $input) { runs { field status errorCode } errors { code field message } }
            }
            """,
            lambda s: {"input": {"projectId": s.project, "field": "sentiment"}},
            check_trained,
            writes=True,
        ),
        "updateActiveLearningPolicy": Operation(
            """
            mutation Learning($input: UpdateActiveLearningPolicyInput!) {
              updateActiveLearningPolicy(input: $input) {
                project { samplingStrategy retrainEvery } errors { code field message }
              }
            }
            """,
            lambda s: {"input": {"projectId": s.project, "samplingStrategy": "UNCERTAINTY", "retrainEvery": 50}},
            check_learning_policy,
            writes=True,
        ),
        "project.trainingRuns": Operation(
            project_query("trainingRuns { field status }"),
            lambda s: {"id": s.project},
            lambda d, s: allow(d["project"]["trainingRuns"] == [], d),
        ),
        "project.showSuggestions": Operation(
            project_query("showSuggestions"),
            lambda s: {"id": s.project},
            lambda d, s: allow(d["project"]["showSuggestions"] == "NEVER", d),
        ),
        "project.models": Operation(
            project_query("models { name kind versions { version suggestionCount } }"),
            lambda s: {"id": s.project},
            lambda d, s: allow(
                d["project"]["models"]
                == [{"name": "m", "kind": "EXTERNAL", "versions": [{"version": "1", "suggestionCount": 2}]}],
                d,
            ),
            setup=suggested,
        ),
        "project.heuristicRules": Operation(
            project_query("heuristicRules { version rules { name } }"),
            lambda s: {"id": s.project},
            lambda d, s: allow(d["project"]["heuristicRules"] == {"version": 0, "rules": []}, d),
        ),
        # ann2's pos on a-1 agrees with m, ann3's neg on a-2 does not; neither task showed anything.
        "project.modelAgreement": Operation(
            project_query('modelAgreement(modelName: "m") { shown { labels } notShown { labels agreeing } }'),
            lambda s: {"id": s.project},
            lambda d, s: allow(
                d["project"]["modelAgreement"] == {"shown": {"labels": 0}, "notShown": {"labels": 2, "agreeing": 1}},
                d,
            ),
            setup=suggested,
        ),
        "node(Model)": Operation(
            node_query("Model { name kind }"),
            lambda s: {"id": s.model},
            lambda d, s: allow(d["node"] == {"__typename": "Model", "name": "m", "kind": "EXTERNAL"}, d),
            setup=suggested,
        ),
        "node(ModelVersion)": Operation(
            node_query("ModelVersion { modelName version }"),
            lambda s: {"id": s.model_version},
            lambda d, s: allow(d["node"] == {"__typename": "ModelVersion", "modelName": "m", "version": "1"}, d),
            setup=suggested,
        ),
        "assignment.suggestions": Operation(
            node_query("Assignment { suggestions { modelName modelVersion value } }"),
            lambda s: {"id": s.ann2_task},
            lambda d, s: allow(
                d["node"]["suggestions"] == [{"modelName": "m", "modelVersion": "1", "value": {"sentiment": "pos"}}], d
            ),
            setup=suggested,
        ),
        "project.members": Operation(
            project_query("members { user { username } roles }"),
            lambda s: {"id": s.project},
            lambda d, s: allow(
                {"user": {"username": "ann1"}, "roles": ["ANNOTATOR"]} in d["project"]["members"]
                and all(m["user"]["username"] not in ("admin", "pm_b") for m in d["project"]["members"]),
                d,
            ),
        ),
        "createUser": Operation(
            user_mutation("createUser", "CreateUserInput", "user { username status }"),
            lambda s: {"input": {"username": "newcomer", "password": STRONG}},
            account_check("createUser", lambda r, s: r["user"] == {"username": "newcomer", "status": "ACTIVE"}),
            writes=True,
        ),
        "inviteUser": Operation(
            user_mutation("inviteUser", "InviteUserInput", "user { username status } invitationToken"),
            lambda s: {"input": {"username": "invitee", "grants": [{"role": "ANNOTATOR", "projectId": s.project}]}},
            account_check("inviteUser", lambda r, s: r["user"]["status"] == "INVITED" and bool(r["invitationToken"])),
            writes=True,
        ),
        "acceptInvite": Operation(
            user_mutation("acceptInvite", "AcceptInviteInput", "username granted { role }"),
            lambda s: {"input": {"token": s.invitation, "password": STRONG}},
            account_check(
                "acceptInvite", lambda r, s: r["username"] == "invitee" and r["granted"] == [{"role": "ANNOTATOR"}]
            ),
            writes=True,
            setup=an_invitation,
        ),
        "updateUser": Operation(
            user_mutation("updateUser", "UpdateUserInput", "user { displayName }"),
            lambda s: {"input": {"userId": s.people["ann2"], "displayName": "Annotator Two", "reason": "Typo."}},
            account_check("updateUser", lambda r, s: r["user"] == {"displayName": "Annotator Two"}),
            writes=True,
        ),
        "deactivateUser": Operation(
            user_mutation("deactivateUser", "AccountReasonInput", "user { status } signInsEnded"),
            lambda s: {"input": {"userId": s.people["ann2"], "reason": "Left."}},
            account_check("deactivateUser", lambda r, s: r["user"] == {"status": "DEACTIVATED"}),
            writes=True,
        ),
        "reactivateUser": Operation(
            user_mutation("reactivateUser", "AccountReasonInput", "user { status }"),
            lambda s: {"input": {"userId": s.people["ann2"], "reason": "Back."}},
            account_check("reactivateUser", lambda r, s: r["user"] == {"status": "ACTIVE"}),
            writes=True,
            setup=ann2_deactivated,
        ),
        "changePassword": Operation(
            user_mutation("changePassword", "ChangePasswordInput", "signInsEnded"),
            lambda s: {"input": {"currentPassword": PASSWORD, "newPassword": STRONG}},
            check_password_changed,
            writes=True,
        ),
        "issuePasswordReset": Operation(
            user_mutation("issuePasswordReset", "IssuePasswordResetInput", "user { username } resetToken"),
            lambda s: {"input": {"userId": s.people["ann2"]}},
            account_check(
                "issuePasswordReset", lambda r, s: r["user"] == {"username": "ann2"} and bool(r["resetToken"])
            ),
            writes=True,
        ),
        "resetPassword": Operation(
            user_mutation("resetPassword", "ResetPasswordInput", "username"),
            lambda s: {"input": {"token": s.reset_link, "password": STRONG}},
            account_check("resetPassword", lambda r, s: r["username"] == "ann2"),
            writes=True,
            setup=a_reset_link,
        ),
        "createServiceAccount": Operation(
            user_mutation("createServiceAccount", "CreateServiceAccountInput", "clientId clientSecret"),
            lambda s: {"input": {"username": "pipeline"}},
            account_check("createServiceAccount", lambda r, s: r["clientId"] == "pipeline" and bool(r["clientSecret"])),
            writes=True,
        ),
        "rotateClientSecret": Operation(
            user_mutation(
                "rotateClientSecret", "RotateClientSecretInput", "clientId clientSecret previousSecretValidUntil"
            ),
            lambda s: {"input": {"serviceAccountId": s.people["mlbot"], "graceSeconds": 600}},
            account_check(
                "rotateClientSecret",
                lambda r, s: (
                    r["clientId"] == "mlbot" and bool(r["clientSecret"]) and bool(r["previousSecretValidUntil"])
                ),
            ),
            writes=True,
        ),
        "revokeServiceAccount": Operation(
            user_mutation("revokeServiceAccount", "RevokeServiceAccountInput", "serviceAccount { status }"),
            lambda s: {"input": {"serviceAccountId": s.people["mlbot"], "reason": "Retired."}},
            account_check("revokeServiceAccount", lambda r, s: r["serviceAccount"] == {"status": "REVOKED"}),
            writes=True,
        ),
    }
)
# A public address as a literal: the issuer check resolves nothing, and nothing connects to it.
IDP_ISSUER = "https://93.184.216.34/idp"


async def an_identity_provider(api: Api, scene: Scene) -> None:
    """The admin's provider "acme", straight into the table (its secret is never read here)."""
    async with api.runtime.sessions() as session:
        if await session.scalar(select(IdentityProvider.id).where(IdentityProvider.name == "acme")) is None:
            session.add(IdentityProvider(name="acme", issuer=IDP_ISSUER, client_id="lg", client_secret_sealed="00"))
            await session.commit()


def check_configured(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "configureIdentityProvider")
    shown = result["provider"]
    mapped = shown and shown["roleMappings"] == [{"role": "ANNOTATOR", "projectId": scene.project}]
    return refused or allow(result["created"] and shown["name"] == "acme2" and mapped, result)


# -- label-issue detection ------------------------------------------------------------------------

POLICY_NO_REVIEW = """
mutation Policy($input: UpdateQualityPolicyInput!) { updateQualityPolicy(input: $input) { errors { code } } }
"""


async def decided_in_a(api: Api, scene: Scene) -> None:
    """Fifteen decided items in project A: a-2 (neg, reviewed) and 14 that ann1 labeled, pos and neg
    in turn, decided by the aggregation alone (no review): enough for a detection run."""
    policy = await api.data(POLICY_NO_REVIEW, {"input": {"projectId": scene.project, "reviewRate": 0.0}}, as_="pm")
    assert policy["updateQualityPolicy"]["errors"] == []
    await import_items(api, scene.project, [f"d-{i}" for i in range(12)], as_="pm")
    for n in range(14):
        await claim_and_submit(api, scene.project, "ann1", "pos" if n % 2 == 0 else "neg")


def check_detected(data: dict[str, Any], scene: Scene) -> Outcome:
    refused, result = payload(data, "detectLabelIssues")
    return refused or allow(result["run"]["itemCount"] == 15 and result["run"]["source"] == "BUILT_IN", result)


async def an_issue_run(api: Api, scene: Scene) -> None:
    """A stored run ranking a-2 as likely mislabeled, as detectLabelIssues leaves it (not flagged)."""
    if scene.issue_run:
        return
    async with api.runtime.sessions() as session:
        item = await session.scalar(
            select(Item).where(Item.project_id == api.world.project_a, Item.external_id == "a-2")
        )
        assert item is not None
        run = LabelIssueRun(
            project_id=api.world.project_a,
            field="sentiment",
            source=IssueSource.BUILT_IN,
            item_count=12,
            left_out=0,
            issue_count=1,
            top=0,
            flagged=0,
            created_by=api.world.id("pm"),
        )
        session.add(run)
        await session.flush()
        session.add(
            LabelIssue(
                run_id=run.id,
                rank=1,
                item_id=item.id,
                given="neg",
                suggested="pos",
                score=0.8,
                self_confidence=0.2,
                outcome=IssueOutcome.NOT_FLAGGED,
            )
        )
        await session.commit()
        scene.issue_run = gid("LabelIssueRun", run.id)


OPERATIONS.update(
    {
        "identityProviders": Operation(
            "query { identityProviders { name issuer clientId } }",
            lambda s: {},
            lambda data, s: allow(
                data["identityProviders"] == [{"name": "acme", "issuer": IDP_ISSUER, "clientId": "lg"}], data
            ),
            setup=an_identity_provider,
        ),
        "configureIdentityProvider": Operation(
            user_mutation(
                "configureIdentityProvider",
                "ConfigureIdentityProviderInput",
                "created provider { name roleMappings { role projectId } }",
            ),
            lambda s: {
                "input": {
                    "name": "acme2",
                    "issuer": IDP_ISSUER,
                    "clientId": "lg",
                    "clientSecret": "s3cret",
                    "roleMappings": [
                        {"claim": "groups", "value": "labelers", "role": "ANNOTATOR", "projectId": s.project}
                    ],
                }
            },
            check_configured,
            writes=True,
        ),
    }
)

OPERATIONS.update(
    {
        "detectLabelIssues": Operation(
            """
            mutation Detect($input: DetectLabelIssuesInput!) {
              detectLabelIssues(input: $input) { run { itemCount source } errors { code field message } }
            }
            """,
            lambda s: {"input": {"projectId": s.project, "top": 2}},
            check_detected,
            writes=True,
            setup=decided_in_a,
        ),
        "project.labelIssues": Operation(
            project_query(
                "labelIssues(first: 5) { run { id } issues { nodes { rank given suggested item { externalId } } } }"
            ),
            lambda s: {"id": s.project},
            lambda d, s: allow(
                d["project"]["labelIssues"]
                == {
                    "run": {"id": s.issue_run},
                    "issues": {
                        "nodes": [{"rank": 1, "given": "neg", "suggested": "pos", "item": {"externalId": "a-2"}}]
                    },
                },
                d,
            ),
            setup=an_issue_run,
        ),
        "node(LabelIssueRun)": Operation(
            node_query("LabelIssueRun { field issueCount }"),
            lambda s: {"id": s.issue_run},
            lambda d, s: allow(d["node"] == {"__typename": "LabelIssueRun", "field": "sentiment", "issueCount": 1}, d),
            setup=an_issue_run,
        ),
    }
)


def scraped(data: dict[str, Any], scene: Scene) -> Outcome:
    return allow("labelgraph_queue_depth{" in data["text"] and "labelgraph_claims_total" in data["text"], data)


OPERATIONS["GET /metrics"] = Operation(None, lambda s: {}, scraped, route="/metrics", url=lambda s: "/metrics")


READS = [name for name, op in OPERATIONS.items() if not op.writes]
WRITES = [
    pytest.param(name, role, id=f"{name}-{role}") for name, op in OPERATIONS.items() if op.writes for role in ROLES
]


async def call(api: Api, operation: Operation, scene: Scene) -> Outcome:
    """What the caller got: DENY for a refusal, else the operation's own judgment of the data."""
    if operation.document is None:
        headers = {"Authorization": f"Bearer {api.token(scene.caller)}"}
        if operation.form is None:
            response = await api.client.get(operation.url(scene), headers=headers)
        else:
            response = await api.client.post(operation.url(scene), data=operation.form(scene), headers=headers)
        if response.status_code == 403:
            assert response.json()["error"] == "forbidden"
            return DENY
        if response.status_code == 404:
            assert response.json()["error"] == "not_found"
            return HIDDEN
        assert response.status_code == 200, response.text
        return operation.check({"text": response.text}, scene)
    response = await api.raw(operation.document, operation.variables(scene), as_=scene.caller)
    assert response.status_code == 200, response.text  # never a 500, nor a 401 for a valid token
    body = response.json()
    if "errors" in body:
        assert_forbidden(body)
        assert body["data"] is not None, "a refusal nulls its own field, not the whole response"
        return DENY
    if body["data"][operation.root_field.split(".", 1)[1]] is None:
        return HIDDEN  # what the caller may not read does not exist for it
    return operation.check(body["data"], scene)


async def check_cell(api: Api, name: str, scene: Scene) -> None:
    """One cell of the matrix: the outcome it names, and a database changed only by an allowed write."""
    operation = OPERATIONS[name]
    expected = MATRIX[name][ROLES.index(scene.caller)]
    await operation.setup(api, scene)
    before = await database_state(api)

    outcome = await call(api, operation, scene)

    after = await database_state(api)
    gap = KNOWN_GAPS.get((name, scene.caller))
    if gap is not None:
        assert outcome != expected, f"fixed: remove ({name}, {scene.caller}) from KNOWN_GAPS"
        pytest.xfail(gap)
    assert outcome == expected, f"{scene.caller} calling {name}: expected {expected}, got {outcome}"
    if outcome is ALLOW and operation.writes:
        assert after != before, "allowed, yet nothing was written"
    if outcome in (DENY, HIDDEN):
        assert after == before, "refused, yet the database changed"


@pytest.mark.parametrize("role", ROLES)
async def test_reads_as_role(api: Api, subtests: pytest.Subtests, role: str) -> None:
    # Reads write nothing, so one scene serves every read of the role; each is its own subtest.
    scene = await build_scene(api, role)
    for name in READS:
        with subtests.test(name):
            await check_cell(api, name, scene)


@pytest.mark.parametrize(("operation", "role"), WRITES)
async def test_write_as_role(api: Api, operation: str, role: str) -> None:
    # Writes get a fresh scene each: an allowed one changes what the next would see.
    await check_cell(api, operation, await build_scene(api, role))


def test_matrix_has_a_row_per_operation_and_a_column_per_role() -> None:
    assert MATRIX.keys() == OPERATIONS.keys()
    assert all(len(row) == len(ROLES) for row in MATRIX.values())
    assert {op for op, _role in KNOWN_GAPS} <= MATRIX.keys()


def test_every_role_has_a_column() -> None:
    held = {CAST[name][1] for name in ROLES}
    assert set(Role) <= held, f"add a column for {set(Role) - held}"
    assert None in held, "one column must be an identity with no role at all"


def test_every_query_and_mutation_field_is_in_the_matrix() -> None:
    schema = schema_from_sdl(build_schema(Settings()).as_str())
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    fields = {f"Query.{name}" for name in schema.query_type.fields}
    fields |= {f"Mutation.{name}" for name in schema.mutation_type.fields}
    covered = {op.root_field for op in OPERATIONS.values()}
    assert fields - covered == set(), "new operations: add them to MATRIX and OPERATIONS after review"


def test_every_data_route_is_in_the_matrix() -> None:
    # /graphql is covered field by field above; these hand out tokens, health, the public keys
    # tokens are verified with (public by design) and GraphiQL's browser files (installed npm
    # packages, outside production only), no data.
    # The single sign-on routes are how a caller gets a token (tests/sso, test_denial_rule).
    # The dashboard's pages and files are the same static files for everyone: their scripts read
    # only /graphql with the caller's token (tests/dashboard).
    unguarded = {
        "/graphql",
        "/auth/token",
        "/healthz",
        "/.well-known/jwks.json",
        "/graphiql/assets/{name}",
        "/auth/oidc/{provider}/login",
        "/auth/oidc/{provider}/callback",
        "/dashboard",
        "/dashboard/",
        "/dashboard/projects/{project}",
        "/dashboard/assets/{name}",
    }
    routes = {
        f"{method} {route.path}"
        for route in create_app(Settings()).routes
        if isinstance(route, Route) and route.path not in unguarded
        for method in route.methods or ()
        if method != "HEAD"
    }
    covered = {op.root_field for op in OPERATIONS.values()}
    assert routes - covered == set(), "new routes: add them to MATRIX and OPERATIONS after review"


def test_every_subscription_field_has_a_row_for_every_role() -> None:
    """Subscriptions run over WebSocket, so their table lives with their test
    (tests/events/test_subscriptions.py), which calls each of them as every role."""
    from tests.events.test_subscriptions import SUBSCRIPTION_MATRIX

    schema = schema_from_sdl(build_schema(Settings()).as_str())
    assert schema.subscription_type is not None
    assert set(schema.subscription_type.fields) == set(SUBSCRIPTION_MATRIX)
    assert all(len(row) == len(ROLES) for row in SUBSCRIPTION_MATRIX.values())
