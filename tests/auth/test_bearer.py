"""Bearer tokens on /graphql: every bad credential is the same 401, a valid one gets through.

Bad tokens are forged the ways an attacker would: expired, tampered, signed with another key,
`alg: none`, meant for another issuer or audience, missing claims, or naming an identity that
is unknown or deactivated. GraphiQL's HTML page needs no token.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey
from sqlalchemy import update

from app.auth.models import User
from app.auth.tokens import TokenService
from app.db import unit_of_work
from tests.conftest import SECRET_KEY, Api

VIEWER = "{ viewer { username } }"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def claims_for(api: Api, username: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": api.runtime.settings.issuer,
        "aud": api.runtime.settings.audience,
        "sub": str(api.world.id(username)),
        "client_id": "tests",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def signed(api: Api, claims: dict[str, Any], *, typ: str = "at+jwt") -> str:
    """Claims signed with the server's own current key (what only the server can do)."""
    current = api.runtime.tokens.keys.ring.current if api.runtime.tokens.keys else None
    assert current is not None
    return jwt.encode({"alg": "ES256", "typ": typ, "kid": current.kid}, claims, current, algorithms=["ES256"])


def service(
    api: Api, *, issuer: str | None = None, audience: str | None = None, lifetime_s: int | None = None
) -> TokenService:
    """A token service with the server's keys but other settings."""
    settings = api.runtime.settings
    return TokenService(
        issuer or settings.issuer,
        audience or settings.audience,
        settings.token_lifetime_s if lifetime_s is None else lifetime_s,
        keys=api.runtime.tokens.keys,
    )


def expired(api: Api) -> str:
    # Well past the verifier's leeway.
    return service(api, lifetime_s=-3600).issue(api.world.id("ann1"), "tests")


def other_key(api: Api) -> str:
    """Signed with an EC key of our own making, under the server's kid: the signature fails."""
    current = api.runtime.tokens.keys.ring.current if api.runtime.tokens.keys else None
    assert current is not None
    mine = ECKey.generate_key("P-256")
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": current.kid}, claims_for(api, "ann1"), mine)


def unknown_kid(api: Api) -> str:
    mine = ECKey.generate_key("P-256", auto_kid=True)
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": mine.kid}, claims_for(api, "ann1"), mine)


def hs256_with_the_secret(api: Api) -> str:
    """Algorithm confusion: an HS256 token keyed with the server's secret key, or with its public key."""
    return jwt.encode(
        {"alg": "HS256", "typ": "at+jwt"}, claims_for(api, "ann1"), OctKey.import_key(SECRET_KEY.encode())
    )


def hs256_with_the_public_key(api: Api) -> str:
    current = api.runtime.tokens.keys.ring.current if api.runtime.tokens.keys else None
    assert current is not None
    public = json.dumps(current.as_dict(private=False)).encode()
    return jwt.encode(
        {"alg": "HS256", "typ": "at+jwt", "kid": current.kid}, claims_for(api, "ann1"), OctKey.import_key(public)
    )


def tampered(api: Api) -> str:
    # ann1's genuine token, with the subject swapped for the admin's.
    header, _payload, signature = api.token("ann1").split(".")
    return ".".join([header, b64(claims_for(api, "admin")), signature])


def alg_none(api: Api) -> str:
    return ".".join([b64({"alg": "none", "typ": "at+jwt"}), b64(claims_for(api, "admin")), ""])


BAD_TOKENS: dict[str, Callable[[Api], str]] = {
    "expired": expired,
    "tampered payload": tampered,
    "other key": other_key,
    "unknown kid": unknown_kid,
    "HS256 keyed with the secret key": hs256_with_the_secret,
    "HS256 keyed with the public key": hs256_with_the_public_key,
    "alg none": alg_none,
    "wrong audience": lambda api: service(api, audience="someone-else").issue(api.world.id("ann1"), "tests"),
    "wrong issuer": lambda api: service(api, issuer="https://evil.example").issue(api.world.id("ann1"), "tests"),
    "no expiry": lambda api: signed(api, claims_for(api, "ann1", exp=None)),
    "no token id": lambda api: signed(api, claims_for(api, "ann1", jti=None)),
    "not an access token": lambda api: signed(api, claims_for(api, "ann1"), typ="JWT"),
    "unknown subject": lambda api: service(api).issue(uuid.uuid4(), "tests"),
    "not a jwt": lambda api: "not-a-jwt",
}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def post_graphql(api: Api, headers: dict[str, str]) -> httpx.Response:
    return await api.client.post("/graphql", json={"query": VIEWER}, headers=headers)


async def test_a_valid_token_gets_through(api: Api) -> None:
    response = await post_graphql(api, {"Authorization": f"Bearer {api.token('ann1')}"})

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"username": "ann1"}}}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {"Authorization": "Basic YW5uMTpwdw=="}],
    ids=["no header", "empty bearer", "blank bearer", "basic scheme"],
)
async def test_requests_without_a_bearer_token_are_refused(api: Api, headers: dict[str, str]) -> None:
    assert_unauthenticated(await post_graphql(api, headers))


@pytest.mark.parametrize("forge", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_forged_or_stale_tokens_are_refused_alike(api: Api, forge: Callable[[Api], str]) -> None:
    response = await post_graphql(api, {"Authorization": f"Bearer {forge(api)}"})

    assert_unauthenticated(response)
    # One answer for every failure: nothing tells which check a forgery tripped.
    no_token = await post_graphql(api, {})
    assert response.json() == no_token.json()


async def test_token_of_a_deactivated_user_is_refused(api: Api) -> None:
    # ann2 has not called the API in this app yet, so no cached identity hides the change.
    token = api.token("ann2")
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(User).where(User.username == "ann2").values(is_active=False))

    assert_unauthenticated(await post_graphql(api, {"Authorization": f"Bearer {token}"}))


async def test_token_of_a_deleted_user_is_refused(api: Api) -> None:
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        gone = User(username="short-lived", secret_hash="unused")
        session.add(gone)
    token = service(api).issue(gone.id, "tests")
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.delete(await session.get(User, gone.id))

    assert_unauthenticated(await post_graphql(api, {"Authorization": f"Bearer {token}"}))


async def test_graphiql_page_needs_no_token(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_get_for_data_still_needs_a_token(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": VIEWER}, headers={"Accept": "application/json"})

    assert_unauthenticated(response)


async def test_asking_for_html_does_not_smuggle_a_query_past_the_gate(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": VIEWER}, headers={"Accept": "text/html"})

    assert_unauthenticated(response)
