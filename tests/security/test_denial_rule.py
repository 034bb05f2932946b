"""The one denial rule: what a caller may not read does not exist for it.

For every object type, every operation that takes an id, and every data route, the answer to
an id of project B's object (the caller holds no role in B) is compared with the answer to an
id that names nothing: they must be identical apart from the id itself. A difference would tell
an outsider that the object exists.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.automation.models import IssueOutcome, IssueSource, LabelIssue, LabelIssueRun
from app.ids import decode_global_id
from app.sso.models import IdentityProvider
from tests.conftest import SCHEMA, Api, gid
from tests.security import REVIEW, claim_and_submit, database_state, import_items

CONSENT = {
    "subjectRef": "subj-b",
    "purposes": ["annotation"],
    "legalBasis": "CONSENT",
    "grantedAt": "2026-01-01T00:00:00Z",
    "jurisdiction": "FR",
    "collector": "intake-app",
    "evidenceRef": "evidence/b",
    "noticeVersion": "v1",
}
NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"
PROJECT = "query Project($id: ID!) { project(id: $id) { id name } }"


def mutation(field: str, input_type: str, selection: str = "") -> str:
    payload = "{ " + selection + " errors { code field message } }"
    return f"mutation M($input: {input_type}!) {{ {field}(input: $input) {payload} }}"


@dataclass(frozen=True)
class Case:
    """One request naming an object by id; `variables` builds it for any id."""

    caller: str
    document: str | None  # None: a GET of `route`
    variables: Callable[[str], dict[str, Any]]
    route: Callable[[str], str] = lambda _id: ""


def node_case(caller: str) -> Case:
    return Case(caller, NODE, lambda id_: {"id": id_})


CASES: dict[str, tuple[str, Case]] = {
    # name: (the kind of B's object, the request)
    "node(Project)": ("Project", node_case("pm")),
    "project(id)": ("Project", Case("pm", PROJECT, lambda id_: {"id": id_})),
    "node(Item)": ("Item", node_case("pm")),
    "node(Label)": ("Label", node_case("reviewer")),
    "node(Review)": ("Review", node_case("reviewer")),
    "node(Assignment)": ("Assignment", node_case("pm")),
    "node(SchemaChangeRequest)": ("SchemaChangeRequest", node_case("pm")),
    "node(GuidelineVersion)": ("GuidelineVersion", node_case("pm")),
    "node(User) as an annotator": ("User", node_case("ann1")),
    "node(Comment)": ("Comment", node_case("pm")),
    "node(Decision)": ("Decision", node_case("pm")),
    # Consent is org-wide: unreadable for everyone without (consent, read), such as any manager.
    "node(ConsentRecord)": ("ConsentRecord", node_case("pm")),
    "consentRecord(id)": (
        "ConsentRecord",
        Case("pm", "query C($id: ID!) { consentRecord(id: $id) { id status } }", lambda id_: {"id": id_}),
    ),
    "revokeConsent": (
        "ConsentRecord",
        Case(
            "pm",
            mutation("revokeConsent", "RevokeConsentInput", "revoked { id }"),
            lambda id_: {"input": {"consentIds": [id_], "reason": "x"}},
        ),
    ),
    "addComment": (
        "Item",
        Case(
            "pm",
            mutation("addComment", "AddCommentInput", "comment { id }"),
            lambda id_: {"input": {"itemId": id_, "body": "x"}},
        ),
    ),
    "editComment": (
        "Comment",
        Case(
            "reviewer",
            mutation("editComment", "EditCommentInput", "comment { id }"),
            lambda id_: {"input": {"commentId": id_, "body": "x"}},
        ),
    ),
    "deleteComment": (
        "Comment",
        Case(
            "pm",
            mutation("deleteComment", "DeleteCommentInput", "comment { id }"),
            lambda id_: {"input": {"commentId": id_}},
        ),
    ),
    "promoteToGuideline": (
        "Item",
        Case(
            "pm",
            mutation("promoteToGuideline", "PromoteToGuidelineInput", "guideline { id }"),
            lambda id_: {"input": {"itemId": id_, "commentId": gid("Comment", uuid.UUID(int=1)), "title": "x"}},
        ),
    ),
    # An invitation into B, by A's manager: B does not exist for it.
    "inviteUser": (
        "Project",
        Case(
            "pm",
            mutation("inviteUser", "InviteUserInput", "invitationToken"),
            lambda id_: {"input": {"username": "invitee", "grants": [{"role": "ANNOTATOR", "projectId": id_}]}},
        ),
    ),
    "updateRetentionPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateRetentionPolicy", "UpdateRetentionPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "retentionDays": 30}},
        ),
    ),
    "importItems": (
        "Project",
        Case(
            "pm",
            mutation("importItems", "ImportItemsInput", "importedCount"),
            lambda id_: {"input": {"projectId": id_, "items": [{"externalId": "x", "data": {"text": "x"}}]}},
        ),
    ),
    "claimNextTask": (
        "Project",
        Case(
            "ann1",
            mutation("claimNextTask", "ClaimNextTaskInput", "resumed"),
            lambda id_: {"input": {"projectId": id_}},
        ),
    ),
    "submitLabel": (
        "Assignment",
        Case(
            "ann1",
            mutation("submitLabel", "SubmitLabelInput", "label { id }"),
            lambda id_: {"input": {"assignmentId": id_, "value": {"sentiment": "pos"}}},
        ),
    ),
    "reviewLabel": (
        "Label",
        Case(
            "reviewer",
            mutation("reviewLabel", "ReviewLabelInput", "review { id }"),
            lambda id_: {"input": {"labelId": id_, "verdict": "ACCEPT"}},
        ),
    ),
    "grantRole": (
        "Project",
        Case(
            "pm",
            mutation("grantRole", "RoleInput", "user { id }"),
            lambda id_: {"input": {"userId": "", "role": "ANNOTATOR", "projectId": id_}},
        ),
    ),
    "proposeSchemaChange": (
        "Project",
        Case(
            "pm",
            mutation("proposeSchemaChange", "ProposeSchemaChangeInput", "request { id }"),
            lambda id_: {"input": {"projectId": id_, "definition": SCHEMA, "rationale": "why"}},
        ),
    ),
    "approveSchemaChange": (
        "SchemaChangeRequest",
        Case(
            "pm",
            mutation("approveSchemaChange", "ApproveSchemaChangeInput", "request { id }"),
            lambda id_: {"input": {"requestId": id_}},
        ),
    ),
    "withdrawSchemaChange": (
        "SchemaChangeRequest",
        Case(
            "pm",
            mutation("withdrawSchemaChange", "WithdrawSchemaChangeInput", "request { id }"),
            lambda id_: {"input": {"requestId": id_}},
        ),
    ),
    "saveGuidelineDraft": (
        "Project",
        Case(
            "pm",
            mutation("saveGuidelineDraft", "SaveGuidelineDraftInput", "guideline { id }"),
            lambda id_: {"input": {"projectId": id_, "body": "# B"}},
        ),
    ),
    "updateQualityPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateQualityPolicy", "UpdateQualityPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "reviewRate": 0.5}},
        ),
    ),
    "resolveEscalation": (
        "Item",
        Case(
            "expert",
            mutation("resolveEscalation", "ResolveEscalationInput", "decision { version }"),
            lambda id_: {"input": {"itemId": id_, "value": {"sentiment": "pos"}, "rationale": "x"}},
        ),
    ),
    "refreshQuality": (
        "Project",
        Case(
            "pm",
            mutation("refreshQuality", "RefreshQualityInput", "fields"),
            lambda id_: {"input": {"projectId": id_}},
        ),
    ),
    "updateGoldPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateGoldPolicy", "UpdateGoldPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "goldRate": 0.1}},
        ),
    ),
    "updateAnonymizationPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateAnonymizationPolicy", "UpdateAnonymizationPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "enabled": True}},
        ),
    ),
    "liftSuspension": (
        "Project",
        Case(
            "pm",
            mutation("liftSuspension", "LiftSuspensionInput", "lifted"),
            # a real person's id (answer() puts ann1's in): only the project is B's or missing
            lambda id_: {"input": {"projectId": id_, "userId": "", "reason": "Retrained."}},
        ),
    ),
    "updateCertificationPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateCertificationPolicy", "UpdateCertificationPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "size": 2}},
        ),
    ),
    "startQualification": (
        "Project",
        Case(
            "ann1",
            mutation("startQualification", "StartQualificationInput", "qualification { size }"),
            lambda id_: {"input": {"projectId": id_}},
        ),
    ),
    "claimNextAudit": (
        "Project",
        Case(
            "qa",
            mutation("claimNextAudit", "ClaimNextAuditInput", "resumed"),
            lambda id_: {"input": {"projectId": id_}},
        ),
    ),
    "submitAudit": (
        "Item",
        Case(
            "qa",
            mutation("submitAudit", "SubmitAuditInput", "audit { status }"),
            lambda id_: {"input": {"itemId": id_, "verdict": "CONFIRM"}},
        ),
    ),
    "escalateItem": (
        "Item",
        Case(
            "reviewer",
            mutation("escalateItem", "EscalateItemInput", "item { id }"),
            lambda id_: {"input": {"itemId": id_, "reason": "Needs an expert."}},
        ),
    ),
    "claimNextEscalation": (
        "Project",
        Case(
            "expert",
            mutation("claimNextEscalation", "ClaimNextEscalationInput", "resumed"),
            lambda id_: {"input": {"projectId": id_}},
        ),
    ),
    "publishGuideline": (
        "Project",
        Case(
            "pm",
            mutation("publishGuideline", "PublishGuidelineInput", "guideline { id }"),
            lambda id_: {"input": {"projectId": id_, "changelog": "v2"}},
        ),
    ),
    "acknowledgeGuideline": (
        "Project",
        Case(
            "ann1",
            mutation("acknowledgeGuideline", "AcknowledgeGuidelineInput", "acknowledgement { version }"),
            lambda id_: {"input": {"projectId": id_, "version": 1}},
        ),
    ),
    "viewer.feedback(projectId)": (
        "Project",
        Case(
            "ann1",
            "query F($id: ID!) { viewer { feedback(projectId: $id) { nodes { kind } pageInfo { hasNextPage } } } }",
            lambda id_: {"id": id_},
        ),
    ),
    "GET /export/{id}.jsonl": ("Project", Case("pm", None, lambda id_: {}, lambda id_: f"/export/{id_}.jsonl")),
    "GET /export/{id}/{format}": ("Project", Case("pm", None, lambda id_: {}, lambda id_: f"/export/{id_}/csv")),
    "GET /guidelines/{id}/{version}.md": (
        "Project",
        Case("ann1", None, lambda id_: {}, lambda id_: f"/guidelines/{id_}/1.md"),
    ),
    # Lineage: A's manager may export and read lineage in A only; B's snapshots and items do not exist for it.
    "datasetSnapshot(id)": (
        "DatasetSnapshot",
        Case("pm", "query S($id: ID!) { datasetSnapshot(id: $id) { id itemCount } }", lambda id_: {"id": id_}),
    ),
    "datasetSnapshots(projectId)": (
        "Project",
        Case("pm", "query S($id: ID!) { datasetSnapshots(projectId: $id) { nodes { id } } }", lambda id_: {"id": id_}),
    ),
    "datasetSnapshots(itemId)": (
        "Item",
        Case(
            "pm",
            "query S($p: ID!, $id: ID!) { datasetSnapshots(projectId: $p, itemId: $id) { nodes { id } } }",
            lambda id_: {"id": id_, "p": PROJECT_A[0]},
        ),
    ),
    "lineage(itemId)": (
        "Item",
        Case("pm", "query L($id: ID!) { lineage(itemId: $id) { entities { id } } }", lambda id_: {"id": id_}),
    ),
    "GET /export/snapshots/{id}.jsonl": (
        "DatasetSnapshot",
        Case("pm", None, lambda id_: {}, lambda id_: f"/export/snapshots/{id_}.jsonl"),
    ),
    "GET /export/snapshots/{id}/{format}": (
        "DatasetSnapshot",
        Case("pm", None, lambda id_: {}, lambda id_: f"/export/snapshots/{id_}/parquet"),
    ),
    "GET /export/snapshots/{id}/label-studio-config": (
        "DatasetSnapshot",
        Case("pm", None, lambda id_: {}, lambda id_: f"/export/snapshots/{id_}/label-studio-config"),
    ),
    "GET /lineage/{id}.prov.json": ("Item", Case("pm", None, lambda id_: {}, lambda id_: f"/lineage/{id_}.prov.json")),
    # Webhooks: A's manager manages A's only; B's webhook and its delivery do not exist for it.
    "registerWebhook": (
        "Project",
        Case(
            "pm",
            mutation("registerWebhook", "RegisterWebhookInput", "webhook { id } signingSecret"),
            lambda id_: {"input": {"projectId": id_, "url": "http://127.0.0.1:9/x", "events": ["ITEM_DECIDED"]}},
        ),
    ),
    "updateWebhook": (
        "Webhook",
        Case(
            "pm",
            mutation("updateWebhook", "UpdateWebhookInput", "webhook { id }"),
            lambda id_: {"input": {"webhookId": id_, "active": False}},
        ),
    ),
    "deleteWebhook": (
        "Webhook",
        Case(
            "pm",
            mutation("deleteWebhook", "DeleteWebhookInput", "deletedWebhookId"),
            lambda id_: {"input": {"webhookId": id_}},
        ),
    ),
    "redeliverWebhookDelivery": (
        "WebhookDelivery",
        Case(
            "pm",
            mutation("redeliverWebhookDelivery", "RedeliverWebhookDeliveryInput", "delivery { id }"),
            lambda id_: {"input": {"deliveryId": id_}},
        ),
    ),
    # Suggestions: B's project, and B's item named in a push to A, answer as missing ones.
    "submitSuggestions": (
        "Project",
        Case(
            "pm",
            mutation("submitSuggestions", "SubmitSuggestionsInput", "created"),
            lambda id_: {
                "input": {"projectId": id_, "modelName": "m", "modelVersion": "1", "suggestions": [SUGGESTION]}
            },
        ),
    ),
    "submitSuggestions(itemId)": (
        "Item",
        Case(
            "pm",
            mutation("submitSuggestions", "SubmitSuggestionsInput", "created"),
            lambda id_: {
                "input": {
                    "projectId": PROJECT_A[0],
                    "modelName": "m",
                    "modelVersion": "1",
                    "suggestions": [{"itemId": id_, "value": {"sentiment": "pos"}, "confidence": 0.5}],
                }
            },
        ),
    ),
    "updateSuggestionPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateSuggestionPolicy", "UpdateSuggestionPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "showSuggestions": "ALWAYS"}},
        ),
    ),
    "setHeuristicRules": (
        "Project",
        Case(
            "pm",
            mutation("setHeuristicRules", "SetHeuristicRulesInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "rules": []}},
        ),
    ),
    # The built-in model: training and its policy in B's project answer as in a missing one.
    "trainModel": (
        "Project",
        Case(
            "pm",
            mutation("trainModel", "TrainModelInput", "runs { status }"),
            lambda id_: {"input": {"projectId": id_, "field": "sentiment"}},
        ),
    ),
    "updateActiveLearningPolicy": (
        "Project",
        Case(
            "pm",
            mutation("updateActiveLearningPolicy", "UpdateActiveLearningPolicyInput", "project { id }"),
            lambda id_: {"input": {"projectId": id_, "samplingStrategy": "UNCERTAINTY"}},
        ),
    ),
    "node(Model)": ("Model", node_case("pm")),
    "node(ModelVersion)": ("ModelVersion", node_case("pm")),
    # Label-issue detection: B's project and B's run (named under project A, or by node) as missing ones.
    "detectLabelIssues": (
        "Project",
        Case(
            "pm",
            mutation("detectLabelIssues", "DetectLabelIssuesInput", "run { id }"),
            lambda id_: {"input": {"projectId": id_}},
        ),
    ),
    "project(id).labelIssues": (
        "Project",
        Case("pm", "query P($id: ID!) { project(id: $id) { labelIssues { run { id } } } }", lambda id_: {"id": id_}),
    ),
    "project.labelIssues(runId)": (
        "LabelIssueRun",
        Case(
            "pm",
            "query P($id: ID!, $run: ID) { project(id: $id) { labelIssues(runId: $run) { run { id } } } }",
            lambda id_: {"id": PROJECT_A[0], "run": id_},
        ),
    ),
    "node(LabelIssueRun)": ("LabelIssueRun", node_case("pm")),
}
SUGGESTION = {"externalId": "b-1", "value": {"sentiment": "pos"}, "confidence": 0.5}
# Project A's global id, set by the test (the world is built per test).
PROJECT_A: list[str] = [""]


async def objects_of_b(api: Api) -> dict[str, str]:
    """One object of every kind in project B, made by B's own people: global ids by type."""
    project = gid("Project", api.world.project_b)
    await import_items(api, project, ["b-1", "b-2"], as_="pm_b")
    decided = await claim_and_submit(api, project, "ann_b", "pos")
    accepted = await api.data(REVIEW, {"input": {"labelId": decided["label"], "verdict": "ACCEPT"}}, as_="admin")
    fields = [dict(f) for f in SCHEMA["fields"]]
    fields[0]["classes"] = ["pos", "neg", "neu", "mixed"]
    proposed = await api.data(
        mutation("proposeSchemaChange", "ProposeSchemaChangeInput", "request { id }"),
        {"input": {"projectId": project, "definition": {"fields": fields}, "rationale": "Mixed feelings exist."}},
        as_="pm_b",
    )
    drafted = await api.data(
        mutation("saveGuidelineDraft", "SaveGuidelineDraftInput", "guideline { id }"),
        {"input": {"projectId": project, "body": "# B"}},
        as_="pm_b",
    )
    commented = await api.data(
        mutation("addComment", "AddCommentInput", "comment { id }"),
        {"input": {"itemId": decided["item"], "body": "B's hard case"}},
        as_="pm_b",
    )
    decision = await api.data(
        "query D($id: ID!) { node(id: $id) { ... on Item { decisions { id } } } }", {"id": decided["item"]}, as_="pm_b"
    )
    exported = await api.client.get(
        f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {api.token('pm_b')}"}
    )
    assert exported.status_code == 200, exported.text
    consent = await api.data(
        mutation("recordConsent", "RecordConsentInput", "consentIds"),
        {"input": {"records": [CONSENT]}},
        as_="compliance",
    )
    registered = await api.data(
        mutation("registerWebhook", "RegisterWebhookInput", "webhook { id }"),
        {"input": {"projectId": project, "url": "http://127.0.0.1:9/b", "events": ["ITEMS_IMPORTED"]}},
        as_="pm_b",
    )
    await import_items(api, project, ["b-3"], as_="pm_b")
    hooks = await api.data(
        "query W($id: ID!) { project(id: $id) { webhooks { deliveries { nodes { id } } } } }",
        {"id": project},
        as_="pm_b",
    )
    pushed = await api.data(
        mutation("submitSuggestions", "SubmitSuggestionsInput", "modelVersion { id }"),
        {"input": {"projectId": project, "modelName": "mb", "modelVersion": "1", "suggestions": [SUGGESTION]}},
        as_="pm_b",
    )
    models = await api.data("query M($id: ID!) { project(id: $id) { models { id } } }", {"id": project}, as_="pm_b")
    PROJECT_A[0] = gid("Project", api.world.project_a)
    run = await a_run_in_b(api, decided["item"])
    return {
        "LabelIssueRun": run,
        "Webhook": registered["registerWebhook"]["webhook"]["id"],
        "WebhookDelivery": hooks["project"]["webhooks"][0]["deliveries"]["nodes"][0]["id"],
        "Model": models["project"]["models"][0]["id"],
        "ModelVersion": pushed["submitSuggestions"]["modelVersion"]["id"],
        "DatasetSnapshot": exported.headers["Labelgraph-Snapshot"],
        "ConsentRecord": consent["recordConsent"]["consentIds"][0],
        "Comment": commented["addComment"]["comment"]["id"],
        "Decision": decision["node"]["decisions"][0]["id"],
        "Project": project,
        "Item": decided["item"],
        "Label": decided["label"],
        "Review": accepted["reviewLabel"]["review"]["id"],
        "Assignment": decided["task"],
        "SchemaChangeRequest": proposed["proposeSchemaChange"]["request"]["id"],
        "GuidelineVersion": drafted["saveGuidelineDraft"]["guideline"]["id"],
        "User": gid("User", api.world.id("ann_b")),
    }


async def a_run_in_b(api: Api, item: str) -> str:
    """A label-issue run of project B, stored as detectLabelIssues stores one (B has too few decided
    items for a real run)."""
    async with api.runtime.sessions() as session:
        run = LabelIssueRun(
            project_id=api.world.project_b,
            field="sentiment",
            source=IssueSource.BUILT_IN,
            item_count=10,
            left_out=0,
            issue_count=1,
            top=0,
            flagged=0,
            created_by=api.world.id("pm_b"),
        )
        session.add(run)
        await session.flush()
        issue = LabelIssue(
            run_id=run.id,
            rank=1,
            item_id=decode_id(item),
            given="pos",
            suggested="neg",
            score=0.9,
            self_confidence=0.1,
            outcome=IssueOutcome.NOT_FLAGGED,
        )
        session.add(issue)
        await session.commit()
        return gid("LabelIssueRun", run.id)


def decode_id(global_id: str) -> uuid.UUID:
    decoded = decode_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def answer(api: Api, case: Case, object_id: str) -> tuple[int, str]:
    """Status and body of the request, with the id it named blanked out."""
    headers = {"Authorization": f"Bearer {api.token(case.caller)}"}
    if case.document is None:
        response = await api.client.get(case.route(object_id), headers=headers)
    else:
        variables = case.variables(object_id)
        if "userId" in variables.get("input", {}):
            variables["input"]["userId"] = gid("User", api.world.id("ann1"))
        response = await api.client.post(
            "/graphql", json={"query": case.document, "variables": variables}, headers=headers
        )
    body = response.text.replace(object_id, "<id>")
    decoded = decode_global_id(object_id)
    if decoded is not None:
        body = body.replace(str(decoded[1]), "<id>")
    return response.status_code, body


async def test_an_object_one_may_not_read_answers_like_a_missing_one(api: Api, subtests: pytest.Subtests) -> None:
    objects = await objects_of_b(api)
    for name, (type_name, case) in CASES.items():
        with subtests.test(name):
            missing = gid(type_name, uuid.uuid4())
            before = await database_state(api)

            unreadable = await answer(api, case, objects[type_name])
            absent = await answer(api, case, missing)

            assert unreadable == absent, f"{name}: the answer tells that {type_name} exists"
            assert unreadable[0] in (200, 404), unreadable
            assert "FORBIDDEN" not in unreadable[1], unreadable
            assert await database_state(api) == before


async def test_the_same_ids_resolve_for_the_people_of_b(api: Api) -> None:
    """The comparison above is about who asks: B's manager reads every one of B's objects."""
    objects = await objects_of_b(api)
    for type_name, object_id in objects.items():
        if type_name in ("User", "ConsentRecord", "DatasetSnapshot", "Webhook", "WebhookDelivery"):
            continue  # user lookups are for role managers (pm_b, below); consent is the compliance officer's

        data = await api.data(NODE, {"id": object_id}, as_="pm_b")
        assert data["node"] == {"__typename": type_name, "id": object_id}, type_name
    consent = await api.data(NODE, {"id": objects["ConsentRecord"]}, as_="compliance")
    assert consent["node"] == {"__typename": "ConsentRecord", "id": objects["ConsentRecord"]}
    user = await api.data(NODE, {"id": objects["User"]}, as_="pm_b")
    assert user["node"]["id"] == objects["User"]
    snapshot = await api.data(
        "query S($id: ID!) { datasetSnapshot(id: $id) { id } }", {"id": objects["DatasetSnapshot"]}, as_="pm_b"
    )
    assert snapshot["datasetSnapshot"] == {"id": objects["DatasetSnapshot"]}
    lineage = await api.data(
        "query L($id: ID!) { lineage(itemId: $id) { entities { id } } }", {"id": objects["Item"]}, as_="pm_b"
    )
    assert lineage["lineage"] is not None
    exported = await api.client.get(
        f"/export/{objects['Project']}.jsonl", headers={"Authorization": f"Bearer {api.token('pm_b')}"}
    )
    assert exported.status_code == 200
    assert [json.loads(line)["external_id"] for line in exported.text.splitlines()] == ["b-1"]


async def test_erasing_a_person_one_may_not_read_answers_like_a_missing_one(api: Api) -> None:
    """eraseUser takes a person's id (the cases above put ann1 in every userId): a person one may
    not read (an annotator reads only itself) answers as a missing one, FORBIDDEN for neither."""
    document = mutation("eraseUser", "EraseUserInput", "user { id }")
    answers = []
    before = await database_state(api)
    for user_id in (gid("User", api.world.id("ann_b")), gid("User", uuid.uuid4())):
        response = await api.raw(document, {"input": {"userId": user_id, "reason": "x"}}, as_="ann1")
        answers.append((response.status_code, response.text.replace(user_id, "<id>")))
    assert answers[0] == answers[1]
    assert "NOT_FOUND" in answers[0][1], answers[0]
    assert "FORBIDDEN" not in answers[0][1], answers[0]
    assert await database_state(api) == before


USER_OPERATIONS = {
    "updateUser": ("UpdateUserInput", "userId", {"reason": "x", "displayName": "x"}),
    "deactivateUser": ("AccountReasonInput", "userId", {"reason": "x"}),
    "reactivateUser": ("AccountReasonInput", "userId", {"reason": "x"}),
    "issuePasswordReset": ("IssuePasswordResetInput", "userId", {}),
    "rotateClientSecret": ("RotateClientSecretInput", "serviceAccountId", {"graceSeconds": 0}),
    "revokeServiceAccount": ("RevokeServiceAccountInput", "serviceAccountId", {"reason": "x"}),
}


@pytest.mark.parametrize("field", USER_OPERATIONS)
async def test_changing_an_account_one_may_not_read_answers_like_a_missing_one(api: Api, field: str) -> None:
    """The account operations take a person's or service account's id: one the caller may not read
    (an annotator reads only itself) answers exactly as a missing one, NOT_FOUND, never FORBIDDEN."""
    input_type, id_field, extra = USER_OPERATIONS[field]
    document = mutation(field, input_type)
    answers = []
    before = await database_state(api)
    for user_id in (gid("User", api.world.id("ann_b")), gid("User", api.world.id("ingest")), gid("User", uuid.uuid4())):
        response = await api.raw(document, {"input": {id_field: user_id, **extra}}, as_="ann1")
        answers.append((response.status_code, response.text.replace(user_id, "<id>")))
    assert answers[0] == answers[1] == answers[2]
    assert "NOT_FOUND" in answers[0][1], answers[0]
    assert "FORBIDDEN" not in answers[0][1], answers[0]
    assert await database_state(api) == before


async def test_a_disabled_identity_provider_answers_like_a_missing_one(api: Api) -> None:
    """The sign-in routes name a provider: a disabled one does not exist for them, the same 404
    (and body) as a name nobody configured, on /login and /callback alike."""
    async with api.runtime.sessions() as session:
        session.add(
            IdentityProvider(
                name="off", issuer="https://93.184.216.34", client_id="lg", client_secret_sealed="00", enabled=False
            )
        )
        await session.commit()
    before = await database_state(api)
    for route in ("login", "callback?code=c&state=s"):
        answers = []
        for name in ("off", "never-configured"):
            response = await api.client.get(f"/auth/oidc/{name}/{route}")
            answers.append((response.status_code, response.text))
        assert answers[0] == answers[1]
        assert answers[0][0] == 404
    assert await database_state(api) == before


async def test_a_role_mapping_to_a_missing_project_is_not_found(api: Api) -> None:
    """configureIdentityProvider names projects in its mappings: one that does not exist is
    NOT_FOUND on that mapping's field, nothing written."""
    document = mutation("configureIdentityProvider", "ConfigureIdentityProviderInput", "provider { id }")
    mapping = {"claim": "groups", "value": "x", "role": "ANNOTATOR", "projectId": gid("Project", uuid.uuid4())}
    variables = {
        "input": {
            "name": "acme",
            "issuer": "https://93.184.216.34",
            "clientId": "lg",
            "clientSecret": "s",
            "roleMappings": [mapping],
        }
    }
    before = await database_state(api)
    data = await api.data(document, variables, as_="admin")
    errors = data["configureIdentityProvider"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", "roleMappings.0.projectId")]
    assert await database_state(api) == before
