"""Regressions for the findings of an adversarial run, each through the real app on both databases.

1. A label schema's text pattern ran on a backtracking engine: ``(a+)+$`` held the event loop.
   Patterns now run on RE2; what RE2 cannot run (backreferences, lookaround) is refused at lint.
2. HTTP 500s: JSON nested past the decoder's recursion limit, and NUL bytes reaching PostgreSQL.
   Bodies are bounded in depth, and NUL or unpaired surrogates in any string input are refused
   alike on both databases.
3. The mutations-per-request limit is counted after fragment expansion.
4. Inputs without bounds: priorities, integers, JSON depth, guideline bodies.
5. An ml_service account's export carries no person and no individual label.
6. A schema change's impact report repeated stored label values in its messages.

After every refusal the database is compared with its state before: nothing was written.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import Api, gid
from tests.security import CLAIM, SUBMIT, claim_and_submit, database_state, import_items
from tests.workflow.flow import CREATE_PROJECT, IMPORT_ITEMS, pk, project_a, review

UNIFORM = {"name": "code", "kind": "text", "pattern": "(a+)+$", "required": True}
PROPOSE = """
mutation Propose($input: ProposeSchemaChangeInput!) {
  proposeSchemaChange(input: $input) { request { id } errors { code field message } }
}
"""
SAVE_DRAFT = """
mutation Draft($input: SaveGuidelineDraftInput!) {
  saveGuidelineDraft(input: $input) { guideline { version } errors { code field message } }
}
"""
IMPACT = """
query Impact($id: ID!) {
  project(id: $id) {
    schemaChangeRequests {
      nodes { impact {
        labels { invalid examples { outcome problems { code field message } } }
        finalLabels { invalid examples { outcome problems { code field message } } }
      } }
    }
  }
}
"""


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def post_body(api: Api, body: str | bytes, *, as_: str = "pm") -> httpx.Response:
    """A body exactly as given: json.dumps escapes what httpx's encoder would refuse (lone surrogates)."""
    return await api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token(as_)}", "Content-Type": "application/json"},
    )


def graphql_body(query: str, variables: dict[str, Any]) -> str:
    return json.dumps({"query": query, "variables": variables})


def assert_bad_input(response: httpx.Response) -> None:
    """A 400 whose body is a GraphQL error coded BAD_USER_INPUT."""
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"]


async def create_project(api: Api, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    variables = {"input": {"name": "Findings", "labelSchema": schema, **extra}}
    payload: dict[str, Any] = (await api.data(CREATE_PROJECT, variables, as_="admin"))["createProject"]
    return payload


async def labeling_project(api: Api, schema: dict[str, Any]) -> str:
    """A project with the schema and no guideline, ann1 as its annotator and two items to label."""
    project = await create_project(api, schema)
    assert project["errors"] == [], project
    project_id: str = project["project"]["id"]
    grant = {"userId": gid("User", api.world.id("ann1")), "role": "ANNOTATOR", "projectId": project_id}
    granted = await api.data(
        "mutation ($input: RoleInput!) { grantRole(input: $input) { errors { code } } }", {"input": grant}, as_="admin"
    )
    assert granted["grantRole"]["errors"] == []
    await import_items(api, project_id, ["one", "two"], as_="admin")
    return project_id


async def claim(api: Api, project: str) -> str:
    data = await api.data(CLAIM, {"input": {"projectId": project}}, as_="ann1")
    assignment: str = data["claimNextTask"]["assignment"]["id"]
    return assignment


async def submit(api: Api, assignment: str, value: Any) -> dict[str, Any]:
    data = await api.data(SUBMIT, {"input": {"assignmentId": assignment, "value": value}}, as_="ann1")
    payload: dict[str, Any] = data["submitLabel"]
    return payload


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


# --- 1. patterns run in linear time ----------------------------------------------------------


async def test_a_nested_quantifier_pattern_judges_a_long_adversarial_value(api: Api) -> None:
    # On a backtracking engine a 40-character near miss takes 2^40 steps; on RE2 it is one pass.
    project = await labeling_project(api, {"fields": [UNIFORM]})
    assignment = await claim(api, project)

    near_miss = await submit(api, assignment, {"code": "a" * 40 + "!"})
    assert codes(near_miss) == [("PATTERN_MISMATCH", "value.code")]

    accepted = await submit(api, assignment, {"code": "a" * 5000})
    assert accepted["errors"] == [], accepted


@pytest.mark.parametrize("pattern", [r"(a+)\1", r"(?=a)a+", r"(?<!b)a", r"(?P<x>a)(?P=x)"])
async def test_a_pattern_that_needs_backtracking_is_refused_at_create_project(api: Api, pattern: str) -> None:
    before = await database_state(api)

    payload = await create_project(api, {"fields": [{"name": "code", "kind": "text", "pattern": pattern}]})

    assert payload["project"] is None
    assert codes(payload) == [("UNSUPPORTED_PATTERN", "labelSchema.fields.0")]
    assert "backreference" in payload["errors"][0]["message"]
    assert await database_state(api) == before


async def test_a_pattern_that_needs_backtracking_is_refused_at_propose_schema_change(api: Api) -> None:
    definition = {
        "fields": [
            {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
            {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"]},
            {"name": "note", "kind": "text", "pattern": r"(\w)\1+"},
        ]
    }
    before = await database_state(api)

    variables = {"input": {"projectId": project_a(api), "definition": definition, "rationale": "Add a note."}}
    payload = (await api.data(PROPOSE, variables, as_="pm"))["proposeSchemaChange"]

    assert payload["request"] is None
    assert codes(payload) == [("UNSUPPORTED_PATTERN", "definition.fields.2")]
    assert await database_state(api) == before


@pytest.mark.parametrize(
    ("pattern", "code"),
    [("a" * 1001, "INVALID_PATTERN"), ("(", "INVALID_PATTERN"), ("a{2000}", "UNSUPPORTED_PATTERN")],
    ids=["over-long", "syntax", "repeat-beyond-re2"],
)
async def test_an_unusable_pattern_is_refused(api: Api, pattern: str, code: str) -> None:
    payload = await create_project(api, {"fields": [{"name": "code", "kind": "text", "pattern": pattern}]})

    assert codes(payload) == [(code, "labelSchema.fields.0")]


# --- 2. no 500s: deep bodies, NUL and lone surrogates ----------------------------------------


@pytest.mark.parametrize("levels", [101, 1200])
async def test_variables_nested_too_deep_are_a_400_with_a_graphql_error(api: Api, levels: int) -> None:
    before = await database_state(api)
    variables = {"input": {"projectId": project_a(api), "items": [{"externalId": "x", "data": "LEAF"}]}}
    # Spelled out by hand: json.dumps itself recurses, and 1200 levels is past its limit too.
    body = graphql_body(IMPORT_ITEMS, variables).replace('"LEAF"', '{"a":' * levels + "1" + "}" * levels)

    response = await post_body(api, body)

    assert_bad_input(response)
    assert "nests deeper than 100 levels" in response.json()["errors"][0]["message"]
    assert await database_state(api) == before


async def test_a_taxonomy_of_32_levels_still_fits_in_a_request(api: Api) -> None:
    node: dict[str, Any] = {"name": "n0"}
    for depth in range(1, 32):
        node = {"name": f"n{depth}", "children": [node]}

    payload = await create_project(api, {"fields": [{"name": "category", "kind": "taxonomy", "tree": [node]}]})

    assert payload["errors"] == [], payload


@pytest.mark.parametrize(
    ("external_id", "data"),
    [("a\x00b", {"text": "fine"}), ("fine", {"text": "a\x00b"}), ("fine", {"a\x00b": "key"}), ("\ud800", {"t": "x"})],
    ids=["nul-in-string", "nul-in-json-value", "nul-in-json-key", "lone-surrogate"],
)
async def test_nul_and_lone_surrogates_in_variables_are_refused_alike(api: Api, external_id: str, data: Any) -> None:
    before = await database_state(api)
    variables = {"input": {"projectId": project_a(api), "items": [{"externalId": external_id, "data": data}]}}

    response = await post_body(api, graphql_body(IMPORT_ITEMS, variables))

    assert_bad_input(response)
    assert await database_state(api) == before


async def test_a_lone_surrogate_spelled_raw_in_utf_16_is_refused(api: Api) -> None:
    # json.loads would read UTF-16 bytes, where the surrogate is a character and not an escape.
    before = await database_state(api)
    variables = {"input": {"projectId": project_a(api), "items": [{"externalId": "x", "data": {"t": "SURROGATE"}}]}}
    text = json.dumps({"query": IMPORT_ITEMS, "variables": variables}).replace("SURROGATE", "\ud800")

    response = await post_body(api, text.encode("utf-16", "surrogatepass"))

    assert_bad_input(response)
    assert await database_state(api) == before


@pytest.mark.parametrize(
    ("escape", "code"),
    [("\\u0000", "BAD_USER_INPUT"), ("\\u{0}", "BAD_USER_INPUT"), ("\\ud800", "GRAPHQL_PARSE_FAILED")],
    ids=["nul", "nul-braced", "lone-surrogate"],
)
async def test_nul_and_lone_surrogates_in_document_literals_are_refused(api: Api, escape: str, code: str) -> None:
    # graphql-core's lexer refuses lone surrogate escapes itself; a NUL escape it reads.
    before = await database_state(api)
    query = (
        f'mutation {{ importItems(input: {{projectId: "{project_a(api)}", '
        f'items: [{{externalId: "a{escape}b", data: {{text: "x"}}}}]}}) {{ importedCount }} }}'
    )

    body = await api.gql(query, as_="pm")

    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    assert await database_state(api) == before


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "username": "ad\x00min", "password": "x"},
        {"grant_type": "password", "username": "admin", "password": "x\x00"},
        {"grant_type": "client_credentials", "client_id": "ml\x00bot", "client_secret": "x"},
    ],
    ids=["username", "password", "client-id"],
)
async def test_nul_in_a_token_request_is_an_invalid_request(api: Api, form: dict[str, str]) -> None:
    before = await database_state(api)

    response = await api.client.post("/auth/token", data=form)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert await database_state(api) == before


async def test_nul_in_basic_client_credentials_is_an_invalid_request(api: Api) -> None:
    response = await api.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=("ml\x00bot", "secret")
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


# --- 3. mutations counted after fragment expansion -------------------------------------------


def claims(project: str, n: int, start: int = 0) -> str:
    return " ".join(
        f'c{i}: claimNextTask(input: {{projectId: "{project}"}}) {{ resumed }}' for i in range(start, start + n)
    )


@pytest.mark.parametrize(
    "shape",
    ["named", "inline", "nested", "mixed"],
)
async def test_mutations_in_fragments_count_towards_the_limit(api: Api, shape: str) -> None:
    project = project_a(api)
    await import_items(api, project, [f"doc-{i}" for i in range(8)], as_="pm")
    before = await database_state(api)
    documents = {
        "named": f"mutation {{ ...M }} fragment M on Mutation {{ {claims(project, 8)} }}",
        "inline": f"mutation {{ ... on Mutation {{ {claims(project, 8)} }} }}",
        "nested": (
            f"mutation {{ ...A }} fragment A on Mutation {{ {claims(project, 3)} ...B }} "
            f"fragment B on Mutation {{ ... on Mutation {{ {claims(project, 5, start=3)} }} }}"
        ),
        "mixed": f"mutation {{ {claims(project, 4)} ...M }} fragment M on Mutation {{ {claims(project, 2, start=4)} }}",
    }

    body = await api.gql(documents[shape], as_="ann1")

    assert body.get("data") is None
    assert [e["message"] for e in body["errors"]] == ["At most 5 mutations per request."]
    assert await database_state(api) == before


async def test_five_mutations_through_fragments_still_run(api: Api) -> None:
    project = project_a(api)
    await import_items(api, project, [f"doc-{i}" for i in range(5)], as_="pm")
    # The same fragment spread twice runs its fields once: five distinct mutations.
    document = f"mutation {{ ...M ...M }} fragment M on Mutation {{ {claims(project, 5)} }}"

    data = await api.data(document, as_="ann1")

    assert sorted(data) == [f"c{i}" for i in range(5)]


# --- 4. bounds on inputs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"priority": 1e308}, ("OUT_OF_RANGE", "items.0.priority")),
        ({"priority": -1e10}, ("OUT_OF_RANGE", "items.0.priority")),
        ({"data": {"n": 2**70}}, ("OUT_OF_RANGE", "items.0.data")),
        ({"data": {"n": [-(2**53)]}}, ("OUT_OF_RANGE", "items.0.data")),
        ({"metadata": {"n": 2**64}}, ("OUT_OF_RANGE", "items.0.metadata")),
        ({"data": nested(33)}, ("TOO_DEEP", "items.0.data")),
        ({"metadata": nested(40)}, ("TOO_DEEP", "items.0.metadata")),
        ({"metadata": {"blob": "x" * (256 * 1024)}}, ("TOO_LARGE", "items.0.metadata")),
    ],
    ids=["huge-priority", "negative-priority", "big-int", "big-negative-int", "big-int-meta", "deep-data", "deep-meta",
         "large-meta"],
)  # fmt: skip
async def test_an_out_of_bounds_row_is_refused_with_its_field(
    api: Api, item: dict[str, Any], expected: tuple[str, str]
) -> None:
    project = project_a(api)
    before = await database_state(api)
    good = {"externalId": "good", "data": {"text": "fine"}}
    row = {"externalId": "bad", "data": {"text": "fine"}, **item}

    payload = (await api.data(IMPORT_ITEMS, {"input": {"projectId": project, "items": [row, good]}}, as_="pm"))[
        "importItems"
    ]

    assert (payload["importedCount"], codes(payload)) == (0, [expected])
    assert await database_state(api) == before


async def test_data_at_the_bounds_is_imported(api: Api) -> None:
    row = {
        "externalId": "edge",
        "data": {"n": 2**53 - 1, "m": -(2**53 - 1), "deep": nested(31)},
        "metadata": nested(32),
        "priority": 1e9,
    }

    payload = (await api.data(IMPORT_ITEMS, {"input": {"projectId": project_a(api), "items": [row]}}, as_="pm"))[
        "importItems"
    ]

    assert payload == {"importedCount": 1, "errors": []}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_in_item_data_are_refused(api: Api, constant: str) -> None:
    # JSON has no such numbers, but Python's parser reads them; PostgreSQL's jsonb would refuse them.
    before = await database_state(api)
    variables = {"input": {"projectId": project_a(api), "items": [{"externalId": "x", "data": {"n": "CONSTANT"}}]}}
    body = graphql_body(IMPORT_ITEMS, variables).replace('"CONSTANT"', constant)

    response = await post_body(api, body)

    assert response.status_code == 200, response.text
    assert codes(response.json()["data"]["importItems"]) == [("OUT_OF_RANGE", "items.0.data")]
    assert await database_state(api) == before


async def test_a_label_value_with_an_integer_beyond_2_53_is_refused(api: Api) -> None:
    project = await labeling_project(api, {"fields": [{"name": "score", "kind": "number", "required": True}]})
    assignment = await claim(api, project)
    before = await database_state(api)

    refused = await submit(api, assignment, {"score": 2**70})

    assert codes(refused) == [("OUT_OF_RANGE", "value")]
    assert await database_state(api) == before
    assert (await submit(api, assignment, {"score": 2**53 - 1}))["errors"] == []


async def test_a_corrected_value_with_an_integer_beyond_2_53_is_refused(api: Api) -> None:
    project = await labeling_project(api, {"fields": [{"name": "score", "kind": "number", "required": True}]})
    label = (await submit(api, await claim(api, project), {"score": 1}))["label"]
    await api.data(
        "mutation ($input: RoleInput!) { grantRole(input: $input) { errors { code } } }",
        {"input": {"userId": gid("User", api.world.id("reviewer")), "role": "REVIEWER", "projectId": project}},
        as_="admin",
    )
    before = await database_state(api)

    payload = await review(api, label["id"], "CORRECT", corrected_value={"score": 2**64})

    assert codes(payload) == [("OUT_OF_RANGE", "correctedValue")]
    assert await database_state(api) == before


async def test_a_label_schema_with_deep_json_under_an_unknown_key_is_refused(api: Api) -> None:
    before = await database_state(api)
    schema = {"fields": [{"name": "note", "kind": "text", "notes": nested(80)}]}

    payload = await create_project(api, schema)

    assert codes(payload) == [("TOO_DEEP", "labelSchema")]
    assert await database_state(api) == before


async def test_an_over_long_guideline_is_refused_at_create_project(api: Api) -> None:
    before = await database_state(api)

    payload = await create_project(api, {"fields": [UNIFORM]}, guideline="x" * 2_000_000)

    assert payload["project"] is None
    assert codes(payload) == [("TOO_LONG", "guideline")]
    assert await database_state(api) == before
    at_the_bound = await create_project(api, {"fields": [UNIFORM]}, guideline="x" * 200_000)
    assert at_the_bound["errors"] == [], at_the_bound


async def test_an_over_long_guideline_draft_is_refused(api: Api) -> None:
    before = await database_state(api)
    variables = {"input": {"projectId": project_a(api), "body": "x" * 200_001}}

    payload = (await api.data(SAVE_DRAFT, variables, as_="pm"))["saveGuidelineDraft"]

    assert codes(payload) == [("TOO_LONG", "body")]
    assert await database_state(api) == before


async def test_an_over_long_project_description_is_refused(api: Api) -> None:
    payload = await create_project(api, {"fields": [UNIFORM]}, description="x" * 10_001)

    assert codes(payload) == [("TOO_LONG", "description")]


# --- 5. exports shaped by what the caller may read -------------------------------------------


async def decided_program(api: Api) -> dict[str, str]:
    """Two final items of project A: one accepted, one corrected with a comment."""
    project = project_a(api)
    await import_items(api, project, ["item-0", "item-1"], as_="pm")
    accepted = await claim_and_submit(api, project, "ann1", "pos")
    corrected = await claim_and_submit(api, project, "ann2", "neg")
    assert (await review(api, accepted["label"], "ACCEPT"))["errors"] == []
    fixed = await review(api, corrected["label"], "CORRECT", corrected_value={"sentiment": "neu"}, comment="tone")
    assert fixed["errors"] == []
    return {"item-0": accepted["label"], "item-1": corrected["label"]}


async def export(api: Api, *, as_: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/export/{project_a(api)}.jsonl", headers={"Authorization": f"Bearer {api.token(as_)}"}
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]


@pytest.mark.parametrize("caller", ["admin", "pm"])
async def test_who_may_read_labels_exports_them_with_their_people(api: Api, caller: str) -> None:
    await decided_program(api)

    lines = {line["external_id"]: line for line in await export(api, as_=caller)}

    corrected = lines["item-1"]
    assert corrected["decided_by"] == "reviewer"
    assert (corrected["review"]["verdict"], corrected["review"]["comment"]) == ("CORRECT", "tone")
    [label] = corrected["labels"]
    assert (label["annotator"], label["value"], label["status"]) == ("ann2", {"sentiment": "neg"}, "CORRECTED")


async def test_an_ml_service_export_has_final_values_and_provenance_ids_but_no_people(api: Api) -> None:
    labels = await decided_program(api)

    lines = {line["external_id"]: line for line in await export(api, as_="mlbot")}

    corrected = lines["item-1"]
    assert set(corrected) == {
        "item_id", "external_id", "content_hash", "data", "metadata", "value", "method", "agreement",
        "decision_version", "aggregation", "confidence",
        "schema_version", "guideline_version", "decided_at", "review", "labels", "active_schema_version",
        "active_value",
    }  # fmt: skip
    assert (corrected["value"], corrected["method"]) == ({"sentiment": "neu"}, "CORRECTED")
    assert (corrected["schema_version"], corrected["guideline_version"]) == (1, 1)
    assert corrected["data"] == {"text": "text of item-1"}
    assert set(corrected["review"]) == {"id"}
    assert corrected["labels"] == [
        {"id": str(pk(labels["item-1"])), "schema_version": 1, "guideline_version": 1},
    ]
    assert lines["item-0"]["labels"] == [{"id": str(pk(labels["item-0"])), "schema_version": 1, "guideline_version": 1}]
    text = json.dumps(list(lines.values()))
    for person_or_label in ("ann1", "ann2", "reviewer", "tone", '"ACCEPTED"', '"neg"', '"verdict"'):
        assert person_or_label not in text


# --- 6. impact messages carry no label values ------------------------------------------------


@pytest.mark.parametrize("reader", ["compliance", "mlbot", "pm"])
async def test_impact_report_messages_name_the_field_not_the_stored_value(api: Api, reader: str) -> None:
    project = project_a(api)
    await import_items(api, project, ["item-0", "item-1"], as_="pm")
    await claim_and_submit(api, project, "ann1", "neu")
    await claim_and_submit(api, project, "ann2", "pos")
    # "neu" and "pos" disappear without a mapping: both stored values become invalid.
    definition = {
        "fields": [
            {"name": "sentiment", "kind": "single_choice", "classes": ["negative", "neutral"], "required": True},
            {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"]},
        ]
    }
    variables = {"input": {"projectId": project, "definition": definition, "rationale": "Spell classes out."}}
    assert (await api.data(PROPOSE, variables, as_="pm"))["proposeSchemaChange"]["errors"] == []

    data = await api.data(IMPACT, {"id": project}, as_=reader)

    [request] = data["project"]["schemaChangeRequests"]["nodes"]
    labels = request["impact"]["labels"]
    assert labels["invalid"] == 2
    problems = [p for example in labels["examples"] for p in example["problems"]]
    assert [(p["code"], p["field"]) for p in problems] == [("UNKNOWN_CLASS", "value.sentiment")] * 2
    for problem in problems:
        assert "neu" not in problem["message"]
        assert "pos" not in problem["message"]
        assert "sentiment" in problem["message"]
