"""AccessHistory: one access note per GraphQL request and per download, handed to the recorder.

It stands inside the authentication middleware (the caller is known, or the request is
anonymous and answered 401), around every route; health checks, sign-in and GraphiQL's own
files are not data access and pass untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access.models import Channel
from app.access.note import AccessNote, current
from app.auth.actor import Actor

# Route prefix -> how its requests are named until the route names them better.
TRACKED = (
    ("/graphql", Channel.GRAPHQL, "graphql"),
    ("/export/", Channel.DOWNLOAD, "export"),
    ("/guidelines/", Channel.DOWNLOAD, "guideline"),
    ("/reports/", Channel.DOWNLOAD, "report"),
)


def _tracked(scope: Scope) -> tuple[Channel, str] | None:
    path: str = scope.get("path", "")
    for prefix, channel, operation in TRACKED:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            if channel is Channel.GRAPHQL and scope.get("method") == "GET" and not scope.get("query_string"):
                return None  # the GraphiQL page: no data
            return channel, operation
    return None


class AccessHistory:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracked = _tracked(scope) if scope["type"] == "http" else None
        if tracked is None:
            await self.app(scope, receive, send)
            return
        channel, operation = tracked
        user = scope.get("user")
        actor: Actor | None = getattr(user, "actor", None)
        note = AccessNote(
            channel=channel,
            operation=operation,
            operation_type="download" if channel is Channel.DOWNLOAD else "unknown",
            actor_id=actor.id if actor else None,
            actor_kind=actor.kind.value if actor else "ANONYMOUS",
        )
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = current.set(note)
        try:
            await self.app(scope, receive, sending)
        finally:
            current.reset(token)
            note.status = status
            runtime = getattr(scope["app"].state, "runtime", None)
            if runtime is not None:
                runtime.access.add(note)
