"""Bad input to the labeling loop: a clear error, never a 500, never a half write.

Covers malformed HTTP bodies, values of the wrong GraphQL type (in variables and in literals),
ids of the wrong type (a Label id where an Assignment id belongs), ids from a project the
caller has no role in, and documents over the per-request mutation limit. After each, the
tables the loop writes are checked to be untouched.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Api, gid
from tests.workflow.flow import (
    CLAIM_NEXT_TASK,
    IMPORT_ITEMS,
    POSITIVE,
    REVIEW_LABEL,
    SUBMIT_LABEL,
    assignments,
    audit_events,
    claim,
    claimed,
    codes,
    imported,
    item_counts,
    labeled,
    project_a,
    review,
    rows,
    submit,
)

UNTOUCHED = {"queued": 0, "inReview": 0, "final": 0, "total": 0}


def post(api: Api, body: bytes) -> Any:
    return api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token('pm')}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "mutation { importItems(input: {projectId: \\"x\\", items: []}) { importedCount } }", "var',
        b"",
        b"null",
        b'"mutation { claimNextTask }"',
        b"42",
        b"\xff\xfe{}",
        b"{}",
        b'{"query": 42}',
        b'{"query": "{ viewer { id } }", "variables": "x"}',
        b'[{"query": "{ viewer { id } }"}]',
    ],
    ids=[
        "truncated",
        "empty",
        "null",
        "bare-string",
        "number",
        "not-utf8",
        "no-query",
        "query-not-a-string",
        "variables-not-an-object",
        "batch",
    ],
)
async def test_a_malformed_body_is_a_400_with_a_reason(api: Api, body: bytes) -> None:
    response = await post(api, body)

    assert response.status_code == 400, response.text
    assert response.text.strip()


async def test_a_syntax_error_is_reported_where_it_is(api: Api) -> None:
    response = await post(api, b'{"query": "mutation { claimNextTask(input: {projectId: "}')

    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["message"].startswith("Syntax Error")
    assert error["locations"]


async def test_values_of_the_wrong_type_in_variables_are_named_and_nothing_is_written(api: Api) -> None:
    project = project_a(api)
    batch = rows(3)
    batch[0]["externalId"] = 5
    batch[2]["priority"] = "high"

    body = await api.gql(IMPORT_ITEMS, {"input": {"projectId": project, "items": batch}}, as_="pm")

    assert body["data"] is None
    messages = [e["message"] for e in body["errors"]]
    assert any("items[0].externalId" in m and "String" in m for m in messages), messages
    assert any("items[2].priority" in m and "Float" in m for m in messages), messages
    assert await item_counts(api, project) == UNTOUCHED


@pytest.mark.parametrize(
    ("document", "variables", "named"),
    [
        (IMPORT_ITEMS, {"input": {"items": []}}, "projectId"),
        (IMPORT_ITEMS, {"input": {"projectId": "x", "items": [], "itemz": []}}, "itemz"),
        (IMPORT_ITEMS, {"input": {"projectId": "x", "items": [{"data": {"text": "a"}}]}}, "externalId"),
        (CLAIM_NEXT_TASK, {"projectId": ["x"]}, "ID"),
        (SUBMIT_LABEL, {"input": {"assignmentId": "x", "value": POSITIVE, "timeSpentMs": "slow"}}, "timeSpentMs"),
        (SUBMIT_LABEL, {"input": {"assignmentId": "x", "value": POSITIVE, "timeSpentMs": 2**40}}, "timeSpentMs"),
        (REVIEW_LABEL, {"input": {"labelId": "x", "verdict": "MAYBE"}}, "MAYBE"),
        (REVIEW_LABEL, {"input": {"labelId": "x", "verdict": "ACCEPT", "comment": None}}, "comment"),
        ("mutation { claimNextTask(input: {projectId: true}) { resumed } }", None, "true"),
        ('mutation { reviewLabel(input: {labelId: "x", verdict: "ACCEPT"}) { review { id } } }', None, "Verdict"),
        ('mutation { submitLabel(input: {assignmentId: "x"}) { label { id } } }', None, "value"),
        ('{ auditEvents(since: "yesterday") { nodes { action } } }', None, "DateTime"),
    ],
    ids=[
        "missing-field",
        "unknown-field",
        "missing-field-in-a-row",
        "list-for-id",
        "string-for-int",
        "int-out-of-range",
        "unknown-enum-value",
        "null-for-non-null",
        "literal-bool-for-id",
        "literal-string-for-enum",
        "literal-missing-field",
        "literal-bad-datetime",
    ],
)
async def test_a_value_of_the_wrong_graphql_type_is_a_clear_error(
    api: Api, document: str, variables: dict[str, Any] | None, named: str
) -> None:
    await imported(api, project_a(api), rows(1))

    response = await api.raw(document, variables, as_="admin")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    messages = [e["message"] for e in body["errors"]]
    assert all(m != "Unexpected error." for m in messages), messages
    assert any(named in m for m in messages), messages
    assert await assignments(api, project_a(api)) == []


async def test_request_errors_carry_a_code(api: Api) -> None:
    body = await api.gql(CLAIM_NEXT_TASK, {"projectId": ["x"]}, as_="ann1")

    assert [e.get("extensions", {}).get("code") for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_a_label_id_where_an_assignment_id_belongs_is_invalid_id(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(2))
    label = await labeled(api, project, POSITIVE, as_="ann1")
    await claimed(api, project, as_="ann1")

    payload = await submit(api, label["id"], POSITIVE, as_="ann1")

    assert codes(payload) == [("INVALID_ID", "assignmentId")]
    assert await item_counts(api, project) == {"queued": 1, "inReview": 1, "final": 0, "total": 2}


async def test_an_assignment_id_where_a_label_id_belongs_is_invalid_id(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(1))
    assignment = await claimed(api, project, as_="ann1")
    await submit(api, assignment["id"], POSITIVE, as_="ann1")

    payload = await review(api, assignment["id"], "ACCEPT")

    assert codes(payload) == [("INVALID_ID", "labelId")]
    assert await item_counts(api, project) == {"queued": 0, "inReview": 1, "final": 0, "total": 1}


@pytest.mark.parametrize(
    "project_id",
    ["", "%%%", gid("Label", uuid.uuid4()), gid("Project", uuid.uuid4())[:-4]],
    ids=["empty", "not-base64", "label-id", "truncated"],
)
async def test_a_bad_project_id_on_claim_is_a_payload_error(api: Api, project_id: str) -> None:
    payload = await claim(api, project_id, as_="ann1")

    assert codes(payload) == [("INVALID_ID", "projectId")]


async def test_a_malformed_id_on_a_query_is_bad_user_input(api: Api) -> None:
    body = await api.gql("query N($id: ID!) { node(id: $id) { id } }", {"id": "%%%"}, as_="admin")

    assert body["data"] == {"node": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_an_unknown_id_on_a_query_is_null(api: Api) -> None:
    data = await api.data(
        "query N($id: ID!) { node(id: $id) { id } }", {"id": gid("Review", uuid.uuid4())}, as_="admin"
    )

    assert data == {"node": None}


async def another_projects_label(api: Api) -> dict[str, str]:
    """A task and a label in project B, where only pm_b and ann_b hold roles."""
    project_b = gid("Project", api.world.project_b)
    payload = await api.data(IMPORT_ITEMS, {"input": {"projectId": project_b, "items": rows(2)}}, as_="pm_b")
    assert payload["importItems"]["errors"] == []
    label = await labeled(api, project_b, POSITIVE, as_="ann_b")
    task = await claimed(api, project_b, as_="ann_b")
    return {"project": project_b, "label": label["id"], "assignment": task["id"]}


async def test_reviewing_a_label_of_another_project_is_not_found_and_writes_nothing(api: Api) -> None:
    other = await another_projects_label(api)

    body = await api.gql(REVIEW_LABEL, {"input": {"labelId": other["label"], "verdict": "ACCEPT"}}, as_="reviewer")

    assert "errors" not in body, body
    assert codes(body["data"]["reviewLabel"]) == [("NOT_FOUND", "labelId")]
    assert await item_counts(api, other["project"]) == {"queued": 1, "inReview": 1, "final": 0, "total": 2}
    assert await audit_events(api, "label.review") == []


async def test_submitting_on_a_task_of_another_project_is_not_found(api: Api) -> None:
    other = await another_projects_label(api)

    payload = await submit(api, other["assignment"], POSITIVE, as_="ann1")

    assert codes(payload) == [("NOT_FOUND", "assignmentId")]
    assert (await submit(api, other["assignment"], POSITIVE, as_="ann_b"))["errors"] == []


@pytest.mark.parametrize(
    ("document", "username"),
    [(CLAIM_NEXT_TASK, "ann1"), (IMPORT_ITEMS, "pm")],
    ids=["claim", "import"],
)
async def test_acting_in_a_project_without_a_role_there_is_not_found(api: Api, document: str, username: str) -> None:
    project_b = gid("Project", api.world.project_b)
    variables = (
        {"projectId": project_b}
        if document is CLAIM_NEXT_TASK
        else {"input": {"projectId": project_b, "items": rows(1)}}
    )

    body = await api.gql(document, variables, as_=username)

    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert codes(payload) == [("NOT_FOUND", "projectId")]
    assert await item_counts(api, project_b) == UNTOUCHED


async def test_a_document_over_the_mutation_limit_runs_none_of_them(api: Api) -> None:
    project = project_a(api)
    await imported(api, project, rows(10))
    claims = "\n".join(f'c{i}: claimNextTask(input: {{projectId: "{project}"}}) {{ resumed }}' for i in range(6))

    body = await api.gql(f"mutation {{ {claims} }}", as_="ann1")

    assert "data" not in body or body["data"] is None
    assert "mutations" in body["errors"][0]["message"]
    assert await assignments(api, project) == []
