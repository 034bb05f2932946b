"""Keys others can verify, on both databases: access tokens are ES256 with a `kid`, the public keys
are served at /.well-known/jwks.json and a generic JOSE library (PyJWT, not our joserfc) verifies
an issued token with nothing else; `labelgraph keys rotate` makes a new key current while the
previous one keeps verifying until its tokens have expired; private keys are sealed at rest; HS256
remains only as a development mode, refused in production."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from sqlalchemy import update
from sqlmodel import col
from typer.testing import CliRunner

from app.auth.keys import KeyRing
from app.auth.models import SigningKey
from app.auth.tokens import TokenService
from app.cli import cli
from app.clock import utcnow
from app.runtime import Runtime
from app.settings import Settings
from tests.conftest import SECRET_KEY, Api
from tests.erasure.support import where_marker
from tests.workflow.flow import audit_events

VIEWER = "{ viewer { username } }"
CHEAP = {"LABELGRAPH_ARGON2_TIME_COST": "1", "LABELGRAPH_ARGON2_MEMORY_KIB": "64"}


async def jwks(api: Api) -> dict[str, Any]:
    response = await api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    found: dict[str, Any] = response.json()
    return found


async def viewer(api: Api, token: str) -> int:
    response = await api.client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def kid_of(token: str) -> str:
    return str(pyjwt.get_unverified_header(token)["kid"])


def run_cli(api: Api, *args: str) -> Any:
    env = {**CHEAP, "LABELGRAPH_DATABASE_URL": api.runtime.settings.database_url, "LABELGRAPH_SECRET_KEY": SECRET_KEY}
    return CliRunner().invoke(cli, ["keys", *args], env=env)


async def test_a_generic_jose_library_verifies_a_token_with_the_published_keys_alone(api: Api) -> None:
    token = api.token("ann1")
    published = await jwks(api)

    [key] = published["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "alg", "use"}  # no private part ("d")
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert kid_of(token) == key["kid"]
    verifier = pyjwt.PyJWKSet.from_dict(published)[key["kid"]]
    settings = api.runtime.settings
    claims = pyjwt.decode(token, verifier, algorithms=["ES256"], audience=settings.audience, issuer=settings.issuer)
    assert claims["sub"] == str(api.world.id("ann1"))
    # The same library refuses a token changed after signing.
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])
    with pytest.raises(pyjwt.InvalidTokenError):
        pyjwt.decode(forged, verifier, algorithms=["ES256"], audience=settings.audience, issuer=settings.issuer)


async def test_rotation_keeps_the_previous_key_valid_until_its_tokens_expire(api: Api) -> None:
    keys = api.runtime.tokens.keys
    assert keys is not None
    before = api.token("ann1")
    old_kid = kid_of(before)

    rotated = await asyncio.to_thread(run_cli, api, "rotate")

    assert rotated.exit_code == 0, rotated.output
    [current_line, retired_line] = rotated.stdout.strip().splitlines()
    new_kid = current_line.removeprefix("current key ")
    assert retired_line.startswith(f"retired {old_kid}: verifies until ")
    # A running server signs with what it last read until its next reload (within a minute) ...
    assert kid_of(api.token("ann1")) == old_kid
    await keys.reload()
    after = api.token("ann1")
    assert kid_of(after) == new_kid
    # ... and both the old token and the new one work; both keys are published.
    assert (await viewer(api, before), await viewer(api, after)) == (200, 200)
    assert {k["kid"] for k in (await jwks(api))["keys"]} == {old_kid, new_kid}
    # Both audited, by the system: the first key (the server's first start) and the rotation.
    events = await audit_events(api, "signing_key.rotate")
    assert {e["actor"] is None for e in events} == {True}
    assert sorted((e["details"]["kid"], tuple(e["details"]["retired"])) for e in events) == sorted(
        [(old_kid, ()), (new_kid, (old_kid,))]
    )
    listed = await asyncio.to_thread(run_cli, api, "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [new_kid, old_kid]
    assert "current" in listed.stdout.splitlines()[0]
    assert "retired, verifies until" in listed.stdout.splitlines()[1]

    # Once the old key's last token has expired, it is gone: unpublished, and refused.
    async with api.runtime.sessions() as session:
        await session.execute(
            update(SigningKey)
            .where(col(SigningKey.kid) == old_kid)
            .values(published_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    await keys.reload()
    assert [k["kid"] for k in (await jwks(api))["keys"]] == [new_kid]
    assert await viewer(api, before) == 401
    assert await viewer(api, after) == 200


async def test_a_token_signed_with_a_key_this_process_has_not_read_yet_is_accepted(api: Api) -> None:
    """Another process rotated and signs with the new key: this one looks the kid up at once."""
    rotated = await asyncio.to_thread(run_cli, api, "rotate")
    assert rotated.exit_code == 0, rotated.output
    settings = api.runtime.settings
    other = KeyRing(api.runtime.sessions, SECRET_KEY, settings.token_lifetime_s)
    await other.reload()
    elsewhere = TokenService(settings.issuer, settings.audience, settings.token_lifetime_s, keys=other)
    token = elsewhere.issue(api.world.id("ann1"), "tests")
    assert api.runtime.tokens.keys is not None
    assert not api.runtime.tokens.keys.ring.knows(kid_of(token))

    assert await viewer(api, token) == 200


async def test_private_keys_are_sealed_at_rest(api: Api) -> None:
    keys = api.runtime.tokens.keys
    assert keys is not None
    assert keys.ring.current is not None
    private = keys.ring.current.as_dict(private=True)

    assert await where_marker(api, str(private["d"])) == {}
    # Another secret key cannot open them: a server with the wrong secret says so and does not start.
    with pytest.raises(RuntimeError, match="sealed under another LABELGRAPH_SECRET_KEY"):
        await Runtime.start(dataclasses.replace(api.runtime.settings, secret_key="another-secret-" + "x" * 40))


async def test_the_hs256_development_mode_publishes_nothing_and_production_refuses_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = await Runtime.start(dataclasses.replace(api.runtime.settings, token_algorithm="HS256"))
    try:
        token = runtime.tokens.issue(api.world.id("ann1"), "tests")
        assert pyjwt.get_unverified_header(token) == {"alg": "HS256", "typ": "at+jwt"}
        assert runtime.tokens.verify(token).subject == api.world.id("ann1")
        # The ES256 server does not take it.
        assert await viewer(api, token) == 401
    finally:
        await runtime.stop()

    monkeypatch.setenv("LABELGRAPH_PRODUCTION", "1")
    monkeypatch.setenv("LABELGRAPH_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LABELGRAPH_TOKEN_ALGORITHM", "HS256")
    with pytest.raises(RuntimeError, match="production signs ES256"):
        Settings.from_env()
    monkeypatch.setenv("LABELGRAPH_TOKEN_ALGORITHM", "RS1")
    with pytest.raises(RuntimeError, match="is not ES256 or HS256"):
        Settings.from_env()
