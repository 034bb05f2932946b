"""One authentication path for every route: the bearer token is resolved once, in middleware.

Starlette's AuthenticationMiddleware runs BearerBackend on every HTTP and WebSocket connection
and leaves the caller in request.user (an AuthenticatedActor) and request.auth. Routes that
need a caller say so with `requires_actor` (endpoints) or `RequireActor` (ASGI apps such as
GraphQL), which answer the one 401 of `unauthenticated_response`: no token, another scheme and
a token failing any check all look the same there. The open routes (/auth/token, /auth/revoke,
/healthz) do not ask, so a stale bearer token a client attaches to every call cannot block the
refresh that would replace it; Basic credentials for /auth/token are that endpoint's business.

WebSocket handshakes (GraphQL subscriptions) are authenticated here too, before the connection
is accepted: by the same `Authorization: Bearer` header, or, since browsers cannot set headers on
a WebSocket, by a subprotocol entry `bearer.<access token>` offered beside `graphql-transport-ws`
(`new WebSocket(url, ["graphql-transport-ws", "bearer." + token])`; the server answers with
graphql-transport-ws only). A token in connection_init's payload is not read: that message comes
after the handshake, and a connection nobody authenticated is never accepted (RequireActor).
The token's expiry is kept with the caller: a subscription ends when it passes.
On /graphql, RequireActor lets an anonymous request through only when the body is one of the
few public operations (app/schema/public.py: accepting an invitation, resetting a password).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.actor import Actor
from app.auth.bearer import actor_from_token, unauthenticated_response
from app.errors import Unauthenticated
from app.runtime import Runtime

SCOPE = "api"  # the one credential scope a valid access token carries


BEARER_PROTOCOL = "bearer."


class AuthenticatedActor(BaseUser):
    """Starlette's view of the caller (request.user), holding the Actor the services use."""

    def __init__(self, actor: Actor, expires_at: int = 0) -> None:
        self.actor = actor
        self.expires_at = expires_at  # the access token's exp (Unix seconds)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.actor.username

    @property
    def identity(self) -> str:
        return str(self.actor.id)


class BearerBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" and conn.scope["type"] == "websocket":
            scheme, token = "bearer", protocol_token(conn.scope.get("subprotocols", []))
        if scheme.lower() != "bearer":
            return None  # anonymous: routes that need a caller answer 401 themselves
        runtime: Runtime = conn.app.state.runtime
        try:
            actor, expires_at = await actor_from_token(runtime, token.strip())
        except Unauthenticated:
            return None  # the reason never reaches the client: the same 401 as no token at all
        return AuthCredentials([SCOPE]), AuthenticatedActor(actor, expires_at)


def protocol_token(subprotocols: list[str]) -> str:
    """The access token a browser's WebSocket offers as a `bearer.<token>` subprotocol ("" if none)."""
    for protocol in subprotocols:
        if protocol.startswith(BEARER_PROTOCOL):
            return protocol[len(BEARER_PROTOCOL) :]
    return ""


def _on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    # BearerBackend raises nothing today; should a check ever raise, it answers the same 401.
    return unauthenticated_response()


def authentication() -> Middleware:
    """The middleware entry for Starlette(middleware=[...])."""
    return Middleware(AuthenticationMiddleware, backend=BearerBackend(), on_error=_on_error)


def actor_of(scope: Scope) -> Actor | None:
    """The caller the middleware resolved for this connection; None when anonymous."""
    user = scope.get("user")
    return user.actor if isinstance(user, AuthenticatedActor) else None


def token_expiry(scope: Scope) -> int:
    """When the connection's access token expires (Unix seconds; 0 when anonymous)."""
    user = scope.get("user")
    return user.expires_at if isinstance(user, AuthenticatedActor) else 0


Endpoint = Callable[[Request, Actor], Awaitable[Response]]


def requires_actor(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that needs a caller: it gets the Actor, or the client gets the 401."""

    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        actor = actor_of(request.scope)
        if actor is None:
            return unauthenticated_response()
        return await endpoint(request, actor)

    return guarded


# Set on the scope of an anonymous request `public` let through (GraphQLApp reads it).
ANONYMOUS_ALLOWED = "labelgraph.anonymous"
MAX_ANONYMOUS_BODY = 64 * 1024


class RequireActor:
    """The ASGI form of requires_actor, for mounted apps (GraphQL over HTTP and WebSocket).

    `public`, when given, is asked about an anonymous POST's body (read here, at most 64 KiB):
    what it accepts goes on without a caller, marked ANONYMOUS_ALLOWED; everything else is the
    one 401, as with no `public` at all."""

    def __init__(self, app: ASGIApp, *, public: Callable[[bytes], bool] | None = None) -> None:
        self.app = app
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if actor_of(scope) is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401})
            return
        if self.public is not None and scope["type"] == "http" and scope.get("method") == "POST":
            body = await _bounded_body(receive, MAX_ANONYMOUS_BODY)
            if body is not None and self.public(body):
                scope[ANONYMOUS_ALLOWED] = True
                await self.app(scope, _replay(body, receive), send)
                return
        await unauthenticated_response()(scope, receive, send)


async def _bounded_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay
