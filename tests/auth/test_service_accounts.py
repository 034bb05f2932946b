"""Service accounts through the API: the secret shown once, rotation with a grace period in which
both secrets work (time moved in the row, not slept), and revocation for good."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlmodel import col

from app.access.models import AccessEvent
from app.auth.models import User
from app.clock import utcnow
from app.compliance.models import AuditEvent
from tests.auth.support import (
    CREATE_SERVICE_ACCOUNT,
    REACTIVATE,
    REVOKE_SERVICE_ACCOUNT,
    ROTATE,
    codes,
    with_token,
)
from tests.conftest import Api, gid
from tests.security import assert_forbidden


async def client_credentials(api: Api, client_id: str, secret: str) -> httpx.Response:
    return await api.client.post(
        "/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


async def create(api: Api, name: str = "pipeline") -> dict[str, str]:
    created = (await api.data(CREATE_SERVICE_ACCOUNT, {"input": {"username": name}}, as_="admin"))[
        "createServiceAccount"
    ]
    assert created["errors"] == [], created
    assert created["serviceAccount"]["kind"] == "SERVICE"
    assert created["clientId"] == name
    return {"id": created["serviceAccount"]["id"], "secret": created["clientSecret"]}


async def rotate(api: Api, account: str, grace: int) -> dict[str, object]:
    payload: dict[str, object] = (
        await api.data(ROTATE, {"input": {"serviceAccountId": account, "graceSeconds": grace}}, as_="admin")
    )["rotateClientSecret"]
    return payload


async def end_grace(api: Api, name: str) -> None:
    async with api.runtime.sessions() as session:
        await session.execute(
            update(User)
            .where(col(User.username) == name)
            .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()


async def test_the_secret_is_shown_once_and_stored_as_an_argon2_hash(api: Api) -> None:
    account = await create(api)
    assert (await client_credentials(api, "pipeline", account["secret"])).status_code == 200
    async with api.runtime.sessions() as session:
        stored = await session.scalar(select(User.secret_hash).where(col(User.username) == "pipeline"))
        audit = [repr((e.details, e.input_digest)) for e in await session.scalars(select(AuditEvent))]
    assert stored is not None
    assert stored.startswith("$argon2id$")
    await api.runtime.access.flush()
    async with api.runtime.sessions() as session:
        history = [repr(e.details) for e in await session.scalars(select(AccessEvent))]
    assert not any(account["secret"] in text for text in audit + history)
    taken = await api.data(CREATE_SERVICE_ACCOUNT, {"input": {"username": "pipeline"}}, as_="admin")
    assert codes(taken["createServiceAccount"]) == ["USERNAME_TAKEN"]
    assert_forbidden(await api.gql(CREATE_SERVICE_ACCOUNT, {"input": {"username": "mine"}}, as_="pm"))


async def test_rotation_keeps_the_old_secret_for_the_grace_only(api: Api) -> None:
    account = await create(api)
    rotated = await rotate(api, account["id"], 3600)
    assert rotated["errors"] == []
    new = rotated["clientSecret"]
    assert isinstance(new, str)
    assert new != account["secret"]
    assert rotated["previousSecretValidUntil"]

    # Inside the grace both work: the pipeline switches whenever it likes.
    assert (await client_credentials(api, "pipeline", account["secret"])).status_code == 200
    assert (await client_credentials(api, "pipeline", new)).status_code == 200

    await end_grace(api, "pipeline")
    old = await client_credentials(api, "pipeline", account["secret"])
    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    assert (await client_credentials(api, "pipeline", new)).status_code == 200


async def test_two_secrets_at_most_and_no_grace_means_none(api: Api) -> None:
    account = await create(api)
    second = await rotate(api, account["id"], 3600)
    third = await rotate(api, account["id"], 0)
    assert third["previousSecretValidUntil"] is None
    assert (await client_credentials(api, "pipeline", account["secret"])).status_code == 401
    assert (await client_credentials(api, "pipeline", str(second["clientSecret"]))).status_code == 401
    assert (await client_credentials(api, "pipeline", str(third["clientSecret"]))).status_code == 200
    too_long = await rotate(api, account["id"], 8 * 24 * 3600)
    assert codes(too_long) == ["OUT_OF_RANGE"]  # type: ignore[arg-type]


async def test_revocation_is_for_good_and_cuts_off_its_tokens(api: Api) -> None:
    account = await create(api)
    await rotate(api, account["id"], 3600)
    token = (await client_credentials(api, "pipeline", account["secret"])).json()["access_token"]
    assert (await with_token(api, token)).status_code == 200

    variables = {"input": {"serviceAccountId": account["id"], "reason": "Pipeline retired."}}
    revoked = (await api.data(REVOKE_SERVICE_ACCOUNT, variables, as_="admin"))["revokeServiceAccount"]
    assert revoked == {"serviceAccount": {"id": account["id"], "status": "REVOKED"}, "errors": []}
    assert (await with_token(api, token)).status_code == 401
    assert (await client_credentials(api, "pipeline", account["secret"])).status_code == 401

    again = (await api.data(REVOKE_SERVICE_ACCOUNT, variables, as_="admin"))["revokeServiceAccount"]
    assert codes(again) == ["ALREADY_REVOKED"]
    assert codes(await rotate(api, account["id"], 0)) == ["ALREADY_REVOKED"]  # type: ignore[arg-type]
    back = await api.data(REACTIVATE, {"input": {"userId": account["id"], "reason": "Oops."}}, as_="admin")
    assert codes(back["reactivateUser"]) == ["WRONG_IDENTITY_KIND"]


async def test_people_are_not_service_accounts(api: Api) -> None:
    person = gid("User", api.world.id("ann1"))
    assert codes(await rotate(api, person, 0)) == ["WRONG_IDENTITY_KIND"]  # type: ignore[arg-type]
    variables = {"input": {"serviceAccountId": person, "reason": "No."}}
    body = await api.data(REVOKE_SERVICE_ACCOUNT, variables, as_="admin")
    assert codes(body["revokeServiceAccount"]) == ["WRONG_IDENTITY_KIND"]
    # Someone who cannot read users finds no service account either.
    bot = gid("User", api.world.id("mlbot"))
    hidden = await api.data(ROTATE, {"input": {"serviceAccountId": bot, "graceSeconds": 0}}, as_="ann1")
    assert codes(hidden["rotateClientSecret"]) == ["NOT_FOUND"]
    assert_forbidden(await api.gql(ROTATE, {"input": {"serviceAccountId": bot, "graceSeconds": 0}}, as_="pm"))
