"""One authentication path for every route: the bearer token is resolved once, in middleware.

Starlette's AuthenticationMiddleware runs BearerBackend on every HTTP and WebSocket connection.
No Authorization header (or another scheme, such as the Basic credentials a service account
sends to /auth/token) is an anonymous caller; a bearer token that fails any check is the one
401 of `unauthenticated_response`, on any route. Routes that need a caller say so with
`requires_actor` (endpoints) or `RequireActor` (ASGI apps such as GraphQL); the open ones
(/auth/token, /auth/revoke, /healthz) simply do not ask.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.actor import Actor
from app.auth.bearer import actor_from_token, unauthenticated_response
from app.errors import Unauthenticated
from app.runtime import Runtime

SCOPE = "api"  # the one credential scope a valid access token carries


class AuthenticatedActor(BaseUser):
    """Starlette's view of the caller (request.user), holding the Actor the services use."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

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
        if scheme.lower() != "bearer":
            return None  # anonymous: routes that need a caller answer 401 themselves
        runtime: Runtime = conn.app.state.runtime
        try:
            actor = await actor_from_token(runtime, token.strip())
        except Unauthenticated as exc:
            raise AuthenticationError("invalid bearer token") from exc
        return AuthCredentials([SCOPE]), AuthenticatedActor(actor)


def _on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    return unauthenticated_response()


def authentication() -> Middleware:
    """The middleware entry for Starlette(middleware=[...])."""
    return Middleware(AuthenticationMiddleware, backend=BearerBackend(), on_error=_on_error)


def actor_of(scope: Scope) -> Actor | None:
    """The caller the middleware resolved for this connection; None when anonymous."""
    user = scope.get("user")
    return user.actor if isinstance(user, AuthenticatedActor) else None


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


class RequireActor:
    """The ASGI form of requires_actor, for mounted apps (GraphQL over HTTP and WebSocket)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if actor_of(scope) is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401})
            else:
                await unauthenticated_response()(scope, receive, send)
            return
        await self.app(scope, receive, send)
