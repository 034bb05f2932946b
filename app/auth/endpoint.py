"""POST /auth/token: the OAuth2 token endpoint; POST /auth/revoke: token revocation (RFC 7009).

authlib's authorization server is synchronous, so these are small Starlette endpoints that
answer in RFC 6749 shapes and issue joserfc-signed JWTs.

Grants: `password` (people) answers an access token and a refresh token; `refresh_token`
exchanges a refresh token for a new pair (the one presented is then used up; see
app/auth/refresh.py); `client_credentials` (service accounts) answers an access token only,
as RFC 6749 section 4.4.3 advises: the client holds its secret and simply asks again.

Guessing is slowed down per username and per client address (app/auth/throttle.py): a locked
key is answered 429 with Retry-After, the same for a known and an unknown username, and every
refused or throttled attempt is recorded in the access history (channel SIGN_IN).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.access.models import Channel, Outcome
from app.access.note import AccessNote
from app.auth import refresh, throttle
from app.auth.actor import Actor
from app.auth.bearer import wait_past_cutoff
from app.auth.middleware import actor_of
from app.auth.models import IdentityKind
from app.auth.service import authenticate
from app.clock import utcnow
from app.compliance import audit
from app.db import unit_of_work
from app.errors import DomainError, Unauthenticated
from app.json_bounds import text_problem
from app.runtime import Runtime

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FIELD = 1024


def _error(code: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="labelgraph"'
    return JSONResponse({"error": code, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(client_id), unquote(secret)


async def _form_fields(request: Request) -> dict[str, str] | JSONResponse:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _error("invalid_request", "Send an application/x-www-form-urlencoded body.")
    try:
        form = await request.form(max_files=0, max_fields=10)
    except HTTPException:
        return _error("invalid_request", "The form body is malformed or has too many fields.")
    fields = {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= MAX_FIELD}
    # NUL or a lone surrogate: no username, secret or token holds one, and PostgreSQL could not compare it.
    if any(text_problem(text) for text in (*fields, *fields.values(), *(_basic_credentials(request) or ()))):
        return _error("invalid_request", "Form fields and credentials may not contain NUL or unpaired surrogates.")
    return fields


def token_response(runtime: Runtime, actor: Actor, client_id: str, refresh_token: str | None) -> JSONResponse:
    body: dict[str, str | int] = {
        "access_token": runtime.tokens.issue(actor.id, client_id),
        "token_type": "bearer",
        "expires_in": runtime.tokens.lifetime_s,
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return JSONResponse(body, headers=NO_STORE)


async def _refresh_grant(runtime: Runtime, fields: dict[str, str]) -> JSONResponse:
    presented = fields.get("refresh_token")
    if not presented:
        return _error("invalid_request", "refresh_token is missing.")
    # Committed whatever the answer: a reused token's family is revoked even as it is refused.
    async with unit_of_work(runtime.sessions, write=True) as session:
        exchanged = await refresh.exchange(
            session, runtime.authorizer, presented, runtime.settings.refresh_token_lifetime_s
        )
    if exchanged is None:
        return _error("invalid_grant", "The refresh token is invalid, expired or revoked.")
    return token_response(runtime, exchanged.actor, exchanged.client_id, exchanged.refresh_token)


async def token_endpoint(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    fields = await _form_fields(request)
    if isinstance(fields, JSONResponse):
        return fields
    grant = fields.get("grant_type")
    if not grant:
        return _error("invalid_request", "grant_type is missing.")
    if grant == "refresh_token":
        return await _refresh_grant(runtime, fields)
    if grant == "password":
        name, secret, kind, client_id = (
            fields.get("username"),
            fields.get("password"),
            IdentityKind.HUMAN,
            "web",
        )
        failure = _error("invalid_grant", "Wrong username or password.")
    elif grant == "client_credentials":
        failure = _error("invalid_client", "Client authentication failed.", 401)
        basic = _basic_credentials(request)
        if basic is None and request.headers.get("authorization", "").lower().startswith("basic"):
            return failure  # RFC 6749 2.3.1: client authentication was attempted, and failed
        name, secret = basic or (fields.get("client_id"), fields.get("client_secret"))
        kind, client_id = IdentityKind.SERVICE, name or ""
    else:
        return _error("unsupported_grant_type", "Use grant_type password, refresh_token or client_credentials.")
    if not name or not secret:
        return _error("invalid_request", "Credentials are missing.")

    limits = throttle.Limits.of(runtime.settings)
    keys = throttle.keys(name, throttle.client_address(request.scope, runtime.settings.trusted_proxies))
    async with unit_of_work(runtime.sessions, write=True) as session:
        wait = await throttle.begin(session, limits, keys, utcnow())
    if wait is not None:
        _note_refusal(runtime, grant, 429, throttled=True)
        return _throttled(wait)
    # Verify outside any write transaction: ~100 ms of argon2 must not hold SQLite's write lock.
    async with runtime.sessions() as session:
        user = await authenticate(session, runtime.passwords, name, secret, kind)
    if user is None:
        _note_refusal(runtime, grant, failure.status_code, throttled=False)
        return failure
    actor = Actor(id=user.id, username=user.username, kind=user.kind, authorizer=runtime.authorizer)
    await wait_past_cutoff(user.tokens_valid_after)
    refresh_token = None
    async with unit_of_work(runtime.sessions, write=True) as session:
        await throttle.succeeded(session, limits, keys)
        await audit.record(session, actor, "auth.token.issue", "User", user.id, request={"client_id": client_id})
        if grant == "password":
            refresh_token = await refresh.issue(session, actor, client_id, runtime.settings.refresh_token_lifetime_s)
    return token_response(runtime, actor, client_id, refresh_token)


def _throttled(wait: int) -> JSONResponse:
    """The one answer to a locked username or address, whether or not the account exists."""
    return JSONResponse(
        {"error": "too_many_attempts", "error_description": "Too many failed sign-ins: try again later."},
        status_code=429,
        headers={**NO_STORE, "Retry-After": str(wait)},
    )


def _note_refusal(runtime: Runtime, grant: str, status: int, *, throttled: bool) -> None:
    """A refused sign-in in the access history: a denial when throttled, else unauthenticated.
    No name or address is kept (an unknown username may be a mistyped password)."""
    note = AccessNote(channel=Channel.SIGN_IN, operation=grant, operation_type="sign_in", status=status)
    if throttled:
        note.denials.append({"path": "/auth/token", "message": "Too many failed sign-ins."})
    else:
        note.outcome_override = Outcome.UNAUTHENTICATED  # invalid_grant is a 400, yet a refused credential
    runtime.access.add(note)


async def revoke_endpoint(request: Request) -> Response:
    """RFC 7009: `token=<refresh token>` ends that token's sign-in (its whole family).

    The token is the credential (our clients are public), so no bearer token is needed; when one
    is sent, the refresh token must be its owner's. As RFC 7009 section 2.2 asks, an unknown,
    dead or someone else's token is answered 200 all the same. Access tokens are short-lived
    JWTs nobody can revoke early: presenting one is unsupported_token_type.
    """
    runtime: Runtime = request.app.state.runtime
    fields = await _form_fields(request)
    if isinstance(fields, JSONResponse):
        return fields
    token = fields.get("token")
    if not token:
        return _error("invalid_request", "token is missing.")
    async with runtime.sessions() as session:
        owner = await refresh.owner_of(session, token)
    caller = actor_of(request.scope)
    if owner is None or (caller is not None and caller.id != owner.id):
        if _is_access_token(runtime, token):
            return _error("unsupported_token_type", "Access tokens expire on their own; revoke the refresh token.")
        return Response(status_code=200, headers=NO_STORE)
    actor = caller or Actor(id=owner.id, username=owner.username, kind=owner.kind, authorizer=runtime.authorizer)
    try:
        async with unit_of_work(runtime.sessions, write=True) as session:
            await refresh.revoke(session, actor, token=token, everything=False, via="rfc7009")
    except DomainError:
        pass  # gone meanwhile: the same 200
    return Response(status_code=200, headers=NO_STORE)


def _is_access_token(runtime: Runtime, token: str) -> bool:
    try:
        runtime.tokens.verify(token)
    except Unauthenticated:
        return False
    return True
