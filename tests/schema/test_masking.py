"""Error masking: an unexpected failure reads "Unexpected error." and nothing more, while the
errors a client can act on (FORBIDDEN, bad input, validation) keep their words.

The unexpected failures come from a broken database state, as an operator's bad manual edit
would leave it: a project pointing at a schema version that does not exist, and a stored label
schema missing a field's name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.db import unit_of_work
from app.projects.models import Project
from app.taxonomy.models import LabelSchemaVersion
from tests.conftest import Api, gid

MASKED = "Unexpected error."


def assert_masked(response_text: str, body: dict[str, Any], *, leaks: list[str]) -> None:
    assert [e["message"] for e in body["errors"]] == [MASKED]
    assert "extensions" not in body["errors"][0] or set(body["errors"][0]["extensions"]) <= {"code"}
    for leak in [*leaks, "Traceback", "Error:", 'File "', "app/"]:
        assert leak not in response_text


async def test_a_broken_row_on_a_query_path_reads_unexpected_error(api: Api) -> None:
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(Project).where(Project.id == api.world.project_a).values(schema_version=99))

    response = await api.raw(
        "query ($id: ID!) { project(id: $id) { name labelSchema { version } } }",
        {"id": gid("Project", api.world.project_a)},
        as_="pm",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"project": None}
    assert body["errors"][0]["path"] == ["project", "labelSchema"]
    assert_masked(response.text, body, leaks=["AssertionError", "every project has its active schema version"])


async def test_a_broken_row_on_a_mutation_path_reads_unexpected_error_and_writes_nothing(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await api.data(
        "mutation ($input: ImportItemsInput!) { importItems(input: $input) { importedCount } }",
        {"input": {"projectId": project, "items": [{"externalId": "d1", "data": {"text": "t"}}]}},
        as_="pm",
    )
    claimed = await api.data(
        "mutation ($p: ID!) { claimNextTask(input: {projectId: $p}) { assignment { id } } }", {"p": project}, as_="ann1"
    )
    assignment = claimed["claimNextTask"]["assignment"]["id"]
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(
            update(LabelSchemaVersion)
            .where(LabelSchemaVersion.project_id == api.world.project_a)
            .values(definition={"fields": [{"kind": "single_choice", "classes": ["pos"]}]})
        )

    response = await api.raw(
        'mutation ($a: ID!) { submitLabel(input: {assignmentId: $a, value: {sentiment: "pos"}}) '
        "{ label { id } errors { code } } }",
        {"a": assignment},
        as_="ann1",
    )

    assert response.status_code == 200
    assert_masked(response.text, response.json(), leaks=["KeyError", "'name'"])
    # The task is still open: the failed submission left nothing behind.
    again = await api.data(
        "mutation ($p: ID!) { claimNextTask(input: {projectId: $p}) { resumed assignment { id label { id } } } }",
        {"p": project},
        as_="ann1",
    )
    assert again["claimNextTask"] == {"resumed": True, "assignment": {"id": assignment, "label": None}}


async def test_forbidden_keeps_its_message_and_code(api: Api) -> None:
    body = await api.gql("{ auditEvents { nodes { action } } }", as_="ann1")

    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] != MASKED
    assert error["message"].startswith("You may not")


async def test_validation_errors_stay_readable(api: Api) -> None:
    body = await api.gql("{ viewer { username shoeSize } }", as_="ann1")

    assert [e["message"] for e in body["errors"]] == ["Cannot query field 'shoeSize' on type 'Viewer'."]


async def test_bad_input_stays_readable(api: Api) -> None:
    body = await api.gql('{ project(id: "not-an-id") { name } }', as_="ann1")

    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not an id of this API" in error["message"]
