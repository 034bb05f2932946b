"""POST /auth/token: the password grant for people, client_credentials for service accounts.

Covers the success shape (RFC 6749 section 5.1, JWT claims of RFC 9068), identical answers for
every failed sign-in (no user enumeration), and RFC 6749 errors for malformed requests.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.auth.models import User
from app.db import unit_of_work
from tests.conftest import PASSWORD, Api


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWT, decoded without checking the signature."""

    def part(segment: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded

    header, payload, _signature = token.split(".")
    return part(header), part(payload)


async def sign_in(api: Api, **form: str) -> httpx.Response:
    return await api.client.post("/auth/token", data=form)


async def viewer_name(api: Api, token: str) -> str:
    response = await api.client.post(
        "/graphql", json={"query": "{ viewer { username } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    name: str = response.json()["data"]["viewer"]["username"]
    return name


async def test_password_grant_issues_a_bearer_jwt_that_is_never_cached(api: Api) -> None:
    response = await sign_in(api, grant_type="password", username="ann1", password=PASSWORD)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api.runtime.settings.token_lifetime_s

    header, claims = jwt_parts(body["access_token"])
    current = api.runtime.tokens.keys.ring.current if api.runtime.tokens.keys else None
    assert current is not None
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": current.kid}
    assert {"iss", "aud", "sub", "iat", "exp", "jti"} <= set(claims)
    assert claims["iss"] == api.runtime.settings.issuer
    assert claims["aud"] == api.runtime.settings.audience
    assert claims["sub"] == str(api.world.id("ann1"))
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert await viewer_name(api, body["access_token"]) == "ann1"


async def test_every_token_has_its_own_id(api: Api) -> None:
    first = await sign_in(api, grant_type="password", username="pm", password=PASSWORD)
    second = await sign_in(api, grant_type="password", username="pm", password=PASSWORD)
    assert jwt_parts(first.json()["access_token"])[1]["jti"] != jwt_parts(second.json()["access_token"])[1]["jti"]


async def test_failed_sign_ins_are_indistinguishable(api: Api) -> None:
    # A deactivated person must not learn, nor let anyone learn, that the account exists.
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        await session.execute(update(User).where(User.username == "ann3").values(is_active=False))

    attempts = {
        "wrong password": {"username": "ann1", "password": "not-the-password"},
        "unknown user": {"username": "nobody-here", "password": PASSWORD},
        "service account": {"username": "mlbot", "password": PASSWORD},
        "deactivated": {"username": "ann3", "password": PASSWORD},
    }
    answers = {}
    for name, form in attempts.items():
        response = await sign_in(api, grant_type="password", **form)
        assert response.headers["cache-control"] == "no-store"
        answers[name] = (response.status_code, response.json())

    assert len(set(map(repr, answers.values()))) == 1, answers
    status, body = answers["unknown user"]
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert "access_token" not in body


async def test_service_account_signs_in_with_client_credentials_in_the_form(api: Api) -> None:
    response = await sign_in(api, grant_type="client_credentials", client_id="mlbot", client_secret=PASSWORD)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    # RFC 6749 section 4.4.3: no refresh token; a service account asks again with its secret.
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    token = response.json()["access_token"]
    claims = jwt_parts(token)[1]
    assert claims["sub"] == str(api.world.id("mlbot"))
    assert claims["client_id"] == "mlbot"
    assert await viewer_name(api, token) == "mlbot"


async def test_service_account_signs_in_with_http_basic(api: Api) -> None:
    response = await api.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=httpx.BasicAuth("mlbot", PASSWORD)
    )

    assert response.status_code == 200, response.text
    assert await viewer_name(api, response.json()["access_token"]) == "mlbot"


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("ann1", PASSWORD), ("mlbot", "not-the-secret"), ("no-such-client", PASSWORD)],
    ids=["person", "wrong secret", "unknown client"],
)
async def test_client_credentials_refuse_people_and_bad_secrets_alike(api: Api, client_id: str, secret: str) -> None:
    response = await sign_in(api, grant_type="client_credentials", client_id=client_id, client_secret=secret)

    # RFC 6749 section 5.2: a failed client authentication is a 401 with a challenge.
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}


async def test_a_garbled_basic_header_is_a_failed_client_authentication(api: Api) -> None:
    response = await api.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic not-base64!"},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "authorization_code", "code": "abc"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "password", "username": "ann1"}, "invalid_request"),
        ({"grant_type": "password", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "mlbot"}, "invalid_request"),
        ({"username": "ann1", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "password", "username": "ann1", "password": "x" * 5000}, "invalid_request"),
    ],
    ids=[
        "unsupported grant",
        "no refresh token",
        "no password",
        "no username",
        "no client secret",
        "no grant_type",
        "huge password",
    ],
)
async def test_malformed_requests_get_rfc6749_errors(api: Api, form: dict[str, str], error: str) -> None:
    response = await sign_in(api, **form)

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body


async def test_json_body_is_refused_with_a_hint(api: Api) -> None:
    response = await api.client.post(
        "/auth/token", json={"grant_type": "password", "username": "ann1", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.json()["error_description"]


@pytest.mark.parametrize(
    "content",
    [b"%ff%fe=%00", b"grant_type=password&" * 50, b"\xff\xfe\x00garbage"],
    ids=["bad percent-encoding", "too many fields", "raw bytes"],
)
async def test_garbled_form_bodies_never_crash_the_endpoint(api: Api, content: bytes) -> None:
    response = await api.client.post(
        "/auth/token", content=content, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] in {"invalid_request", "unsupported_grant_type"}
