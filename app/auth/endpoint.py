"""POST /auth/token: the OAuth2 token endpoint (password and client_credentials grants).

authlib's authorization server is synchronous, so this is a small Starlette endpoint that
answers in RFC 6749 shapes and issues joserfc-signed JWTs.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.auth.actor import Actor
from app.auth.models import IdentityKind
from app.auth.service import authenticate
from app.compliance import audit
from app.db import unit_of_work
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


async def token_endpoint(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _error("invalid_request", "Send an application/x-www-form-urlencoded body.")
    try:
        form = await request.form(max_files=0, max_fields=10)
    except HTTPException:
        return _error("invalid_request", "The form body is malformed or has too many fields.")
    fields = {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= MAX_FIELD}
    basic = _basic_credentials(request)
    # NUL or a lone surrogate: no username or secret holds one, and PostgreSQL could not compare it.
    if any(text_problem(text) for text in (*fields, *fields.values(), *(basic or ()))):
        return _error("invalid_request", "Form fields and credentials may not contain NUL or unpaired surrogates.")
    grant = fields.get("grant_type")
    if not grant:
        return _error("invalid_request", "grant_type is missing.")
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
        if basic is None and request.headers.get("authorization", "").lower().startswith("basic"):
            return failure  # RFC 6749 2.3.1: client authentication was attempted, and failed
        name, secret = basic or (fields.get("client_id"), fields.get("client_secret"))
        kind, client_id = IdentityKind.SERVICE, name or ""
    else:
        return _error("unsupported_grant_type", "Use grant_type password or client_credentials.")
    if not name or not secret:
        return _error("invalid_request", "Credentials are missing.")

    # Verify outside any write transaction: ~100 ms of argon2 must not hold SQLite's write lock.
    async with runtime.sessions() as session:
        user = await authenticate(session, runtime.passwords, name, secret, kind)
    if user is None:
        return failure
    actor = Actor(id=user.id, username=user.username, kind=user.kind, authorizer=runtime.authorizer)
    async with unit_of_work(runtime.sessions, write=True) as session:
        await audit.record(session, actor, "auth.token.issue", "User", user.id, request={"client_id": client_id})
    token = runtime.tokens.issue(user.id, client_id)
    return JSONResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": runtime.tokens.lifetime_s},
        headers=NO_STORE,
    )
