"""GET /auth/oidc/{provider}/login and GET /auth/oidc/{provider}/callback: OpenID Connect sign-in
with the authorization code flow, PKCE (S256), state and nonce.

/login keeps a new sign-in's state, nonce and code verifier (app/sso/service.start), sets a
cookie (HttpOnly, SameSite=Lax, Path=/auth/oidc/, Secure over https) holding a random value whose
SHA-256 the sign-in keeps, and answers 302 to the provider's authorization endpoint. The provider
sends the browser back to /callback with `code` and `state`; the state is used up at once (single
use, short-lived) and the sign-in goes on only for the browser bringing that cookie back; the code is
exchanged with authlib's client (client_secret_basic, the verifier), the ID token is validated
(app/sso/id_token.py), the person is linked or provisioned and its mapped grants brought in line
(app/sso/service.sign_in), and the answer is OUR token, exactly what POST /auth/token answers for a
password (access token, refresh token; `Cache-Control: no-store`) as JSON.

Refusals are `{"error": <SignInRefusal>, "error_description": <one sentence>}` with a 4xx (502
when the provider could not be reached): never a stack trace, a code, a token or a secret; the
server logs the reason's kind (not the claims). Refusals after the state is known are audited
(`sso.sign_in.refuse`).

Both routes are open (no bearer token): they are how one gets one.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.base_client import OAuthError
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.access.models import Channel, Outcome
from app.access.note import AccessNote
from app.auth import refresh
from app.auth.actor import Actor
from app.auth.bearer import wait_past_cutoff
from app.auth.endpoint import NO_STORE, token_response
from app.db import unit_of_work
from app.runtime import Runtime
from app.sso import id_token, reads, sealing, service
from app.sso.error_codes import SignInRefusal
from app.sso.fetch import Metadata, ProviderUnreachable
from app.sso.models import IdentityProvider

logger = logging.getLogger("labelgraph.sso")
MAX_PARAM = 4096
CLIENT_ID = refresh.SSO_CLIENT  # the client_id our tokens carry for a sign-in through a provider
# The cookie binding a sign-in to the browser that started it (its SHA-256 is on the oidc_login
# row): a callback URL replayed from another client, without it, is invalid_state.
# One cookie per sign-in (named after its state), so two started in two tabs both finish.
COOKIE_PATH = "/auth/oidc/"


def browser_cookie(state: str) -> str:
    return f"labelgraph_oidc_{service.state_digest(state)[:16]}"


STATUS = {
    SignInRefusal.NOT_FOUND: 404,
    SignInRefusal.INVALID_STATE: 400,
    SignInRefusal.PROVIDER_ERROR: 502,
    SignInRefusal.INVALID_ID_TOKEN: 401,
    SignInRefusal.EMAIL_NOT_ALLOWED: 403,
    SignInRefusal.ACCOUNT_INACTIVE: 403,
    SignInRefusal.ACCOUNT_CONFLICT: 403,
}


def refusal(code: SignInRefusal, message: str, runtime: Runtime | None = None) -> JSONResponse:
    """The one answer to a refused sign-in; with the runtime, also a note in the access history
    (channel SIGN_IN, as /auth/token's refusals: no name, no address)."""
    status = STATUS[code]
    if runtime is not None:
        note = AccessNote(channel=Channel.SIGN_IN, operation="oidc", operation_type="sign_in", status=status)
        note.outcome_override = Outcome.UNAUTHENTICATED
        runtime.access.add(note)
    return JSONResponse({"error": code.value, "error_description": message}, status_code=status, headers=NO_STORE)


NOT_FOUND = (SignInRefusal.NOT_FOUND, "No such identity provider.")


def redirect_uri(request: Request, runtime: Runtime, provider: IdentityProvider) -> str:
    """Where the provider sends the browser back: LABELGRAPH_OIDC_REDIRECT_BASE (set it in
    production: the Host header is the client's), else this request's own base URL."""
    base = runtime.settings.oidc_redirect_base or str(request.base_url)
    return f"{base.rstrip('/')}/auth/oidc/{provider.name}/callback"


async def _provider(runtime: Runtime, name: str) -> IdentityProvider | None:
    if len(name) > 64:
        return None
    async with runtime.sessions() as session:
        return await reads.provider_named(session, name)


async def login_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    provider = await _provider(runtime, request.path_params["provider"])
    if provider is None:
        return refusal(*NOT_FOUND)
    try:
        metadata = await runtime.oidc.metadata(provider.issuer)
    except ProviderUnreachable as failed:
        logger.warning("OIDC provider %s: %s", provider.name, failed)
        return refusal(SignInRefusal.PROVIDER_ERROR, "The identity provider cannot be reached; try again later.")
    callback = redirect_uri(request, runtime, provider)
    async with unit_of_work(runtime.sessions, write=True) as session:
        started = await service.start(session, provider, callback, runtime.settings.oidc_login_lifetime_s)
    async with runtime.oidc.client(
        client_id=provider.client_id,
        scope=" ".join(provider.scopes),
        redirect_uri=callback,
        code_challenge_method="S256",
    ) as client:
        url, _state = client.create_authorization_url(
            metadata.authorization_endpoint,
            state=started.state,
            code_verifier=started.code_verifier,
            nonce=started.nonce,
        )
    response = RedirectResponse(url, status_code=302, headers=NO_STORE)
    response.set_cookie(
        browser_cookie(started.state),
        started.browser,
        max_age=runtime.settings.oidc_login_lifetime_s,
        path=COOKIE_PATH,
        secure=callback.startswith("https://") or request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


async def callback_endpoint(request: Request) -> Response:
    response = await _callback(request)
    state = request.query_params.get("state", "")
    if state and len(state) <= MAX_PARAM:  # the sign-in is over whatever the answer: drop its cookie
        response.delete_cookie(browser_cookie(state), path=COOKIE_PATH, httponly=True, samesite="lax")
    return response


async def _callback(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    provider = await _provider(runtime, request.path_params["provider"])
    if provider is None:
        return refusal(*NOT_FOUND)
    params = request.query_params
    state, code = params.get("state", ""), params.get("code", "")
    if not state or len(state) > MAX_PARAM or len(code) > MAX_PARAM:
        return refusal(SignInRefusal.INVALID_STATE, "This sign-in is unknown or over: start again.")
    browser = request.cookies.get(browser_cookie(state))
    if browser is not None and len(browser) > MAX_PARAM:
        browser = None
    async with unit_of_work(runtime.sessions, write=True) as session:
        login = await service.consume(session, provider, state, browser)
        if login is None:
            await service.record_refusal(session, provider, SignInRefusal.INVALID_STATE)
    if login is None:
        return refusal(SignInRefusal.INVALID_STATE, "This sign-in is unknown, used or expired: start again.", runtime)
    try:
        claims = await _exchange(runtime, provider, login.redirect_uri, login.code_verifier, login.nonce, params)
        signed_in = await _signed_in(runtime, provider, claims)
    except service.Refused as refused:
        async with unit_of_work(runtime.sessions, write=True) as session:
            await service.record_refusal(session, provider, refused.code, refused.user_id)
        return refusal(refused.code, refused.message, runtime)
    user = signed_in.user
    actor = Actor(id=user.id, username=user.username, kind=user.kind, authorizer=runtime.authorizer)
    await wait_past_cutoff(user.tokens_valid_after)
    async with unit_of_work(runtime.sessions, write=True) as session:
        lifetime = min(runtime.settings.refresh_token_lifetime_s, runtime.settings.oidc_session_lifetime_s)
        refresh_token = await refresh.issue(session, actor, CLIENT_ID, lifetime)
    return token_response(runtime, actor, CLIENT_ID, refresh_token)


async def _signed_in(runtime: Runtime, provider: IdentityProvider, claims: dict[str, Any]) -> service.SignedIn:
    """service.sign_in in its write unit. Two first sign-ins racing (the same subject, or the same
    wanted username) meet a unique index: the loser runs again and finds what the winner wrote."""
    for attempt in range(2):
        try:
            async with unit_of_work(runtime.sessions, write=True) as session:
                return await service.sign_in(session, runtime.authorizer, provider, claims)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _exchange(
    runtime: Runtime,
    provider: IdentityProvider,
    callback: str,
    verifier: str,
    nonce: str,
    query: QueryParams,
) -> dict[str, Any]:
    """The provider's validated ID token claims for the code; service.Refused otherwise."""
    if "error" in query or not query.get("code"):
        logger.info("OIDC provider %s answered an error instead of a code", provider.name)
        raise service.Refused(SignInRefusal.PROVIDER_ERROR, "The identity provider did not sign you in.")
    try:
        metadata = await runtime.oidc.metadata(provider.issuer)
        secret = sealing.unseal(runtime.settings.secret_key, provider.id, provider.client_secret_sealed)
    except (ProviderUnreachable, sealing.SealedSecretError) as failed:
        logger.warning("OIDC provider %s: %s", provider.name, failed)
        raise service.Refused(
            SignInRefusal.PROVIDER_ERROR, "The identity provider cannot be reached; try again later."
        ) from None
    try:
        async with runtime.oidc.client(
            client_id=provider.client_id,
            client_secret=secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106  (a method name)
            redirect_uri=callback,
        ) as client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=query["code"],
                code_verifier=verifier,
            )
    except (OAuthError, ProviderUnreachable, ValueError) as failed:
        logger.warning("OIDC provider %s refused the code exchange (%s)", provider.name, type(failed).__name__)
        raise service.Refused(SignInRefusal.PROVIDER_ERROR, "The identity provider did not sign you in.") from None
    except Exception as failed:  # httpx2 transport errors, the address policy's refusal
        logger.warning("OIDC provider %s: the code exchange failed (%s)", provider.name, type(failed).__name__)
        raise service.Refused(
            SignInRefusal.PROVIDER_ERROR, "The identity provider cannot be reached; try again later."
        ) from None
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise service.Refused(SignInRefusal.INVALID_ID_TOKEN, "The identity provider sent no ID token.")
    return await _validated(runtime, provider, metadata, raw, nonce)


async def _validated(
    runtime: Runtime, provider: IdentityProvider, metadata: Metadata, raw: str, nonce: str
) -> dict[str, Any]:
    expected = id_token.Expected(provider.issuer, provider.client_id, nonce, metadata.signing_algorithms)
    try:
        kid = id_token.header_kid(raw)
        keys = await runtime.oidc.keys(metadata, kid)
        return id_token.validate(raw, keys, expected)
    except id_token.InvalidIdToken as invalid:
        logger.warning("OIDC provider %s: ID token refused: %s", provider.name, invalid)
        raise service.Refused(
            SignInRefusal.INVALID_ID_TOKEN, "The identity provider's ID token is not valid."
        ) from None
    except ProviderUnreachable as failed:
        logger.warning("OIDC provider %s: %s", provider.name, failed)
        raise service.Refused(
            SignInRefusal.PROVIDER_ERROR, "The identity provider cannot be reached; try again later."
        ) from None
