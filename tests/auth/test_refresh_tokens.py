"""Refresh tokens (RFC 6749 section 6): rotation, reuse detection, expiry, inactive users, sign-out.

A person signs in once with the password grant and stays signed in by exchanging the refresh
token for a new pair; each refresh token is good for one exchange. Presenting a used one again
ends the whole sign-in (its family), also for whoever holds the newest token. revokeToken and
POST /auth/revoke (RFC 7009) sign out; nobody can end anyone else's sign-in.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from app.auth.models import RefreshToken, User
from app.clock import utcnow
from app.compliance.models import AuditEvent
from app.db import unit_of_work
from tests.conftest import PASSWORD, Api

DEAD = {"error": "invalid_grant", "error_description": "The refresh token is invalid, expired or revoked."}
SIGN_OUT = """
mutation SignOut($input: RevokeTokenInput!) {
  revokeToken(input: $input) { revokedCount errors { code field message } }
}
"""


async def sign_in(api: Api, username: str = "ann1") -> dict[str, Any]:
    response = await api.client.post(
        "/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(api: Api, token: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return await api.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}, headers=headers
    )


async def viewer(api: Api, access_token: str) -> httpx.Response:
    return await api.client.post(
        "/graphql", json={"query": "{ viewer { username } }"}, headers={"Authorization": f"Bearer {access_token}"}
    )


async def actions(api: Api) -> list[str]:
    async with api.runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.startswith("auth.")).order_by(AuditEvent.id)  # type: ignore[union-attr]
        )
        return list(rows)


async def test_a_refresh_token_buys_a_new_pair_once(api: Api) -> None:
    first = await sign_in(api)

    response = await refresh(api, first["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    answer = await viewer(api, second["access_token"])
    assert answer.json() == {"data": {"viewer": {"username": "ann1"}}}
    # The successor works in turn; the token just used is spent.
    assert (await refresh(api, second["refresh_token"])).status_code == 200
    assert await actions(api) == [
        "auth.token.issue",
        "auth.refresh.issue",
        "auth.refresh.rotate",
        "auth.refresh.rotate",
    ]


async def test_reusing_a_spent_token_ends_the_whole_sign_in(api: Api) -> None:
    first = await sign_in(api)
    stolen = first["refresh_token"]
    current = (await refresh(api, stolen)).json()["refresh_token"]  # the owner rotates; a copy remains

    replay = await refresh(api, stolen)

    assert replay.status_code == 400
    assert replay.json() == DEAD
    # The owner's newest token died with the family: whoever holds it must sign in again.
    later = await refresh(api, current)
    assert later.status_code == 400
    assert later.json() == DEAD
    assert (await actions(api))[-1] == "auth.refresh.reuse"
    # Another sign-in of the same person is a family of its own, untouched.
    other = await sign_in(api)
    assert (await refresh(api, other["refresh_token"])).status_code == 200


async def test_two_exchanges_of_one_token_at_once_get_one_pair(api: Api) -> None:
    token = (await sign_in(api))["refresh_token"]

    answers = await asyncio.gather(refresh(api, token), refresh(api, token))

    assert sorted(r.status_code for r in answers) == [200, 400]
    # The second use is a reuse: the pair the first one got is revoked too.
    winner = next(r for r in answers if r.status_code == 200).json()
    assert (await refresh(api, winner["refresh_token"])).json() == DEAD


async def test_only_a_hash_of_the_token_is_stored(api: Api) -> None:
    token = (await sign_in(api, "pm"))["refresh_token"]

    async with api.runtime.sessions() as session:
        row = (await session.scalars(select(RefreshToken))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row.model_dump())
    assert row.user_id == api.world.id("pm")
    assert row.expires_at - row.issued_at == timedelta(seconds=api.runtime.settings.refresh_token_lifetime_s)


async def test_dead_tokens_are_refused_alike(api: Api) -> None:
    expired = (await sign_in(api, "ann1"))["refresh_token"]
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    revoked = (await sign_in(api, "ann2"))["refresh_token"]
    signed_out = await api.data(SIGN_OUT, {"input": {"refreshToken": revoked}}, as_="ann2")
    assert signed_out["revokeToken"] == {"revokedCount": 1, "errors": []}
    access_token = (await sign_in(api, "ann3"))["access_token"]

    for token in (expired, revoked, "not-a-token", "x" * 1000, access_token):
        response = await refresh(api, token)
        assert (response.status_code, response.json()) == (400, DEAD), token


async def test_an_inactive_person_cannot_refresh_and_stays_signed_out(api: Api) -> None:
    token = (await sign_in(api, "reviewer"))["refresh_token"]
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(User).where(User.username == "reviewer").values(is_active=False))

    assert (await refresh(api, token)).json() == DEAD

    # Reactivation does not bring the old sign-in back.
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(User).where(User.username == "reviewer").values(is_active=True))
    assert (await refresh(api, token)).json() == DEAD


async def test_a_stale_access_token_does_not_block_the_refresh(api: Api) -> None:
    # Clients often attach their (now expired) bearer token to every call, the refresh included.
    token = (await sign_in(api))["refresh_token"]

    response = await refresh(api, token, headers={"Authorization": "Bearer expired-or-garbage"})

    assert response.status_code == 200, response.text


async def test_revoke_token_signs_out_of_one_sign_in(api: Api) -> None:
    here, there = await sign_in(api), await sign_in(api)
    rotated = (await refresh(api, here["refresh_token"])).json()["refresh_token"]

    # Any token of the sign-in names it, even one already exchanged.
    data = await api.data(SIGN_OUT, {"input": {"refreshToken": here["refresh_token"]}}, as_="ann1")

    assert data["revokeToken"] == {"revokedCount": 1, "errors": []}
    assert (await actions(api))[-1] == "auth.refresh.revoke"
    assert (await refresh(api, rotated)).json() == DEAD
    assert (await refresh(api, there["refresh_token"])).status_code == 200


async def test_revoke_token_all_signs_out_everywhere(api: Api) -> None:
    sessions = [await sign_in(api) for _ in range(3)]
    others = await sign_in(api, "ann2")

    data = await api.data(SIGN_OUT, {"input": {"all": True}}, as_="ann1")

    assert data["revokeToken"] == {"revokedCount": 3, "errors": []}
    for signed_in in sessions:
        assert (await refresh(api, signed_in["refresh_token"])).json() == DEAD
    assert (await refresh(api, others["refresh_token"])).status_code == 200


async def test_nobody_revokes_anyone_elses_sign_in(api: Api) -> None:
    victim = await sign_in(api, "ann2")
    events = await actions(api)

    data = await api.data(SIGN_OUT, {"input": {"refreshToken": victim["refresh_token"]}}, as_="admin")
    unknown = await api.data(SIGN_OUT, {"input": {"refreshToken": "no-such-token"}}, as_="admin")

    # Someone else's token looks exactly like one that does not exist, and nothing is written.
    error = {"code": "NOT_FOUND", "field": "refreshToken", "message": "No such refresh token."}
    assert data["revokeToken"] == {"revokedCount": 0, "errors": [error]}
    assert unknown["revokeToken"] == data["revokeToken"]
    assert await actions(api) == events
    assert (await refresh(api, victim["refresh_token"])).status_code == 200


async def test_revoke_token_needs_a_token_or_all(api: Api) -> None:
    data = await api.data(SIGN_OUT, {"input": {}}, as_="ann1")

    assert [e["code"] for e in data["revokeToken"]["errors"]] == ["NOTHING_TO_REVOKE"]


async def test_rfc7009_revocation_with_the_token_alone(api: Api) -> None:
    token = (await sign_in(api))["refresh_token"]

    response = await api.client.post("/auth/revoke", data={"token": token, "token_type_hint": "refresh_token"})

    assert response.status_code == 200
    assert response.content == b""
    assert (await refresh(api, token)).json() == DEAD
    # Revoking again, or a token that is none of ours, is the same 200 (RFC 7009 section 2.2).
    assert (await api.client.post("/auth/revoke", data={"token": token})).status_code == 200
    assert (await api.client.post("/auth/revoke", data={"token": "made-up"})).status_code == 200


async def test_rfc7009_with_a_bearer_token_only_revokes_the_callers_own(api: Api) -> None:
    victim = (await sign_in(api, "ann2"))["refresh_token"]

    response = await api.client.post(
        "/auth/revoke", data={"token": victim}, headers={"Authorization": f"Bearer {api.token('admin')}"}
    )

    assert response.status_code == 200
    assert (await refresh(api, victim)).status_code == 200


async def test_rfc7009_refuses_what_it_cannot_revoke(api: Api) -> None:
    access_token = (await sign_in(api))["access_token"]

    unsupported = await api.client.post("/auth/revoke", data={"token": access_token})
    missing = await api.client.post("/auth/revoke", data={"token_type_hint": "refresh_token"})
    as_json = await api.client.post("/auth/revoke", json={"token": access_token})

    assert (unsupported.status_code, unsupported.json()["error"]) == (400, "unsupported_token_type")
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    # The access token was not affected: it expires on its own.
    assert (await viewer(api, access_token)).status_code == 200
