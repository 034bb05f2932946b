"""Validating an OpenID Connect ID token (Core 1.0, section 3.1.3.7), pure given the provider's keys.

- The signature, with the provider's published keys, in an asymmetric algorithm the provider
  announces (never `none`, never HMAC: the client secret would be the key).
- `iss` equals the configured issuer exactly; `aud` contains our client id; with several audiences
  `azp` must be present, and when present it must be our client id.
- `exp` in the future and `iat` not in the future, both with LEEWAY_S; `sub` present.
- `nonce` equals the one this sign-in sent (compared in constant time).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_S = 60
MAX_AGE_S = 24 * 3600  # an iat older than this is not a fresh sign-in


class InvalidIdToken(Exception):
    """Why the token was refused, for the server's log (never a claim's value)."""


@dataclass(frozen=True)
class Expected:
    issuer: str
    client_id: str
    nonce: str
    algorithms: tuple[str, ...]


def header_kid(token: str) -> str | None:
    try:
        kid = jws.extract_compact(token.encode()).protected.get("kid")
    except (JoseError, ValueError):
        raise InvalidIdToken("not a compact JWS") from None
    return kid if isinstance(kid, str) else None


def validate(token: str, keys: KeySet, expected: Expected, now: float | None = None) -> dict[str, Any]:
    """The token's claims, once every check holds; else InvalidIdToken."""
    algorithms = [a for a in expected.algorithms if a in ASYMMETRIC] or ["RS256"]
    try:
        header = jws.extract_compact(token.encode()).protected
        if header.get("alg") not in algorithms:
            raise InvalidIdToken(f"algorithm {header.get('alg')!r} is not accepted")
        claims = jwt.decode(token, keys, algorithms=algorithms).claims
    except InvalidIdToken:
        raise
    except (JoseError, ValueError, TypeError, KeyError) as failed:
        raise InvalidIdToken(f"bad signature or form ({type(failed).__name__})") from None
    now = time.time() if now is None else now
    if claims.get("iss") != expected.issuer:
        raise InvalidIdToken("issuer mismatch")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if expected.client_id not in audiences:
        raise InvalidIdToken("audience mismatch")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != expected.client_id):
        raise InvalidIdToken("authorized party mismatch")
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    if exp is None or iat is None:
        raise InvalidIdToken("exp and iat are required numbers")
    if exp <= now - LEEWAY_S:
        raise InvalidIdToken("expired")
    if iat > now + LEEWAY_S or iat < now - MAX_AGE_S:
        raise InvalidIdToken("issued at an impossible time")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise InvalidIdToken("sub is required (at most 255 characters)")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), expected.nonce.encode()):
        raise InvalidIdToken("nonce mismatch")
    return dict(claims)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
