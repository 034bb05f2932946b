"""Bearer tokens: from an access token to an Actor, or the one 401 every route answers.

Only app.auth.middleware calls actor_from_token: routes read the caller it resolved.
"""

from __future__ import annotations

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
    return Actor(id=user.id, username=user.username, kind=user.kind, authorizer=runtime.authorizer), claims.expires_at


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
