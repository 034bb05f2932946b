"""Signed JWT access tokens (RFC 9068 claim set) with joserfc.

ES256 with a `kid` (app/auth/keys.py) unless the settings ask for HS256, a shared-secret mode for a
single development process only (refused in production: nobody else can verify such a token
without holding the secret that also mints them). A verifier accepts only its own algorithm, so
an HS256 token signed with the secret key is no way into an ES256 server (algorithm confusion).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry

from app.auth.keys import KeyRing
from app.errors import Unauthenticated

ES256 = "ES256"
HS256 = "HS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type, not a secret)


@dataclass(frozen=True)
class TokenClaims:
    subject: uuid.UUID
    client_id: str
    token_id: str
    expires_at: int
    issued_at: int = 0


class UnknownKey(Unauthenticated):
    """The token names a kid this process does not know (yet): the caller may reload the keys."""

    def __init__(self, kid: str) -> None:
        super().__init__("unknown signing key")
        self.kid = kid


class TokenService:
    def __init__(
        self,
        issuer: str,
        audience: str,
        lifetime_s: int,
        *,
        keys: KeyRing | None = None,
        shared_secret: str | None = None,
    ) -> None:
        if (keys is None) == (shared_secret is None):
            raise ValueError("sign with a key ring (ES256) or a shared secret (HS256), one of them")
        self.keys = keys
        self._secret = OctKey.import_key(shared_secret.encode()) if shared_secret is not None else None
        self.algorithm = ES256 if keys is not None else HS256
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
        header = {"alg": self.algorithm, "typ": TOKEN_TYPE}
        if self.keys is None:
            assert self._secret is not None
            return jwt.encode(header, claims, self._secret, algorithms=[HS256])
        current = self.keys.ring.current
        if current is None:
            raise RuntimeError("no signing key: the key ring was not started")
        return jwt.encode({**header, "kid": current.kid}, claims, current, algorithms=[ES256])

    def verify(self, token: str) -> TokenClaims:
        """Signature, type and claims, or Unauthenticated (UnknownKey for a kid not known yet);
        the reason never reaches the client."""
        try:
            header = jws.extract_compact(token.encode()).protected
            if header.get("alg") != self.algorithm or header.get("typ") != TOKEN_TYPE:
                raise Unauthenticated("not an access token of this server")
            key: OctKey | KeySet
            if self.keys is None:
                assert self._secret is not None
                key = self._secret
            else:
                kid = header.get("kid")
                if not isinstance(kid, str) or not self.keys.ring.knows(kid):
                    raise UnknownKey(str(kid))
                key = self.keys.ring.verifying
            decoded = jwt.decode(token, key, algorithms=[self.algorithm])
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
