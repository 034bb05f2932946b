"""Signed JWT access tokens (RFC 9068 claim set) with joserfc."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from app.errors import Unauthenticated

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type, not a secret)


@dataclass(frozen=True)
class TokenClaims:
    subject: uuid.UUID
    client_id: str
    token_id: str
    expires_at: int
    issued_at: int = 0


class TokenService:
    def __init__(self, secret_key: str, issuer: str, audience: str, lifetime_s: int) -> None:
        self._key = OctKey.import_key(secret_key.encode())
        self._issuer = issuer
        self._audience = audience
        self.lifetime_s = lifetime_s
        self._rules = JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        )

    def issue(self, subject: uuid.UUID, client_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(subject),
            "client_id": client_id,
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode({"alg": ALGORITHM, "typ": TOKEN_TYPE}, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, token: str) -> TokenClaims:
        """Signature, type and claims, or Unauthenticated; the reason never reaches the client."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            if decoded.header.get("typ") != TOKEN_TYPE:
                raise Unauthenticated("not an access token")
            self._rules.validate(decoded.claims)
            claims = decoded.claims
            return TokenClaims(
                subject=uuid.UUID(str(claims["sub"])),
                client_id=str(claims.get("client_id", "")),
                token_id=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                issued_at=int(claims["iat"]),
            )
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise Unauthenticated("invalid token") from exc
