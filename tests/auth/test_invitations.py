"""People through the API: createUser, the invitation flow end to end, updateUser, and what an
anonymous caller may send to /graphql (the two public operations, nothing else)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from app.auth.models import AccountToken, AccountTokenKind, User
from app.clock import utcnow
from app.compliance.models import AuditEvent
from tests.auth.support import (
    ACCEPT,
    CREATE_USER,
    INVITE,
    MEMBERS,
    UPDATE,
    VIEWER,
    anonymous,
    anonymous_data,
    codes,
    password_sign_in,
    signed_in,
    with_token,
)
from tests.conftest import Api, gid
from tests.security import GRANT, assert_forbidden, database_state

STRONG = "amber-lantern-quietly-92"
ROLES = "{ viewer { username roles { role projectId } } }"


async def invite(api: Api, username: str, *, as_: str = "admin", **extra: object) -> dict[str, object]:
    data = await api.data(INVITE, {"input": {"username": username, **extra}}, as_=as_)
    payload: dict[str, object] = data["inviteUser"]
    return payload


async def actions(api: Api) -> list[str]:
    async with api.runtime.sessions() as session:
        return list(await session.scalars(select(AuditEvent.action).order_by(col(AuditEvent.seq))))


async def test_the_whole_invitation_flow(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    invited = await invite(
        api,
        "newbie",
        displayName="New Bie",
        email="New.Bie@Example.org",
        grants=[{"role": "ANNOTATOR", "projectId": project}],
    )
    assert invited["errors"] == [], invited
    assert invited["user"]["status"] == "INVITED"  # type: ignore[index]
    token = invited["invitationToken"]
    assert isinstance(token, str)
    assert len(token) >= 43
    # Only a hash is kept.
    async with api.runtime.sessions() as session:
        stored = (await session.scalars(select(AccountToken.token_hash))).all()
    assert token not in stored
    assert len(stored) == 1

    # Invited is not signed up: no password works yet, and the answer is any failed sign-in's.
    assert (await password_sign_in(api, "newbie", STRONG)).json()["error"] == "invalid_grant"

    # A weak password is refused and uses nothing up; the token still works afterwards.
    before = await database_state(api)
    for weak, expected in [
        ("password1234", "COMMON_PASSWORD"),
        ("short", "PASSWORD_TOO_SHORT"),
        ("new.bie@example.org", "PASSWORD_IS_NAME"),
        ("aaaaaaaaaaaaaaaa", "WEAK_PASSWORD"),
    ]:
        refused = await anonymous_data(api, ACCEPT, {"input": {"token": token, "password": weak}})
        assert codes(refused["acceptInvite"]) == [expected], refused
        assert refused["acceptInvite"]["errors"][0]["field"] == "password"
    assert await database_state(api) == before

    accepted = await anonymous_data(api, ACCEPT, {"input": {"token": token, "password": STRONG}})
    assert accepted["acceptInvite"] == {
        "username": "newbie",
        "granted": [{"role": "ANNOTATOR", "projectId": project}],
        "errors": [],
    }

    signed = await signed_in(api, "newbie", STRONG)
    response = await with_token(api, signed["access_token"], ROLES)
    assert response.json()["data"]["viewer"] == {
        "username": "newbie",
        "roles": [{"role": "ANNOTATOR", "projectId": project}],
    }

    # The token worked once.
    again = await anonymous_data(api, ACCEPT, {"input": {"token": token, "password": "another-" + STRONG}})
    assert codes(again["acceptInvite"]) == ["INVALID_TOKEN"]
    assert (await password_sign_in(api, "newbie", "another-" + STRONG)).status_code == 400

    # The e-mail address is stored lower-cased; the audit log has the invitation, the acceptance
    # and the grant, and no secret reached the audit digests' input.
    async with api.runtime.sessions() as session:
        user = await session.scalar(select(User).where(col(User.username) == "newbie"))
    assert user is not None
    assert user.email == "new.bie@example.org"
    assert user.is_active
    assert {"user.invite", "user.invite.accept", "role.grant"} <= set(await actions(api))


async def test_an_expired_invitation_is_refused_like_an_unknown_one(api: Api) -> None:
    invited = await invite(api, "latecomer")
    async with api.runtime.sessions() as session:
        await session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    expired = await anonymous_data(api, ACCEPT, {"input": {"token": invited["invitationToken"], "password": STRONG}})
    unknown = await anonymous_data(api, ACCEPT, {"input": {"token": "x" * 43, "password": STRONG}})
    assert expired == unknown
    assert codes(expired["acceptInvite"]) == ["INVALID_TOKEN"]
    assert (await password_sign_in(api, "latecomer", STRONG)).status_code == 400


async def test_inviting_again_replaces_the_invitation(api: Api) -> None:
    first = await invite(api, "twice")
    second = await invite(api, "twice", displayName="Twice Over")
    assert second["errors"] == []
    old = await anonymous_data(api, ACCEPT, {"input": {"token": first["invitationToken"], "password": STRONG}})
    assert codes(old["acceptInvite"]) == ["INVALID_TOKEN"]
    new = await anonymous_data(api, ACCEPT, {"input": {"token": second["invitationToken"], "password": STRONG}})
    assert new["acceptInvite"]["username"] == "twice"
    # Once accepted, the name is taken like any other.
    third = await invite(api, "twice")
    assert codes(third) == ["USERNAME_TAKEN"]  # type: ignore[arg-type]


async def test_a_manager_invites_annotators_into_its_own_project_only(api: Api) -> None:
    a, b = gid("Project", api.world.project_a), gid("Project", api.world.project_b)

    ok = await invite(api, "crowd-1", as_="pm", grants=[{"role": "ANNOTATOR", "projectId": a}])
    assert ok["errors"] == [], ok
    # Another project (one it cannot read) does not exist for it.
    elsewhere = await invite(api, "crowd-2", as_="pm", grants=[{"role": "ANNOTATOR", "projectId": b}])
    assert elsewhere["errors"] == [{"code": "NOT_FOUND", "field": "grants.0.projectId", "message": "No such project."}]
    # An invitation with no role is an admin's (an org-wide invite).
    bare = await invite(api, "crowd-3", as_="pm")
    assert codes(bare) == ["GRANT_REQUIRED"]  # type: ignore[arg-type]
    before = await database_state(api)
    for role in ("PROJECT_MANAGER", "ADMIN"):
        body = await api.gql(
            INVITE, {"input": {"username": "boss", "grants": [{"role": role, "projectId": a}]}}, as_="pm"
        )
        assert_forbidden(body)
    body = await api.gql(INVITE, {"input": {"username": "boss", "grants": [{"role": "ADMIN"}]}}, as_="pm")
    assert_forbidden(body)
    # Annotators invite nobody.
    assert_forbidden(
        await api.gql(
            INVITE, {"input": {"username": "friend", "grants": [{"role": "ANNOTATOR", "projectId": a}]}}, as_="ann1"
        )
    )
    assert await database_state(api) == before

    accepted = await anonymous_data(api, ACCEPT, {"input": {"token": ok["invitationToken"], "password": STRONG}})
    assert accepted["acceptInvite"]["granted"] == [{"role": "ANNOTATOR", "projectId": a}]

    # The manager lists its project's people with their roles; not another project's, and an
    # annotator lists nobody.
    members = (await api.data(MEMBERS, {"id": a}, as_="pm"))["project"]["members"]
    names = {m["user"]["username"]: (m["user"]["status"], m["roles"]) for m in members}
    assert names["crowd-1"] == ("ACTIVE", ["ANNOTATOR"])
    assert names["pm"] == ("ACTIVE", ["PROJECT_MANAGER"])
    assert "admin" not in names
    assert "pm_b" not in names
    assert (await api.data(MEMBERS, {"id": b}, as_="pm"))["project"] is None
    assert_forbidden(await api.gql(MEMBERS, {"id": a}, as_="ann1"))


async def test_grants_the_inviter_lost_meanwhile_are_not_applied(api: Api) -> None:
    a = gid("Project", api.world.project_a)
    invited = await invite(api, "orphan", as_="pm", grants=[{"role": "ANNOTATOR", "projectId": a}])
    revoke = """
    mutation Revoke($input: RoleInput!) { revokeRole(input: $input) { errors { code } } }
    """
    variables = {"input": {"userId": gid("User", api.world.id("pm")), "role": "PROJECT_MANAGER", "projectId": a}}
    assert (await api.data(revoke, variables, as_="admin"))["revokeRole"]["errors"] == []

    accepted = await anonymous_data(api, ACCEPT, {"input": {"token": invited["invitationToken"], "password": STRONG}})
    assert accepted["acceptInvite"] == {"username": "orphan", "granted": [], "errors": []}


async def test_create_user_and_update_user(api: Api) -> None:
    created = await api.data(
        CREATE_USER,
        {"input": {"username": "direct", "password": STRONG, "email": "direct@example.org"}},
        as_="admin",
    )
    assert created["createUser"]["errors"] == []
    assert created["createUser"]["user"]["status"] == "ACTIVE"
    await signed_in(api, "direct", STRONG)
    user_id = created["createUser"]["user"]["id"]

    taken = await api.data(
        CREATE_USER, {"input": {"username": "direct", "password": STRONG, "email": "DIRECT@example.org"}}, as_="admin"
    )
    assert codes(taken["createUser"]) == ["USERNAME_TAKEN", "EMAIL_TAKEN"]
    weak = await api.data(CREATE_USER, {"input": {"username": "weakling", "password": "weakling"}}, as_="admin")
    assert codes(weak["createUser"]) == ["PASSWORD_TOO_SHORT"]
    assert_forbidden(await api.gql(CREATE_USER, {"input": {"username": "x1", "password": STRONG}}, as_="pm"))

    no_reason = await api.data(UPDATE, {"input": {"userId": user_id, "displayName": "D", "reason": " "}}, as_="admin")
    assert codes(no_reason["updateUser"]) == ["REQUIRED"]
    updated = await api.data(
        UPDATE,
        {"input": {"userId": user_id, "displayName": "Direct Hire", "email": None, "reason": "Name change (HR-12)."}},
        as_="admin",
    )
    assert updated["updateUser"]["user"]["displayName"] == "Direct Hire"
    async with api.runtime.sessions() as session:
        user = await session.scalar(select(User).where(col(User.username) == "direct"))
    assert user is not None
    assert user.email is None
    assert_forbidden(await api.gql(UPDATE, {"input": {"userId": user_id, "displayName": "X", "reason": "r"}}, as_="pm"))
    # Someone who cannot read users cannot find this one either.
    hidden = await api.data(UPDATE, {"input": {"userId": user_id, "displayName": "X", "reason": "r"}}, as_="ann1")
    assert codes(hidden["updateUser"]) == ["NOT_FOUND"]


async def test_email_is_for_user_readers_and_oneself(api: Api) -> None:
    async with api.runtime.sessions() as session:
        await session.execute(update(User).where(col(User.username) == "ann1").values(email="ann1@example.org"))
        await session.commit()
    query = "{ viewer { username } users(first: 50) { nodes { username email } } }"
    listed = await api.data(query, as_="pm")
    assert {"username": "ann1", "email": "ann1@example.org"} in listed["users"]["nodes"]
    own = await api.data(
        "query N($id: ID!) { node(id: $id) { ... on User { email } } }",
        {"id": gid("User", api.world.id("ann1"))},
        as_="ann1",
    )
    assert own["node"] == {"email": "ann1@example.org"}


@pytest.mark.parametrize(
    "query",
    [
        VIEWER,
        'mutation { createUser(input: {username: "x9", password: "amber-lantern-quietly-92"}) { errors { code } } }',
        'mutation { acceptInvite(input: {token: "t", password: "p"}) { username } '
        'createUser(input: {username: "x9", password: "amber-lantern-quietly-92"}) { errors { code } } }',
        'mutation { ...F } fragment F on Mutation { acceptInvite(input: {token: "t", password: "p"}) { username } }',
        'mutation { ... on Mutation { createUser(input: {username: "x9", password: "p"}) { errors { code } } } }',
        "query { acceptInvite }",
        "not graphql at all",
    ],
    ids=["query", "other mutation", "public and other", "fragment", "inline fragment", "as a query", "garbage"],
)
async def test_anonymous_callers_get_the_401_for_everything_but_the_public_operations(api: Api, query: str) -> None:
    response = await anonymous(api, query)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_anonymous_callers_reach_the_public_operations(api: Api) -> None:
    response = await anonymous(api, ACCEPT, {"input": {"token": "not-a-token", "password": STRONG}})
    assert response.status_code == 200
    assert codes(response.json()["data"]["acceptInvite"]) == ["INVALID_TOKEN"]
    # A stale bearer token does not stand in the way either (the link is the credential).
    stale = await api.client.post(
        "/graphql",
        json={"query": ACCEPT, "variables": {"input": {"token": "not-a-token", "password": STRONG}}},
        headers={"Authorization": "Bearer not-a-jwt"},
    )
    assert stale.status_code == 200


async def test_grant_role_still_works_on_an_invited_person(api: Api) -> None:
    # The matrix's grant rules apply to invited people as to anyone (a role before acceptance).
    invited = await invite(api, "early")
    variables = {
        "input": {"userId": invited["user"]["id"], "role": "REVIEWER", "projectId": gid("Project", api.world.project_a)}
    }  # type: ignore[index]
    assert (await api.data(GRANT, variables, as_="pm"))["grantRole"]["errors"] == []
    async with api.runtime.sessions() as session:
        kinds = list(await session.scalars(select(AccountToken.kind)))
    assert kinds == [AccountTokenKind.INVITE]
