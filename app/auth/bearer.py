"""Bearer tokens: from an access token to an Actor, or the one 401 every route answers.

Only app.auth.middleware calls actor_from_token: routes read the caller it resolved.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from starlette.responses import JSONResponse

from app.auth.actor import Actor
from app.auth.tokens import UnknownKey
from app.errors import Unauthenticated
from app.runtime import Runtime


async def actor_from_token(runtime: Runtime, token: str) -> tuple[Actor, int]:
    """The caller and when its token expires (Unix seconds: a WebSocket ends then)."""
    if not token:
        raise Unauthenticated("no bearer token")
    try:
        claims = runtime.tokens.verify(token)
    except UnknownKey as unknown:
        # A key made since this process last read the ring (a rotation by the CLI): look once.
        keys = runtime.tokens.keys
        if keys is None or not await keys.reload_for(unknown.kid):
            raise
        claims = runtime.tokens.verify(token)
    user = await runtime.identity(claims.subject)
    if user is None:
        raise Unauthenticated("unknown or inactive identity")
    if user.tokens_valid_after is not None and claims.issued_at <= cutoff_second(user.tokens_valid_after):
        # Issued before a deactivation, a password reset or a revocation cut the account's tokens
        # off. iat has whole seconds, so the cut-off's own second is refused too; the token
        # endpoint never issues a token in that second (it waits it out, see wait_past_cutoff).
        raise Unauthenticated("token issued before the account's cut-off")
    return Actor(id=user.id, username=user.username, kind=user.kind, authorizer=runtime.authorizer), claims.expires_at


def cutoff_second(tokens_valid_after: datetime) -> int:
    return int(tokens_valid_after.timestamp())


async def wait_past_cutoff(tokens_valid_after: datetime | None) -> None:
    """Before issuing an access token: if the account's cut-off fell in this very second, wait for
    the next one, so the new token's iat is past it (at most a second, once, after a reset)."""
    if tokens_valid_after is None:
        return
    delay = cutoff_second(tokens_valid_after) + 1 - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


def unauthenticated_response() -> JSONResponse:
    """The same answer for every kind of bad credential: no hint of which check failed."""
    return JSONResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": "Authentication required: send a valid bearer token.",
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
            ],
        },
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
