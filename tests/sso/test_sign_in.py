"""OpenID Connect sign-in end to end against the in-suite provider, on both databases: the browser's
hops are made by hand (our /login -> the provider's /authorize -> our /callback)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlmodel import col, func, select

from app.access.models import AccessEvent, Channel, Outcome
from app.auth.models import RefreshToken, User
from app.compliance.models import AuditEvent
from app.policies.models import CasbinRule
from app.policies.roles import user_subject
from app.sso.models import ExternalIdentity, IdentityProvider, OidcLogin
from tests.auth.support import DEACTIVATE
from tests.conftest import PASSWORD, Api, gid
from tests.sso.provider import CLIENT_ID, CLIENT_SECRET, Provider

CONFIGURE = """
mutation Configure($input: ConfigureIdentityProviderInput!) {
  configureIdentityProvider(input: $input) {
    created
    provider { id name issuer clientId scopes allowedEmailDomains enabled loginPath
               roleMappings { claim value role projectId } }
    errors { code field message }
  }
}
"""
VIEWER = "query { viewer { username roles { role projectId } } }"
PERSON = {
    "sub": "okta|1001",
    "email": "Dana@Example.com",
    "email_verified": True,
    "name": "Dana",
    "groups": ["labelers"],
}


async def configure(api: Api, provider: Provider, role: str = "ANNOTATOR", **changes: Any) -> dict[str, Any]:
    fields = {
        "name": "acme",
        "issuer": provider.issuer,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "allowedEmailDomains": ["example.com"],
        "roleMappings": [
            {"claim": "groups", "value": "labelers", "role": role, "projectId": gid("Project", api.world.project_a)}
        ],
        **changes,
    }
    data = await api.data(CONFIGURE, {"input": fields}, as_="admin")
    result: dict[str, Any] = data["configureIdentityProvider"]
    return result


async def start(api: Api, name: str = "acme") -> str:
    """Our /login: the provider's authorization URL, as the browser is sent there."""
    response = await api.client.get(f"/auth/oidc/{name}/login")
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def at_provider(location: str) -> str:
    """The browser at the provider, which signs in its person and sends it back: our callback URL."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(location)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["location"])
    return f"{back.path}?{back.query}"


async def sign_in(api: Api, name: str = "acme") -> httpx.Response:
    return await api.client.get(await at_provider(await start(api, name)))


async def viewer(api: Api, access_token: str) -> dict[str, Any]:
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]["viewer"]
    return data


async def count(api: Api, stmt: Any) -> int:
    async with api.runtime.sessions() as session:
        return int(await session.scalar(stmt) or 0)


def actions(action: str) -> Any:
    return select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == action)


async def test_the_whole_sign_in_gives_our_token_with_the_mapped_role(api: Api, provider: Provider) -> None:
    configured = await configure(api, provider)
    assert configured["errors"] == []
    assert configured["created"] is True
    assert configured["provider"]["scopes"] == ["openid", "email", "profile"]
    provider.person = dict(PERSON)

    location = await start(api)
    sent = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{provider.issuer}/authorize?")
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["client_id"] == [CLIENT_ID]
    assert sent["state"][0]
    assert sent["nonce"][0]
    assert sent["code_challenge"][0]
    assert sent["redirect_uri"] == ["http://testserver/auth/oidc/acme/callback"]
    response = await api.client.get(await at_provider(location))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"]
    me = await viewer(api, body["access_token"])
    assert me["username"] == "dana"
    assert me["roles"] == [{"role": "ANNOTATOR", "projectId": gid("Project", api.world.project_a)}]
    # The mapped role works: an annotator of A claims its task there.
    claim = await api.client.post(
        "/graphql",
        json={
            "query": "mutation C($input: ClaimNextTaskInput!) { claimNextTask(input: $input) { errors { code } } }",
            "variables": {"input": {"projectId": gid("Project", api.world.project_a)}},
        },
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert "errors" not in claim.json(), claim.text
    # Our refresh token works like a password sign-in's.
    refreshed = await api.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert await count(api, actions("sso.sign_in")) == 1


async def test_the_first_sign_in_provisions_the_person_and_the_next_reuses_it(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    first = await sign_in(api)
    second = await sign_in(api)

    assert first.status_code == second.status_code == 200
    assert (await viewer(api, first.json()["access_token"]))["username"] == "dana"
    assert (await viewer(api, second.json()["access_token"]))["username"] == "dana"
    assert await count(api, select(func.count()).select_from(User).where(col(User.email) == "dana@example.com")) == 1
    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 1
    assert await count(api, actions("sso.provision")) == 1
    assert await count(api, actions("sso.sign_in")) == 2


async def test_a_verified_email_links_the_person_who_has_it(api: Api, provider: Provider) -> None:
    async with api.runtime.sessions() as session:
        reviewer = await session.get(User, api.world.id("reviewer"))
        assert reviewer is not None
        reviewer.email = "dana@example.com"
        await session.commit()
    await configure(api, provider)
    provider.person = dict(PERSON)

    response = await sign_in(api)

    assert response.status_code == 200, response.text
    assert (await viewer(api, response.json()["access_token"]))["username"] == "reviewer"
    assert await count(api, actions("sso.provision")) == 0


async def test_an_unverified_or_foreign_email_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    for person in ({**PERSON, "email_verified": False}, {**PERSON, "email": "dana@elsewhere.org"}):
        provider.person = person
        response = await sign_in(api)
        assert response.status_code == 403
        assert response.json()["error"] == "email_not_allowed"
    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 0
    assert await count(api, actions("sso.sign_in.refuse")) == 2


async def refused(api: Api, provider: Provider) -> httpx.Response:
    provider.person = dict(PERSON)
    response = await sign_in(api)
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "invalid_id_token",
        "error_description": "The identity provider's ID token is not valid.",
    }
    assert await count(api, select(func.count()).select_from(User).where(col(User.email) == "dana@example.com")) == 0
    return response


async def test_a_tampered_id_token_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.tamper = True
    await refused(api, provider)
    # In the access history as a refused sign-in, like /auth/token's.
    await api.runtime.access.flush()
    notes = select(AccessEvent).where(col(AccessEvent.channel) == Channel.SIGN_IN)
    async with api.runtime.sessions() as session:
        events = list(await session.scalars(notes))
    assert [(e.operation, e.outcome, e.status) for e in events] == [("oidc", Outcome.UNAUTHENTICATED, 401)]


async def test_a_wrong_nonce_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.id_token_changes = {"nonce": "not-the-one-we-sent"}
    await refused(api, provider)


async def test_a_wrong_audience_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.id_token_changes = {"aud": "another-client"}
    await refused(api, provider)


async def test_several_audiences_need_us_as_the_authorized_party(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.id_token_changes = {"aud": [CLIENT_ID, "another-client"]}
    await refused(api, provider)
    provider.id_token_changes = {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}
    assert (await sign_in(api)).status_code == 200


async def test_an_expired_id_token_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.id_token_changes = {"exp": 1_000_000_000, "iat": 999_999_000}
    await refused(api, provider)


async def test_another_issuer_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.id_token_changes = {"iss": "https://evil.example"}
    await refused(api, provider)


async def test_a_state_works_once(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    callback = await at_provider(await start(api))
    assert (await api.client.get(callback)).status_code == 200

    replayed = await api.client.get(callback)

    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_state"
    unknown = await api.client.get("/auth/oidc/acme/callback?code=x&state=made-up")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_state"


async def test_an_expired_state_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    callback = await at_provider(await start(api))
    exchanged = provider.token_requests
    async with api.runtime.sessions() as session:
        login = await session.scalar(select(OidcLogin))
        assert login is not None
        login.expires_at = login.created_at  # moved back in the row, no waiting
        await session.commit()

    response = await api.client.get(callback)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_state"
    assert provider.token_requests == exchanged  # the code was never exchanged


async def test_an_unknown_or_disabled_provider_is_not_found(api: Api, provider: Provider) -> None:
    for path in ("/auth/oidc/nobody/login", "/auth/oidc/nobody/callback?code=x&state=y"):
        response = await api.client.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "error_description": "No such identity provider."}
    await configure(api, provider, enabled=False)
    assert (await api.client.get("/auth/oidc/acme/login")).status_code == 404


async def test_a_deactivated_person_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    assert (await sign_in(api)).status_code == 200
    async with api.runtime.sessions() as session:
        dana = await session.scalar(select(User).where(col(User.username) == "dana"))
        assert dana is not None
    deactivated = await api.data(
        DEACTIVATE, {"input": {"userId": gid("User", dana.id), "reason": "Left."}}, as_="admin"
    )
    assert deactivated["deactivateUser"]["errors"] == []

    response = await sign_in(api)

    assert response.status_code == 403
    assert response.json()["error"] == "account_inactive"
    assert await count(api, actions("sso.sign_in.refuse")) == 1


async def test_a_mapping_change_takes_effect_at_the_next_sign_in(api: Api, provider: Provider) -> None:
    await configure(api, provider, role="ANNOTATOR")
    provider.person = dict(PERSON)
    first = await sign_in(api)
    project_a = gid("Project", api.world.project_a)
    assert (await viewer(api, first.json()["access_token"]))["roles"] == [{"role": "ANNOTATOR", "projectId": project_a}]

    changed = await configure(api, provider, role="REVIEWER", clientSecret=None)
    assert changed["errors"] == []
    assert changed["created"] is False
    second = await sign_in(api)

    assert (await viewer(api, second.json()["access_token"]))["roles"] == [{"role": "REVIEWER", "projectId": project_a}]
    # Leaving the group takes the role away too; a grant given by hand stays.
    async with api.runtime.sessions() as session:
        dana = await session.scalar(select(User).where(col(User.username) == "dana"))
        assert dana is not None
    grant = "mutation G($input: RoleInput!) { grantRole(input: $input) { errors { code } } }"
    await api.data(
        grant, {"input": {"userId": gid("User", dana.id), "role": "EXPERT", "projectId": project_a}}, as_="admin"
    )
    provider.person = {**PERSON, "groups": []}
    third = await sign_in(api)
    assert (await viewer(api, third.json()["access_token"]))["roles"] == [{"role": "EXPERT", "projectId": project_a}]
    rules = select(func.count()).select_from(CasbinRule).where(col(CasbinRule.v0) == user_subject(dana.id))
    assert await count(api, rules) == 1


async def test_a_key_rotated_at_the_provider_is_fetched_again(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    assert (await sign_in(api)).status_code == 200
    fetched = provider.jwks_requests
    provider.rotate_key()

    response = await sign_in(api)

    assert response.status_code == 200, response.text
    assert provider.jwks_requests == fetched + 1


async def test_the_client_secret_is_sealed_and_never_shown_or_audited(api: Api, provider: Provider) -> None:
    configured = await configure(api, provider)
    assert CLIENT_SECRET not in str(configured)
    async with api.runtime.sessions() as session:
        row = await session.scalar(select(IdentityProvider))
        events = list(
            await session.scalars(select(AuditEvent).where(col(AuditEvent.action) == "identity_provider.configure"))
        )
    assert row is not None
    assert CLIENT_SECRET not in row.client_secret_sealed
    assert CLIENT_SECRET.encode().hex() not in row.client_secret_sealed
    assert len(events) == 1
    assert CLIENT_SECRET not in str(events[0].details)
    # It still works: the sign-in's token request authenticates with it.
    provider.person = dict(PERSON)
    assert (await sign_in(api)).status_code == 200


async def test_erasing_a_person_unlinks_its_provider_identity(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    assert (await sign_in(api)).status_code == 200
    async with api.runtime.sessions() as session:
        dana = await session.scalar(select(User).where(col(User.username) == "dana"))
        assert dana is not None
    erase = "mutation E($input: EraseUserInput!) { eraseUser(input: $input) { errors { code } } }"
    erased = await api.data(erase, {"input": {"userId": gid("User", dana.id), "reason": "Asked."}}, as_="compliance")
    assert erased["eraseUser"]["errors"] == []

    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 0


async def test_two_first_sign_ins_at_once_make_one_person(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    callbacks = [await at_provider(await start(api)) for _ in range(2)]

    answers = await asyncio.gather(*(api.client.get(callback) for callback in callbacks))

    assert [a.status_code for a in answers] == [200, 200]
    assert await count(api, select(func.count()).select_from(User).where(col(User.email) == "dana@example.com")) == 1
    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 1


async def give_email(api: Api, username: str, email: str) -> None:
    async with api.runtime.sessions() as session:
        person = await session.get(User, api.world.id(username))
        assert person is not None
        person.email = email
        await session.commit()


async def test_without_allowed_domains_an_email_never_links_an_existing_person(api: Api, provider: Provider) -> None:
    await give_email(api, "reviewer", "dana@example.com")
    await configure(api, provider, allowedEmailDomains=[])
    provider.person = dict(PERSON)

    response = await sign_in(api)

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "account_conflict"
    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 0
    # A new address is still provisioned just in time.
    provider.person = {**PERSON, "sub": "okta|2002", "email": "erin@anywhere.org"}
    assert (await sign_in(api)).status_code == 200
    assert await count(api, actions("sso.provision")) == 1


async def test_an_email_never_links_an_account_with_an_org_wide_grant(api: Api, provider: Provider) -> None:
    """An identity provider's admin minting our admin's address, verified, does not become our admin."""
    await give_email(api, "admin", "ops@example.com")
    await configure(api, provider)
    provider.person = {**PERSON, "sub": "evil|1", "email": "ops@example.com"}

    response = await sign_in(api)

    assert response.status_code == 403, response.text
    assert response.json()["error"] == "account_conflict"
    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 0
    assert await count(api, actions("sso.sign_in")) == 0


async def test_login_binds_the_sign_in_to_the_browser_with_a_cookie(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    response = await api.client.get("/auth/oidc/acme/login")

    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("labelgraph_oidc_")
    assert {"httponly", "max-age", "path"} <= attributes
    assert "path=/auth/oidc/" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes  # http here; Secure over https (next test)


async def test_the_cookie_is_secure_when_the_redirect_base_is_https(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    response = await api.client.get("https://testserver/auth/oidc/acme/login")

    assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


async def test_a_callback_replayed_from_another_client_is_refused(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    for wrong_cookie in (False, True):
        callback = await at_provider(await start(api))
        stolen_cookie = {}
        if wrong_cookie:  # the right cookie name, another value
            stolen_cookie = {name: "not-the-one-we-set" for name in api.client.cookies if name.startswith("labelgraph")}
            assert len(stolen_cookie) == 1
        exchanged = provider.token_requests
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app), base_url="http://testserver", cookies=stolen_cookie
        ) as attacker:
            response = await attacker.get(callback)

        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_state"
        assert provider.token_requests == exchanged  # the code was never exchanged
        # The state is used up: the browser that started it must start again too.
        assert (await api.client.get(callback)).json()["error"] == "invalid_state"
    assert await count(api, select(func.count()).select_from(ExternalIdentity)) == 0
    assert await count(api, actions("sso.sign_in.refuse")) == 4


async def configure_audits(api: Api) -> list[dict[str, Any]]:
    async with api.runtime.sessions() as session:
        events = await session.scalars(
            select(AuditEvent)
            .where(col(AuditEvent.action) == "identity_provider.configure")
            .order_by(col(AuditEvent.seq))
        )
        return [dict(e.details or {}) for e in events]


async def test_changing_the_issuer_deletes_the_old_issuers_subject_links(api: Api, provider: Provider) -> None:
    await configure(api, provider)
    provider.person = dict(PERSON)
    assert (await sign_in(api)).status_code == 200
    links = select(func.count()).select_from(ExternalIdentity)
    # The same issuer again keeps the links.
    assert (await configure(api, provider, clientSecret=None))["errors"] == []
    assert await count(api, links) == 1

    moved = await configure(api, provider, clientSecret=None, issuer=f"{provider.issuer}/tenant-2")

    assert moved["errors"] == []
    assert await count(api, links) == 0
    audits = await configure_audits(api)
    assert [(a["issuerChanged"], a["unlinkedIdentities"]) for a in audits] == [(False, 0), (False, 0), (True, 1)]


async def test_an_annotator_cannot_make_the_server_resolve_an_issuer(api: Api, provider: Provider) -> None:
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[Any]:
        asked.append(host)
        return []  # resolves to nothing: UNRESOLVABLE_HOST for whoever gets that far

    api.runtime.oidc.policy.resolver = resolver
    fields = {"name": "acme", "issuer": "https://idp.unresolvable.invalid", "clientId": "c", "clientSecret": "s"}

    denied = await api.gql(CONFIGURE, {"input": fields}, as_="ann1")

    assert denied["data"]["configureIdentityProvider"] is None
    assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    assert asked == []
    # An admin's call resolves it (so the check above could fail).
    allowed = await api.data(CONFIGURE, {"input": fields}, as_="admin")
    assert [e["code"] for e in allowed["configureIdentityProvider"]["errors"]] == ["UNRESOLVABLE_HOST"]
    assert asked == ["idp.unresolvable.invalid"]


async def test_a_provider_sign_in_lasts_the_session_lifetime_refreshes_included(api: Api, provider: Provider) -> None:
    """Someone disabled at the provider, or moved out of a mapped group, must not keep refreshing
    for good: the family of an SSO sign-in ends when its first token does (12 h by default), and
    then only a new sign-in, through the provider, gives access again."""
    await configure(api, provider)
    provider.person = dict(PERSON)
    body = (await api.client.get(await at_provider(await start(api)))).json()
    refreshed = await api.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    async with api.runtime.sessions() as session:
        rows = (
            await session.execute(
                select(RefreshToken.issued_at, RefreshToken.expires_at)
                .where(col(RefreshToken.client_id) == "sso")
                .order_by(col(RefreshToken.issued_at))
            )
        ).all()
    [(first_issued, first_expires), (_, successor_expires)] = rows
    assert (first_expires - first_issued).total_seconds() == api.runtime.settings.oidc_session_lifetime_s == 12 * 3600
    assert successor_expires == first_expires  # a rotation does not extend the sign-in


async def test_a_password_sign_in_s_refresh_still_slides(api: Api) -> None:
    signed = await api.client.post(
        "/auth/token", data={"grant_type": "password", "username": "ann1", "password": PASSWORD}
    )
    first = signed.json()["refresh_token"]
    assert (
        await api.client.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": first})
    ).status_code == 200
    async with api.runtime.sessions() as session:
        rows = (await session.execute(select(RefreshToken.expires_at).order_by(col(RefreshToken.issued_at)))).all()
    [(first_expires,), (successor_expires,)] = rows
    assert successor_expires >= first_expires
