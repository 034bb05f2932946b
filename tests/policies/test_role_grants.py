"""grantRole and revokeRole: who may hand out which role, where, to whom; and what follows.

Covered: an admin grants any role; a project manager grants annotator, reviewer, qa_auditor and
expert in its own project only; nobody grants or revokes their own roles; org roles take no
projectId and project roles need one (WRONG_SCOPE); ml_service goes to service accounts only and
human roles to people only (WRONG_IDENTITY_KIND); ALREADY_GRANTED, NOT_GRANTED and NOT_FOUND;
a grant takes effect at once and a revoke stops the next call; each change is in the audit log.
Refusals and payload errors write nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.policies.roles import Role
from tests.conftest import Api, gid
from tests.security import (
    CLAIM,
    GRANT,
    REVOKE,
    SUBMIT,
    assert_forbidden,
    assert_not_found,
    database_state,
    import_items,
    payload_codes,
)
from tests.workflow.flow import acknowledge

VIEWER_ROLES = "query { viewer { roles { role projectId } } }"
AUDIT = """
query Audit($action: String!) {
  auditEvents(action: $action) {
    nodes { action actor { username } entityType entityId projectId details }
  }
}
"""


def project(api: Api, scope: str | None) -> str | None:
    """The global id of project "A" or "B"; None for an org-wide grant."""
    return {"A": gid("Project", api.world.project_a), "B": gid("Project", api.world.project_b), None: None}[scope]


def role_input(api: Api, user: str, role: Role, scope: str | None) -> dict[str, Any]:
    fields = {"userId": gid("User", api.world.id(user)), "role": role.name}
    if scope is not None:
        fields["projectId"] = project(api, scope)
    return {"input": fields}


async def grant(api: Api, user: str, role: Role, scope: str | None, *, as_: str) -> dict[str, Any]:
    """The grantRole payload (user and errors) of a call that was not refused."""
    payload: dict[str, Any] = (await api.data(GRANT, role_input(api, user, role, scope), as_=as_))["grantRole"]
    return payload


async def revoke(api: Api, user: str, role: Role, scope: str | None, *, as_: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(REVOKE, role_input(api, user, role, scope), as_=as_))["revokeRole"]
    return payload


async def roles_of(api: Api, user: str) -> list[dict[str, str | None]]:
    roles: list[dict[str, str | None]] = (await api.data(VIEWER_ROLES, as_=user))["viewer"]["roles"]
    return roles


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


# role -> (a grantee it suits, where it is held); ml_service goes to the one service account.
SUITS: dict[Role, tuple[str, str | None]] = {
    Role.ADMIN: ("outsider", None),
    Role.COMPLIANCE_OFFICER: ("outsider", None),
    Role.PROJECT_MANAGER: ("outsider", "A"),
    Role.ANNOTATOR: ("outsider", "A"),
    Role.REVIEWER: ("outsider", "A"),
    Role.QA_AUDITOR: ("outsider", "A"),
    Role.EXPERT: ("outsider", "A"),
    Role.ML_SERVICE: ("mlbot", "B"),
    Role.INGESTION_SERVICE: ("mlbot", None),  # org-wide, like the consent it records
    Role.METRICS: ("mlbot", None),  # org-wide: the server's metrics are no project's
}
BELOW_MANAGER = [Role.ANNOTATOR, Role.REVIEWER, Role.QA_AUDITOR, Role.EXPERT]


@pytest.mark.parametrize("role", list(Role))
async def test_admin_grants_any_role(api: Api, role: Role) -> None:
    user, scope = SUITS[role]

    payload = await grant(api, user, role, scope, as_="admin")

    assert payload == {"user": {"username": user}, "errors": []}
    assert {"role": role.name, "projectId": project(api, scope)} in await roles_of(api, user)


@pytest.mark.parametrize("role", BELOW_MANAGER)
async def test_manager_grants_the_roles_below_it_in_its_project(api: Api, role: Role) -> None:
    payload = await grant(api, "outsider", role, "A", as_="pm")

    assert payload["errors"] == []
    assert await roles_of(api, "outsider") == [{"role": role.name, "projectId": project(api, "A")}]


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.PROJECT_MANAGER, "A"),
        (Role.ADMIN, None),
        (Role.COMPLIANCE_OFFICER, None),
        (Role.ML_SERVICE, "A"),
        (Role.INGESTION_SERVICE, None),
        (Role.METRICS, None),
    ],
)
async def test_manager_cannot_grant_other_roles(api: Api, role: Role, scope: str | None) -> None:
    before = await database_state(api)

    assert_forbidden(await api.gql(GRANT, role_input(api, "outsider", role, scope), as_="pm"))

    assert await database_state(api) == before


async def test_manager_cannot_revoke_a_fellow_manager(api: Api) -> None:
    assert (await grant(api, "outsider", Role.PROJECT_MANAGER, "A", as_="admin"))["errors"] == []
    before = await database_state(api)

    assert_forbidden(await api.gql(REVOKE, role_input(api, "outsider", Role.PROJECT_MANAGER, "A"), as_="pm"))

    assert await database_state(api) == before


@pytest.mark.parametrize("document", [GRANT, REVOKE], ids=["grant", "revoke"])
async def test_manager_grants_and_revokes_only_in_its_own_project(api: Api, document: str) -> None:
    before = await database_state(api)

    # ann_b holds annotator in B: a grant there would be new, a revoke would find it. Project B
    # does not exist for pm: the same answer as for a missing project.
    assert_not_found(await api.gql(document, role_input(api, "ann_b", Role.ANNOTATOR, "B"), as_="pm"), "projectId")

    assert await database_state(api) == before


@pytest.mark.parametrize(
    ("document", "actor", "role", "scope"),
    [
        pytest.param(GRANT, "admin", Role.ANNOTATOR, "A", id="admin-grants-itself-annotator"),
        pytest.param(GRANT, "admin", Role.ADMIN, None, id="admin-grants-itself-admin"),
        pytest.param(GRANT, "pm", Role.REVIEWER, "A", id="pm-grants-itself-reviewer"),
        pytest.param(REVOKE, "admin", Role.ADMIN, None, id="admin-revokes-its-own-admin"),
    ],
)
async def test_nobody_grants_or_revokes_their_own_roles(
    api: Api, document: str, actor: str, role: Role, scope: str | None
) -> None:
    """Those who may hand out the role still may not to themselves: a separation-of-duty code."""
    before = await database_state(api)

    body = await api.gql(document, role_input(api, actor, role, scope), as_=actor)

    assert payload_codes(body) == ["SELF_GRANT"]
    assert await database_state(api) == before


@pytest.mark.parametrize(
    ("document", "actor", "role", "scope"),
    [
        pytest.param(REVOKE, "pm", Role.PROJECT_MANAGER, "A", id="pm-revokes-its-own-manager"),
        pytest.param(GRANT, "ann1", Role.REVIEWER, "A", id="annotator-grants-itself-reviewer"),
    ],
)
async def test_a_role_one_may_not_hand_out_is_forbidden_to_oneself_too(
    api: Api, document: str, actor: str, role: Role, scope: str | None
) -> None:
    before = await database_state(api)

    assert_forbidden(await api.gql(document, role_input(api, actor, role, scope), as_=actor))

    assert await database_state(api) == before


@pytest.mark.parametrize(
    ("role", "user", "scope"),
    [
        (Role.ADMIN, "outsider", "A"),
        (Role.COMPLIANCE_OFFICER, "outsider", "A"),
        (Role.ANNOTATOR, "outsider", None),
        (Role.PROJECT_MANAGER, "outsider", None),
        (Role.ML_SERVICE, "mlbot", None),
        (Role.INGESTION_SERVICE, "mlbot", "A"),
    ],
)
async def test_org_roles_take_no_project_and_project_roles_need_one(
    api: Api, role: Role, user: str, scope: str | None
) -> None:
    before = await database_state(api)

    payload = await grant(api, user, role, scope, as_="admin")

    assert codes(payload) == [("WRONG_SCOPE", "projectId")]
    assert payload["user"] is None
    assert await database_state(api) == before


@pytest.mark.parametrize(
    ("role", "user", "scope"),
    [
        (Role.ML_SERVICE, "outsider", "A"),
        (Role.INGESTION_SERVICE, "outsider", None),
        (Role.ANNOTATOR, "mlbot", "A"),
        (Role.REVIEWER, "mlbot", "A"),
        (Role.ADMIN, "mlbot", None),
    ],
)
async def test_ml_service_is_for_service_accounts_and_human_roles_for_people(
    api: Api, role: Role, user: str, scope: str | None
) -> None:
    before = await database_state(api)

    payload = await grant(api, user, role, scope, as_="admin")

    assert codes(payload) == [("WRONG_IDENTITY_KIND", "userId")]
    assert await database_state(api) == before


@pytest.mark.parametrize("actor", ["admin", "pm"])
async def test_granting_a_held_role_is_already_granted(api: Api, actor: str) -> None:
    before = await database_state(api)

    payload = await grant(api, "ann1", Role.ANNOTATOR, "A", as_=actor)

    assert codes(payload) == [("ALREADY_GRANTED", "role")]
    assert await database_state(api) == before


@pytest.mark.parametrize("actor", ["admin", "pm"])
async def test_revoking_a_role_not_held_is_not_granted(api: Api, actor: str) -> None:
    before = await database_state(api)

    payload = await revoke(api, "ann1", Role.REVIEWER, "A", as_=actor)

    assert codes(payload) == [("NOT_GRANTED", "role")]
    assert await database_state(api) == before


@pytest.mark.parametrize(("document", "field"), [(GRANT, "grantRole"), (REVOKE, "revokeRole")], ids=["grant", "revoke"])
async def test_unknown_user_is_not_found(api: Api, document: str, field: str) -> None:
    variables = {"input": {"userId": gid("User", uuid.uuid4()), "role": "ANNOTATOR", "projectId": project(api, "A")}}
    before = await database_state(api)

    payload = (await api.data(document, variables, as_="pm"))[field]

    assert codes(payload) == [("NOT_FOUND", "userId")]
    assert await database_state(api) == before


async def test_a_grant_works_at_once_and_a_revoke_stops_the_next_call(api: Api) -> None:
    project_a = gid("Project", api.world.project_a)
    await import_items(api, project_a, ["a-1", "a-2"], as_="pm")
    claim = {"input": {"projectId": project_a}}
    assert_not_found(await api.gql(CLAIM, claim, as_="outsider"), "projectId")

    assert (await grant(api, "outsider", Role.ANNOTATOR, "A", as_="pm"))["errors"] == []
    await acknowledge(api, project_a, 1, as_="outsider")
    task = (await api.data(CLAIM, claim, as_="outsider"))["claimNextTask"]["assignment"]
    assert task["item"]["externalId"] == "a-1"

    assert (await revoke(api, "outsider", Role.ANNOTATOR, "A", as_="pm"))["errors"] == []
    # The task claimed while holding the role cannot be finished after losing it.
    submit = {"input": {"assignmentId": task["id"], "value": {"sentiment": "pos"}}}
    assert_forbidden(await api.gql(SUBMIT, submit, as_="outsider"))
    assert_not_found(await api.gql(CLAIM, claim, as_="outsider"), "projectId")


async def test_revoking_an_org_role_takes_its_reach_away(api: Api) -> None:
    audit = {"action": "role.revoke"}
    assert (await api.data(AUDIT, audit, as_="compliance"))["auditEvents"]["nodes"] == []

    assert (await revoke(api, "compliance", Role.COMPLIANCE_OFFICER, None, as_="admin"))["errors"] == []

    assert_forbidden(await api.gql(AUDIT, audit, as_="compliance"))


async def test_each_grant_and_revoke_is_in_the_audit_log(api: Api) -> None:
    assert (await grant(api, "outsider", Role.REVIEWER, "A", as_="pm"))["errors"] == []
    assert (await revoke(api, "outsider", Role.REVIEWER, "A", as_="pm"))["errors"] == []
    # A refused change leaves no trace.
    assert codes(await revoke(api, "outsider", Role.REVIEWER, "A", as_="pm")) == [("NOT_GRANTED", "role")]

    for action in ("role.grant", "role.revoke"):
        events = (await api.data(AUDIT, {"action": action}, as_="compliance"))["auditEvents"]["nodes"]
        assert events == [
            {
                "action": action,
                "actor": {"username": "pm"},
                "entityType": "User",
                "entityId": str(api.world.id("outsider")),
                "projectId": project(api, "A"),
                "details": {"role": "reviewer", "domain": f"project:{api.world.project_a}"},
            }
        ]
