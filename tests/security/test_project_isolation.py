"""Project isolation: a role held in project A gives nothing in project B.

Project B is set up through the API by its own people (pm_b imports, ann_b labels, an admin
reviews). A's manager, annotator, reviewer, auditor, expert and ML service then try B: importing,
reading its items, granting there, claiming, reviewing, refetching B's objects by id, exporting,
and listing projects. For them B does not exist: every attempt gets the answer a missing id
gets (null from a query, NOT_FOUND in a mutation's payload, 404 for the export) and writes
nothing; after it, B's own people (or an admin) do the same thing successfully, so the refusal
is about who asks, not about the state of B.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Api, gid
from tests.security import (
    CLAIM,
    GRANT,
    IMPORT,
    REVIEW,
    REVOKE,
    assert_not_found,
    claim_and_submit,
    database_state,
    import_items,
)

ROLES_OF_A = ("pm", "ann1", "reviewer", "qa", "expert", "mlbot")


@dataclass(frozen=True)
class ProjectB:
    project: str
    final_item: str  # b-1, labeled by ann_b and accepted by the admin
    review: str
    pending_label: str  # ann_b's label on b-2, awaiting review
    task: str  # the task ann_b submitted that label on
    # b-3 waits in the queue


async def project_b(api: Api) -> ProjectB:
    project = gid("Project", api.world.project_b)
    await import_items(api, project, ["b-1", "b-2", "b-3"], as_="pm_b")
    final = await claim_and_submit(api, project, "ann_b", "pos")
    accepted = await api.data(REVIEW, {"input": {"labelId": final["label"], "verdict": "ACCEPT"}}, as_="admin")
    assert accepted["reviewLabel"]["errors"] == []
    pending = await claim_and_submit(api, project, "ann_b", "neg")
    return ProjectB(
        project=project,
        final_item=final["item"],
        review=accepted["reviewLabel"]["review"]["id"],
        pending_label=pending["label"],
        task=pending["task"],
    )


def user_id(api: Api, username: str) -> str:
    return gid("User", api.world.id(username))


async def refused(api: Api, document: str, variables: dict[str, object], *, as_: str) -> None:
    """The call finds nothing (a null query, a NOT_FOUND payload) and leaves every table as it was."""
    before = await database_state(api)
    body = await api.gql(document, variables, as_=as_)
    if document.lstrip().startswith("mutation"):
        assert_not_found(body)
    else:
        assert body == {"data": {"project": None}}, body
    assert await database_state(api) == before


async def test_manager_of_a_cannot_import_into_b(api: Api) -> None:
    b = await project_b(api)
    variables = {"input": {"projectId": b.project, "items": [{"externalId": "b-9", "data": {"text": "x"}}]}}

    await refused(api, IMPORT, variables, as_="pm")

    imported = await api.data(IMPORT, variables, as_="pm_b")
    assert imported["importItems"] == {"importedCount": 1, "errors": []}


async def test_manager_of_b_cannot_import_into_a(api: Api) -> None:
    project_a = gid("Project", api.world.project_a)
    variables = {"input": {"projectId": project_a, "items": [{"externalId": "a-9", "data": {"text": "x"}}]}}

    await refused(api, IMPORT, variables, as_="pm_b")


@pytest.mark.parametrize(
    "selection",
    ["name", "labelSchema { version }", "itemCounts { total }", "items(first: 10) { nodes { externalId } }"],
)
async def test_manager_of_a_cannot_read_b_or_its_items(api: Api, selection: str) -> None:
    b = await project_b(api)
    document = "query Project($id: ID!) { project(id: $id) { " + selection + " } }"

    await refused(api, document, {"id": b.project}, as_="pm")

    assert (await api.data(document, {"id": b.project}, as_="pm_b"))["project"]


async def test_manager_of_a_cannot_grant_or_revoke_in_b(api: Api) -> None:
    b = await project_b(api)
    grant = {"input": {"userId": user_id(api, "ann1"), "role": "ANNOTATOR", "projectId": b.project}}
    revoke = {"input": {"userId": user_id(api, "ann_b"), "role": "ANNOTATOR", "projectId": b.project}}

    await refused(api, GRANT, grant, as_="pm")
    await refused(api, REVOKE, revoke, as_="pm")

    assert (await api.data(GRANT, grant, as_="pm_b"))["grantRole"]["errors"] == []
    assert (await api.data(REVOKE, revoke, as_="pm_b"))["revokeRole"]["errors"] == []


async def test_annotator_of_a_cannot_claim_in_b(api: Api) -> None:
    b = await project_b(api)
    variables = {"input": {"projectId": b.project}}

    await refused(api, CLAIM, variables, as_="ann1")

    claim = await api.data(CLAIM, variables, as_="ann_b")
    assert claim["claimNextTask"]["assignment"]["item"]["externalId"] == "b-3"


async def test_reviewer_of_a_cannot_review_in_b(api: Api) -> None:
    b = await project_b(api)
    variables = {"input": {"labelId": b.pending_label, "verdict": "ACCEPT"}}

    await refused(api, REVIEW, variables, as_="reviewer")

    reviewed = await api.data(REVIEW, variables, as_="admin")
    assert reviewed["reviewLabel"]["item"] == {"status": "FINAL"}


NODE = "query Node($id: ID!) { node(id: $id) { id } }"


@pytest.mark.parametrize("role", ROLES_OF_A)
async def test_objects_of_b_by_id_do_not_exist_for_roles_of_a(api: Api, role: str) -> None:
    b = await project_b(api)
    objects = {
        "Project": b.project,
        "Item": b.final_item,
        "Label": b.pending_label,
        "Review": b.review,
        "Assignment": b.task,
    }
    for type_name, node_id in objects.items():
        body = await api.gql(NODE, {"id": node_id}, as_=role)
        assert body == {"data": {"node": None}}, (type_name, body)
        # The same ids resolve for an admin: the refusal is about who asks.
        assert (await api.data(NODE, {"id": node_id}, as_="admin"))["node"] == {"id": node_id}, type_name


def export(api: Api, project: str, *, as_: str) -> Awaitable[httpx.Response]:
    return api.client.get(f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {api.token(as_)}"})


@pytest.mark.parametrize("role", ["pm", "mlbot"])
async def test_exporting_b_is_not_found_for_exporters_of_a(api: Api, role: str) -> None:
    b = await project_b(api)
    before = await database_state(api)

    response = await export(api, b.project, as_=role)

    assert response.status_code == 404, response.text
    assert await database_state(api) == before
    assert (await export(api, b.project, as_="pm_b")).status_code == 200


PROJECT_NAMES = "query { projects { nodes { name } } }"


@pytest.mark.parametrize(
    ("role", "visible"),
    [(role, ["Project A"]) for role in ROLES_OF_A]
    + [("pm_b", ["Project B"]), ("ann_b", ["Project B"])]
    + [("admin", ["Project A", "Project B"]), ("compliance", ["Project A", "Project B"])],
)
async def test_projects_list_shows_only_projects_where_a_role_is_held(api: Api, role: str, visible: list[str]) -> None:
    data = await api.data(PROJECT_NAMES, as_=role)
    assert [node["name"] for node in data["projects"]["nodes"]] == visible
