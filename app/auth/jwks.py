"""GET /.well-known/jwks.json: the public keys access tokens are signed with (RFC 7517 JWK Set),
open like /auth/token, so a gateway or an ML pipeline verifies tokens without any secret.

Retired keys stay listed until the last token they signed has expired (app/auth/keys.py); a
verifier that meets an unknown `kid` should fetch the set again (it is cached for a minute).
Empty in the HS256 development mode: such tokens are verifiable only with the secret.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.runtime import Runtime

MAX_AGE_S = 60


async def jwks_endpoint(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    keys = runtime.tokens.keys
    published = keys.ring.published if keys is not None else []
    return JSONResponse(
        {"keys": published},
        headers={"Cache-Control": f"public, max-age={MAX_AGE_S}"},
        media_type="application/jwk-set+json",
    )
