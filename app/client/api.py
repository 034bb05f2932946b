"""The API as a client sees it: GraphQL over HTTP and the authenticated download routes.

Everything the server refuses becomes an `ApiError` with one line to show (the server's own code
and message): the CLI prints it and exits 2. No retry and no interpretation here: the commands
decide what a refusal means for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from app.client.errors import ApiError

# A batch of importItems can take a while on a busy server; connecting should not.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
PROJECTS_PAGE = 100

FIND_PROJECTS = """
query CliProjects($after: String) {
  projects(first: 100, after: $after) {
    edges { node { id name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass(frozen=True)
class ProjectRef:
    id: str  # the global id
    name: str


class Api:
    """One server, one identity. `token` is asked for before every request (a local store mints
    fresh short-lived tokens, so a long import outlives none of them)."""

    def __init__(self, http: httpx.AsyncClient, token: Callable[[], str], where: str) -> None:
        self.http = http
        self._token = token
        self.where = where  # for messages: the URL, or "the local store"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}"}

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a GraphQL request; top-level errors (FORBIDDEN on a field, a bad query) raise."""
        try:
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=self._headers()
            )
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.where}: {_transport_problem(exc)}") from None
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise ApiError(_http_problem(response, body))
        errors = body.get("errors")
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            code = (first.get("extensions") or {}).get("code", "ERROR")
            raise ApiError(f"{code}: {first.get('message', 'the request failed')}")
        data: dict[str, Any] = body.get("data") or {}
        return data

    @asynccontextmanager
    async def download(self, path: str, params: dict[str, str] | None = None) -> AsyncIterator[httpx.Response]:
        """A streamed GET of a download route; an answer other than 200 raises with its description."""
        request = self.http.build_request("GET", path, params=params or {}, headers=self._headers())
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.where}: {_transport_problem(exc)}") from None
        try:
            if response.status_code != 200:
                await response.aread()
                raise ApiError(_http_problem(response, _json(response)))
            yield response
        finally:
            await response.aclose()

    async def project(self, ref: str) -> ProjectRef:
        """A project by global id or by name, among those the caller holds a role in (a project it
        may not read is as missing as one that does not exist)."""
        after: str | None = None
        while True:
            page = (await self.graphql(FIND_PROJECTS, {"after": after}))["projects"]
            for edge in page["edges"]:
                node = edge["node"]
                if ref in (node["id"], node["name"]):
                    return ProjectRef(node["id"], node["name"])
            if not page["pageInfo"]["hasNextPage"]:
                raise ApiError(f"no project {ref!r} that you may read (give its name or its id)")
            after = page["pageInfo"]["endCursor"]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _http_problem(response: httpx.Response, body: Any) -> str:
    """One line from an error answer: the route's {"error","error_description"}, GraphQL's
    UNAUTHENTICATED, or the status alone."""
    if isinstance(body, dict):
        if "error_description" in body:
            return f"{body.get('error', 'error')}: {body['error_description']} (HTTP {response.status_code})"
        errors = body.get("errors")
        if errors and isinstance(errors[0], dict):
            code = (errors[0].get("extensions") or {}).get("code", "ERROR")
            return f"{code}: {errors[0].get('message', '')} (HTTP {response.status_code})"
    if response.status_code == 401:
        return "UNAUTHENTICATED: the server refused the token (HTTP 401)"
    return f"the server answered HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _transport_problem(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or no route (is the server running?)"
    if isinstance(exc, httpx.TimeoutException):
        return "it did not answer in time"
    return str(exc) or exc.__class__.__name__
