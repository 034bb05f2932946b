"""eraseUser, on both databases: the person's name becomes a stable pseudonym wherever it is read
(GraphQL, exports, the audit log's actor), the account can no longer sign in or use its tokens, and
every row and audit event still names the same id."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.compliance.models import AuditEvent
from app.erasure.service import pseudonym
from tests.conftest import PASSWORD, Api, gid
from tests.erasure.support import ERASE_USER, lines
from tests.security import database_state
from tests.workflow.flow import audit_events, codes, create_project, imported, labeled, review, rows

NODE_USER = "query U($id: ID!) { node(id: $id) { ... on User { username displayName erasedAt } } }"


async def erase_user(
    api: Api, username: str, *, as_: str = "compliance", reason: str = "Asked to be forgotten."
) -> dict[str, Any]:
    variables = {"input": {"userId": gid("User", api.world.id(username)), "reason": reason}}
    payload: dict[str, Any] = (await api.data(ERASE_USER, variables, as_=as_))["eraseUser"]
    return payload


async def viewer(api: Api, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return (await api.client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)).status_code


async def test_the_pseudonym_is_shown_everywhere_the_name_was(api: Api) -> None:
    project = await create_project(api, "People", overlap=1)
    await imported(api, project, rows(1))
    label = await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
    assert (await review(api, label["id"], "ACCEPT"))["errors"] == []
    ann1 = api.world.id("ann1")

    erased = await erase_user(api, "ann1")

    name = pseudonym(ann1)
    assert name.startswith("erased-user-")
    assert len(name) == len("erased-user-") + 12
    assert erased["errors"] == []
    assert erased["user"]["username"] == erased["user"]["displayName"] == name
    shown = (await api.data(NODE_USER, {"id": gid("User", ann1)}, as_="pm"))["node"]
    assert (shown["username"], shown["displayName"]) == (name, name)
    assert shown["erasedAt"] is not None
    exported = await api.client.get(f"/export/{project}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"})
    assert "ann1" not in exported.text
    assert "Ann1" not in exported.text
    [line] = lines(exported.text)
    assert [entry["annotator"] for entry in line["labels"]] == [name]
    # The audit log still names the same identity: its events hash ids, and their actor is the id.
    submitted = await audit_events(api, "label.submit", project)
    assert [event["actor"]["username"] for event in submitted] == [name]
    async with api.runtime.sessions() as session:
        actors = set(await session.scalars(select(AuditEvent.actor_id).where(AuditEvent.action == "label.submit")))
    assert actors == {ann1}


async def test_the_account_can_no_longer_sign_in_nor_use_its_tokens(api: Api) -> None:
    token = api.token("ann1")
    assert await viewer(api, token) == 200
    signed_in = await api.client.post(
        "/auth/token", data={"grant_type": "password", "username": "ann1", "password": PASSWORD}
    )
    refresh_token = signed_in.json()["refresh_token"]

    await erase_user(api, "ann1", as_="admin")

    assert await viewer(api, token) == 401
    for username in ("ann1", pseudonym(api.world.id("ann1"))):
        again = await api.client.post(
            "/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
        )
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"
    refreshed = await api.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )
    assert refreshed.status_code == 400


async def test_erasing_is_audited_and_refused_twice_or_for_oneself(api: Api) -> None:
    await erase_user(api, "ann1")

    [event] = await audit_events(api, "user.erase")
    assert event["entityId"] == str(api.world.id("ann1"))
    again = await erase_user(api, "ann1")
    assert codes(again) == [("ALREADY_ERASED", "userId")]
    before = await database_state(api)
    assert codes(await erase_user(api, "compliance")) == [("SELF_ERASURE", "userId")]
    assert codes(await erase_user(api, "ann2", reason=" ")) == [("REQUIRED", "reason")]
    assert await database_state(api) == before


async def test_a_manager_reads_people_but_may_not_erase_them(api: Api) -> None:
    body = await api.gql(ERASE_USER, {"input": {"userId": gid("User", api.world.id("ann1")), "reason": "x"}}, as_="pm")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_erasure_takes_the_email_and_what_admins_wrote_about_the_person(api: Api) -> None:
    from sqlalchemy import update

    from app.auth.models import AccountChange, User

    ann1 = gid("User", api.world.id("ann1"))
    async with api.runtime.sessions() as session:
        await session.execute(update(User).where(User.username == "ann1").values(email="ann1@example.org"))
        await session.commit()
    deactivate = """
    mutation D($input: AccountReasonInput!) { deactivateUser(input: $input) { errors { code } } }
    """
    reason = "Dismissed after the incident at the Berlin office."
    assert (await api.data(deactivate, {"input": {"userId": ann1, "reason": reason}}, as_="admin"))["deactivateUser"][
        "errors"
    ] == []

    assert (await erase_user(api, "ann1"))["errors"] == []

    async with api.runtime.sessions() as session:
        user = await session.get(User, api.world.id("ann1"))
        reasons = list(await session.scalars(select(AccountChange.reason)))
    assert user is not None
    assert user.email is None
    assert user.tokens_valid_after is not None
    assert reasons == ["[erased]"]
