"""Governed schema change through the API: a proposal with its diff and impact, approval by
another admin that puts it in force at once, rejection, withdrawal, the stale-base conflict, and
labels read under the version in force."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.schema.node import parse_global_id
from tests.conftest import SCHEMA, Api, gid
from tests.security import CLAIM, REVIEW, SUBMIT, database_state, import_items

PROPOSE = """
mutation Propose($input: ProposeSchemaChangeInput!) {
  proposeSchemaChange(input: $input) {
    request {
      id status baseVersion rationale stale classMapping fieldMapping
      proposedBy { username }
      diff { fields { field change previous details } classes { field className change target } rules { change } }
      impact {
        labels { valid remapped invalid total examples { outcome subjectId before after problems { code field } } }
        finalLabels { valid remapped invalid examples { outcome subjectId after } }
      }
    }
    errors { code field message }
  }
}
"""
DECIDE = """
mutation Approve($id: ID!, $note: String!) {
  approveSchemaChange(input: {requestId: $id, note: $note}) {
    request { status resultingVersion decisionNote decidedBy { username } }
    errors { code field message }
  }
}
"""
REJECT = """
mutation Reject($id: ID!, $reason: String!) {
  rejectSchemaChange(input: {requestId: $id, reason: $reason}) {
    request { status decisionNote } errors { code field message }
  }
}
"""
WITHDRAW = """
mutation Withdraw($id: ID!) {
  withdrawSchemaChange(input: {requestId: $id}) { request { status } errors { code field message } }
}
"""
NEUTRAL = {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neutral"], "required": True}
# "neu" becomes "neutral"; topics loses "delivery" (no mapping) and gains "shipping".
PROPOSED = {
    "fields": [
        NEUTRAL,
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "shipping"], "required": False},
    ]
}


def project_a(api: Api) -> str:
    return gid("Project", api.world.project_a)


def proposal(project: str, definition: Any = PROPOSED, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "projectId": project,
            "definition": definition,
            "rationale": "Readable class names; shipping replaces delivery.",
            "classMapping": {"sentiment": {"neu": "neutral"}},
            **extra,
        }
    }


async def propose(api: Api, variables: dict[str, Any], *, as_: str = "pm") -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(PROPOSE, variables, as_=as_))["proposeSchemaChange"]
    return payload


async def approve(api: Api, request: str, note: str = "", *, as_: str = "admin") -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(DECIDE, {"id": request, "note": note}, as_=as_))["approveSchemaChange"]
    return payload


async def label(api: Api, project: str, annotator: str, value: dict[str, Any]) -> dict[str, str]:
    claim = (await api.data(CLAIM, {"input": {"projectId": project}}, as_=annotator))["claimNextTask"]
    task = claim["assignment"]
    submit = await api.data(SUBMIT, {"input": {"assignmentId": task["id"], "value": value}}, as_=annotator)
    assert submit["submitLabel"]["errors"] == [], submit
    return {"item": task["item"]["id"], "label": submit["submitLabel"]["label"]["id"]}


async def labeled_project(api: Api) -> tuple[str, dict[str, dict[str, str]]]:
    """Project A under version 1: three labels (neu+price, pos, neg+delivery), the first one final."""
    project = project_a(api)
    await import_items(api, project, ["a-1", "a-2", "a-3"], as_="pm")
    made = {
        "neu": await label(api, project, "ann1", {"sentiment": "neu", "topics": ["price"]}),
        "pos": await label(api, project, "ann2", {"sentiment": "pos"}),
        "neg": await label(api, project, "ann3", {"sentiment": "neg", "topics": ["delivery"]}),
    }
    accepted = await api.data(REVIEW, {"input": {"labelId": made["neu"]["label"], "verdict": "ACCEPT"}}, as_="reviewer")
    assert accepted["reviewLabel"]["errors"] == []
    return project, made


async def test_a_proposal_carries_its_diff_and_the_impact_on_every_existing_label(api: Api) -> None:
    project, made = await labeled_project(api)

    payload = await propose(api, proposal(project))

    assert payload["errors"] == []
    request = payload["request"]
    assert (request["status"], request["baseVersion"], request["stale"]) == ("PENDING", 1, False)
    assert request["proposedBy"] == {"username": "pm"}
    assert request["classMapping"] == {"sentiment": {"neu": "neutral"}}
    assert request["fieldMapping"] == {}
    assert request["diff"]["fields"] == []
    assert sorted((c["field"], c["className"], c["change"], c["target"]) for c in request["diff"]["classes"]) == [
        ("sentiment", "neu", "RENAMED", "neutral"),
        ("topics", "delivery", "REMOVED", None),
        ("topics", "shipping", "ADDED", None),
    ]
    labels = request["impact"]["labels"]
    assert (labels["valid"], labels["remapped"], labels["invalid"], labels["total"]) == (1, 1, 1, 3)
    by_outcome = {e["outcome"]: e for e in labels["examples"]}
    assert by_outcome["REMAPPED"]["subjectId"] == made["neu"]["label"]
    assert by_outcome["REMAPPED"]["after"] == {"sentiment": "neutral", "topics": ["price"]}
    assert by_outcome["VALID"]["subjectId"] == made["pos"]["label"]
    assert by_outcome["INVALID"]["subjectId"] == made["neg"]["label"]
    assert by_outcome["INVALID"]["before"] == {"sentiment": "neg", "topics": ["delivery"]}
    assert by_outcome["INVALID"]["problems"] == [{"code": "UNKNOWN_CLASS", "field": "value.topics"}]
    finals = request["impact"]["finalLabels"]
    assert (finals["valid"], finals["remapped"], finals["invalid"]) == (0, 1, 0)
    assert finals["examples"] == [
        {
            "outcome": "REMAPPED",
            "subjectId": made["neu"]["item"],
            "after": {"sentiment": "neutral", "topics": ["price"]},
        }
    ]


async def test_approval_puts_the_version_in_force_and_old_labels_read_through_the_mapping(api: Api) -> None:
    project, made = await labeled_project(api)
    request = (await propose(api, proposal(project)))["request"]["id"]

    decided = await approve(api, request, "Agreed with the team.")

    assert decided == {
        "request": {
            "status": "APPROVED",
            "resultingVersion": 2,
            "decisionNote": "Agreed with the team.",
            "decidedBy": {"username": "admin"},
        },
        "errors": [],
    }
    query = """
    query($id: ID!, $item: ID!) {
      project(id: $id) {
        labelSchema { version definition changeRequest { id } }
        labelSchemaVersions { nodes { version } }
      }
      node(id: $item) {
        ... on Item {
          labels { schemaVersion value }
          finalLabel { schemaVersion value inActiveSchema { schemaVersion value remapped problems { code } } }
        }
      }
    }
    """
    shown = await api.data(query, {"id": project, "item": made["neu"]["item"]}, as_="pm")
    assert shown["project"]["labelSchema"] == {
        "version": 2,
        "definition": PROPOSED,
        "changeRequest": {"id": request},
    }
    assert shown["project"]["labelSchemaVersions"]["nodes"] == [{"version": 2}, {"version": 1}]
    # What was said stays as said, under the version it was said in...
    item = shown["node"]
    assert item["labels"] == [{"schemaVersion": 1, "value": {"sentiment": "neu", "topics": ["price"]}}]
    assert item["finalLabel"]["schemaVersion"] == 1
    # ...and reads in today's terms through the approved mapping.
    assert item["finalLabel"]["inActiveSchema"] == {
        "schemaVersion": 2,
        "value": {"sentiment": "neutral", "topics": ["price"]},
        "remapped": True,
        "problems": [],
    }


async def test_the_quality_report_counts_old_labels_in_the_terms_of_the_version_in_force(api: Api) -> None:
    project, _ = await labeled_project(api)
    await approve(api, (await propose(api, proposal(project)))["request"]["id"])
    query = """
    query($id: ID!) {
      projectQuality(projectId: $id) { figures { fields { name confusionClasses classes { value } } } }
    }
    """

    fields = (await api.data(query, {"id": project}, as_="pm"))["projectQuality"]["figures"]["fields"]

    by_name = {f["name"]: f for f in fields}
    # neu reads as neutral through the mapping; delivery, removed without a mapping, stays as said
    # (that label is invalid under version 2, not rewritten).
    assert by_name["sentiment"]["confusionClasses"] == ['"neg"', '"neutral"', '"pos"']
    assert [c["value"] for c in by_name["topics"]["classes"]] == ['"delivery"', '"price"']


async def test_new_labels_are_validated_against_the_version_in_force(api: Api) -> None:
    project, _ = await labeled_project(api)
    await import_items(api, project, ["b-1"], as_="pm")
    await approve(api, (await propose(api, proposal(project)))["request"]["id"])
    task = (await api.data(CLAIM, {"input": {"projectId": project}}, as_="ann1"))["claimNextTask"]["assignment"]

    old_class = {"input": {"assignmentId": task["id"], "value": {"sentiment": "neu"}}}
    refused = (await api.data(SUBMIT, old_class, as_="ann1"))["submitLabel"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("UNKNOWN_CLASS", "value.sentiment")]
    new_class = {"input": {"assignmentId": task["id"], "value": {"sentiment": "neutral"}}}
    assert (await api.data(SUBMIT, new_class, as_="ann1"))["submitLabel"]["errors"] == []


async def test_nobody_approves_their_own_proposal(api: Api) -> None:
    project = project_a(api)
    request = (await propose(api, proposal(project), as_="admin"))["request"]["id"]
    before = await database_state(api)

    refused = await approve(api, request, as_="admin")

    assert refused == {
        "request": None,
        "errors": [
            {"code": "SELF_APPROVAL", "field": "requestId", "message": "You may not approve your own proposal."}
        ],
    }
    assert await database_state(api) == before


async def test_approving_against_a_stale_base_is_a_conflict(api: Api) -> None:
    project = project_a(api)
    first = (await propose(api, proposal(project)))["request"]["id"]
    rating = {"name": "stars", "kind": "rating", "min": 1, "max": 5}
    second = (await propose(api, proposal(project, {"fields": [*SCHEMA["fields"], rating]}, classMapping={})))[
        "request"
    ]["id"]
    assert (await approve(api, first))["errors"] == []
    before = await database_state(api)

    conflict = await approve(api, second)

    assert conflict["request"] is None
    assert conflict["errors"] == [
        {
            "code": "STALE_BASE",
            "field": "requestId",
            "message": "This request changes version 1, but version 2 is in force now; propose again against it.",
        }
    ]
    assert await database_state(api) == before
    query = "query($id: ID!) { node(id: $id) { ... on SchemaChangeRequest { status stale } } }"
    assert (await api.data(query, {"id": second}, as_="pm"))["node"] == {"status": "PENDING", "stale": True}


async def test_rejection_needs_a_reason_and_ends_the_request(api: Api) -> None:
    project = project_a(api)
    request = (await propose(api, proposal(project)))["request"]["id"]

    blank = (await api.data(REJECT, {"id": request, "reason": " "}, as_="admin"))["rejectSchemaChange"]
    assert [(e["code"], e["field"]) for e in blank["errors"]] == [("REQUIRED", "reason")]
    rejected = (await api.data(REJECT, {"id": request, "reason": "Keep neu."}, as_="admin"))["rejectSchemaChange"]
    assert rejected == {"request": {"status": "REJECTED", "decisionNote": "Keep neu."}, "errors": []}

    late = await approve(api, request)
    assert [(e["code"], e["message"]) for e in late["errors"]] == [
        ("NOT_PENDING", "This request was rejected already.")
    ]
    version = "query($id: ID!) { project(id: $id) { labelSchema { version } } }"
    assert (await api.data(version, {"id": project}, as_="pm"))["project"]["labelSchema"] == {"version": 1}


async def test_only_the_proposer_withdraws(api: Api) -> None:
    project = project_a(api)
    request = (await propose(api, proposal(project)))["request"]["id"]

    # The admin reads the request and may decide it, but withdrawing is the proposer's alone.
    foreign = (await api.data(WITHDRAW, {"id": request}, as_="admin"))["withdrawSchemaChange"]
    assert [e["code"] for e in foreign["errors"]] == ["NOT_PROPOSER"]
    assert (await api.data(WITHDRAW, {"id": request}, as_="pm"))["withdrawSchemaChange"] == {
        "request": {"status": "WITHDRAWN"},
        "errors": [],
    }
    assert [e["code"] for e in (await approve(api, request))["errors"]] == ["NOT_PENDING"]


async def test_a_bad_proposal_is_refused_with_typed_errors_and_nothing_written(api: Api) -> None:
    project = project_a(api)
    before = await database_state(api)
    duplicate = {"fields": [NEUTRAL, NEUTRAL]}
    cases = [
        (proposal(project, duplicate), [("DUPLICATE_FIELD", "definition.fields.1")]),
        (proposal(project, SCHEMA, classMapping={}), [("NO_CHANGE", "definition")]),
        (
            proposal(project, classMapping={"sentiment": {"meh": "neutral"}}),
            [("UNKNOWN_CLASS", "classMapping.sentiment.meh")],
        ),
        (proposal(project, rationale=""), [("REQUIRED", "rationale")]),
    ]
    for variables, expected in cases:
        payload = await propose(api, variables)
        assert payload["request"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == expected, variables
    assert await database_state(api) == before


async def test_the_schema_history_reads_as_a_changelog(api: Api) -> None:
    project = project_a(api)
    first = (await propose(api, proposal(project)))["request"]["id"]
    await approve(api, first, "Clearer names.")
    rating = {"name": "stars", "kind": "rating", "min": 1, "max": 5}
    second = (
        await propose(api, proposal(project, {"fields": [*PROPOSED["fields"], rating]}, classMapping={}), as_="admin")
    )["request"]["id"]
    await api.data(REJECT, {"id": second, "reason": "Stars later."}, as_="admin")

    query = """
    query($id: ID!) {
      project(id: $id) {
        schemaChangeRequests {
          nodes { status rationale proposedBy { username } decidedBy { username } decisionNote resultingVersion }
        }
        schemaDiff(from: 1, to: 2) { classes { className change target } }
      }
    }
    """
    shown = (await api.data(query, {"id": project}, as_="compliance"))["project"]
    assert shown["schemaChangeRequests"]["nodes"] == [
        {
            "status": "REJECTED",
            "rationale": "Readable class names; shipping replaces delivery.",
            "proposedBy": {"username": "admin"},
            "decidedBy": {"username": "admin"},
            "decisionNote": "Stars later.",
            "resultingVersion": None,
        },
        {
            "status": "APPROVED",
            "rationale": "Readable class names; shipping replaces delivery.",
            "proposedBy": {"username": "pm"},
            "decidedBy": {"username": "admin"},
            "decisionNote": "Clearer names.",
            "resultingVersion": 2,
        },
    ]
    assert {"className": "neu", "change": "RENAMED", "target": "neutral"} in shown["schemaDiff"]["classes"]
    audit = "query($p: ID!) { auditEvents(first: 50, projectId: $p) { nodes { action actor { username } } } }"
    events = [
        (n["action"], n["actor"]["username"])
        for n in (await api.data(audit, {"p": project}, as_="compliance"))["auditEvents"]["nodes"]
        if n["action"].startswith("schema.")
    ]
    assert events == [
        ("schema.propose", "pm"),
        ("schema.approve", "admin"),
        ("schema.propose", "admin"),
        ("schema.reject", "admin"),
    ]


async def test_a_label_accepted_after_a_change_is_final_in_the_new_terms(api: Api) -> None:
    project = project_a(api)
    await import_items(api, project, ["a-1"], as_="pm")
    made = await label(api, project, "ann1", {"sentiment": "neu", "topics": ["price"]})
    await approve(api, (await propose(api, proposal(project)))["request"]["id"])

    accept = {"input": {"labelId": made["label"], "verdict": "ACCEPT"}}
    assert (await api.data(REVIEW, accept, as_="reviewer"))["reviewLabel"]["errors"] == []

    query = """
    query($id: ID!) {
      node(id: $id) { ... on Item { finalLabel { value method schemaVersion inActiveSchema { remapped } } } }
    }
    """
    final = (await api.data(query, {"id": made["item"]}, as_="pm"))["node"]["finalLabel"]
    assert final == {
        "value": {"sentiment": "neutral", "topics": ["price"]},
        "method": "CONSENSUS_ACCEPTED",
        "schemaVersion": 2,
        "inActiveSchema": {"remapped": False},
    }


async def test_the_export_gives_each_decision_in_the_terms_of_the_schema_in_force(api: Api) -> None:
    project, made = await labeled_project(api)
    await approve(api, (await propose(api, proposal(project)))["request"]["id"])

    response = await api.client.get(f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"})

    (line,) = [json.loads(text) for text in response.text.splitlines()]
    assert line["item_id"] == str(parse_global_id(made["neu"]["item"])[1])
    assert (line["schema_version"], line["value"]) == (1, {"sentiment": "neu", "topics": ["price"]})
    assert (line["active_schema_version"], line["active_value"]) == (2, {"sentiment": "neutral", "topics": ["price"]})


async def test_a_diff_between_versions_that_do_not_exist_is_bad_input(api: Api) -> None:
    query = """
    query($id: ID!, $from: Int!, $to: Int!) {
      project(id: $id) { schemaDiff(from: $from, to: $to) { rules { change } } }
    }
    """
    for start, end in ((2, 1), (1, 3), (0, 1)):
        body = await api.gql(query, {"id": project_a(api), "from": start, "to": end}, as_="pm")
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (start, end)


async def test_two_approvals_racing_on_one_base_put_exactly_one_in_force(api: Api) -> None:
    project = project_a(api)
    rating = {"name": "stars", "kind": "rating", "min": 1, "max": 5}
    first = (await propose(api, proposal(project)))["request"]["id"]
    second = (await propose(api, proposal(project, {"fields": [*SCHEMA["fields"], rating]}, classMapping={})))[
        "request"
    ]["id"]

    outcomes = await asyncio.gather(approve(api, first), approve(api, second))

    codes = sorted(tuple(e["code"] for e in outcome["errors"]) for outcome in outcomes)
    assert codes == [(), ("STALE_BASE",)]
    query = "query($id: ID!) { project(id: $id) { labelSchemaVersions { nodes { version changeRequest { id } } } } }"
    versions = (await api.data(query, {"id": project}, as_="pm"))["project"]["labelSchemaVersions"]["nodes"]
    winner = first if outcomes[0]["errors"] == [] else second
    assert versions == [{"version": 2, "changeRequest": {"id": winner}}, {"version": 1, "changeRequest": None}]
