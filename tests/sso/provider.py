"""A small but real OpenID Connect provider for the tests, served by uvicorn on 127.0.0.1.

Discovery, an authorization endpoint that signs in whoever the test says (`Provider.person`) and
sends the browser back with a code, a token endpoint that checks the client's Basic credentials,
the code (single use), the redirect URI and the PKCE verifier (S256) before answering an ID token
signed with its own RSA key (joserfc), and its JWK Set. `Provider.id_token_changes` bends the next
ID token (a wrong nonce, another audience, an old expiry, a broken signature) for refusal tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

CLIENT_ID = "labelgraph"
CLIENT_SECRET = "provider-issued-secret-7f3a"
CHUNK = 64 * 1024


@dataclass
class Provider:
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    person: dict[str, Any] = field(default_factory=dict)  # claims of whoever signs in next
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    tamper: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0
    jwks_requests: int = 0

    def reset(self) -> None:
        self.person = {}
        self.id_token_changes = {}
        self.tamper = False
        self.codes.clear()

    def rotate_key(self) -> None:
        self.key = RSAKey.generate_key(2048, auto_kid=True)

    # --- endpoints --------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse({"keys": [{**self.key.as_dict(private=False), "alg": "RS256", "use": "sig"}]})

    async def huge(self, request: Request) -> Response:
        """A JSON document that never ends, paced (a client must stop reading by itself)."""

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"padding": "'
            while True:
                yield b"a" * CHUNK
                await asyncio.sleep(0.005)  # paces the stream: a client that reads on does not fill memory

        return StreamingResponse(chunks(), media_type="application/json")

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if (
            q.get("response_type") != "code"
            or q.get("client_id") != CLIENT_ID
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or "openid" not in q.get("scope", "").split()
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "claims": dict(self.person),
            "nonce": q.get("nonce"),
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
        }
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self.codes.pop(str(form.get("code")), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["claims"],
            **self.id_token_changes,
        }
        signed = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        if self.tamper:
            head, body, signature = signed.split(".")
            flipped = "A" if signature[10] != "A" else "B"
            signed = ".".join((head, body, signature[:10] + flipped + signature[11:]))
        return JSONResponse({"access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": signed})


class Served:
    """The provider on a free loopback port, in a thread of its own (its own event loop)."""

    def __init__(self) -> None:
        self.provider = Provider()
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.provider.discovery),
                Route("/jwks", self.provider.jwks),
                Route("/huge", self.provider.huge),
                Route("/authorize", self.provider.authorize),
                Route("/token", self.provider.token, methods=["POST"]),
            ]
        )
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        port = self.socket.getsockname()[1]
        self.provider.issuer = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.01)
        return self.provider

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
