"""Talking to identity providers: discovery documents and JWK Sets, cached per process, and the
authlib client that exchanges a code, all through the webhook's address policy (SSRF).

Every connection resolves the provider's host and checks each address against
app/events/addresses.AddressPolicy (public addresses only, plus LABELGRAPH_OIDC_ALLOWED_NETWORKS,
which tests set to loopback), then connects to the very address it checked. Redirects are not
followed, proxies from the environment are ignored, answers are bounded while they stream in
(MAX_DOCUMENT_BYTES), and the endpoints a discovery document names must be https unless
LABELGRAPH_OIDC_ALLOW_HTTP (tests, development).

- Discovery (`{issuer}/.well-known/openid-configuration`) is cached for DISCOVERY_TTL_S; its
  `issuer` must equal the configured one exactly (OpenID Connect Discovery 1.0, section 4.3).
- The JWK Set (`jwks_uri`) is cached for JWKS_TTL_S and fetched again at once when an ID token
  names a kid it lacks (a key rotation at the provider), at most every JWKS_RETRY_S per provider.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc.jwk import KeySet

from app.events.addresses import AddressError, AddressPolicy

DISCOVERY_TTL_S = 3600.0
JWKS_TTL_S = 3600.0
JWKS_RETRY_S = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024


class ProviderUnreachable(Exception):
    """The provider could not be reached or answered something unusable. The message is ours,
    safe to log: it never carries a URL's query, a code, a token or a secret."""


class _Pinned(httpcore2.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, resolved here at connection time."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await self.policy.addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as failed:
                last = failed
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise AddressError("ADDRESS_REFUSED", "Identity providers are not reached over Unix sockets.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def pinned_transport(policy: AddressPolicy) -> httpx2.AsyncHTTPTransport:
    transport = httpx2.AsyncHTTPTransport(trust_env=False, retries=0)
    # The transport's own pool, rebuilt on our network backend (httpx2 has no parameter for it).
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=httpx2.create_ssl_context(trust_env=False),
        max_connections=10,
        max_keepalive_connections=10,
        keepalive_expiry=30.0,
        network_backend=_Pinned(policy),
    )
    return transport


@dataclass(frozen=True)
class Metadata:
    """What we use of a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    signing_algorithms: tuple[str, ...]


@dataclass
class _Keys:
    keys: KeySet
    fetched: float
    last_retry: float = 0.0


class ProviderDirectory:
    """This process's view of the providers it talks to: metadata and keys, by issuer."""

    def __init__(self, policy: AddressPolicy, timeout_s: float, *, allow_http: bool = False) -> None:
        self.policy = policy
        self.allow_http = allow_http  # LABELGRAPH_OIDC_ALLOW_HTTP: endpoints over http (tests, development)
        self.timeout = httpx2.Timeout(timeout_s, connect=timeout_s / 2)
        self._metadata: dict[str, tuple[Metadata, float]] = {}
        self._keys: dict[str, _Keys] = {}
        self._lock = asyncio.Lock()

    def client(self, **kwargs: Any) -> AsyncOAuth2Client:
        """authlib's OAuth 2 client on the pinned transport (closed by the caller)."""
        return AsyncOAuth2Client(
            transport=pinned_transport(self.policy),
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            **kwargs,
        )

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with (
                httpx2.AsyncClient(
                    transport=pinned_transport(self.policy),
                    timeout=self.timeout,
                    follow_redirects=False,
                    trust_env=False,
                ) as http,
                http.stream("GET", url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise ProviderUnreachable(f"the provider's {what} answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:  # stop reading: never hold more than the bound
                        raise ProviderUnreachable(f"the provider's {what} is too large")
        except AddressError as refused:
            raise ProviderUnreachable(f"the provider's {what}: {refused.message}") from None
        except httpx2.HTTPError as failed:
            raise ProviderUnreachable(f"the provider's {what} could not be fetched ({type(failed).__name__})") from None
        try:
            document = json.loads(bytes(body))
        except ValueError:
            raise ProviderUnreachable(f"the provider's {what} is not JSON") from None
        if not isinstance(document, dict):
            raise ProviderUnreachable(f"the provider's {what} is not a JSON object")
        return document

    async def metadata(self, issuer: str) -> Metadata:
        cached = self._metadata.get(issuer)
        if cached is not None and time.monotonic() - cached[1] < DISCOVERY_TTL_S:
            return cached[0]
        document = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
        if document.get("issuer") != issuer:
            raise ProviderUnreachable("the provider's discovery document names another issuer")
        try:
            found = Metadata(
                issuer=issuer,
                authorization_endpoint=_text(document, "authorization_endpoint", self.allow_http),
                token_endpoint=_text(document, "token_endpoint", self.allow_http),
                jwks_uri=_text(document, "jwks_uri", self.allow_http),
                signing_algorithms=tuple(
                    str(a) for a in document.get("id_token_signing_alg_values_supported") or ["RS256"]
                ),
            )
        except KeyError as missing:
            raise ProviderUnreachable(f"the provider's discovery document lacks {missing.args[0]}") from None
        self._metadata[issuer] = (found, time.monotonic())
        return found

    async def keys(self, metadata: Metadata, kid: str | None) -> KeySet:
        """The provider's keys; fetched again when they are old, or (rate limited) when `kid` is
        not among them."""
        now = time.monotonic()
        cached = self._keys.get(metadata.issuer)
        retried = 0.0  # when a refetch for an unknown kid last ran (rate limits the next)
        if cached is not None and now - cached.fetched < JWKS_TTL_S:
            if kid is None or _has(cached.keys, kid) or now - cached.last_retry < JWKS_RETRY_S:
                return cached.keys
            retried = now
        async with self._lock:
            document = await self._get_json(metadata.jwks_uri, "key set")
            try:
                keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except Exception:  # joserfc raises several types for a malformed set
                raise ProviderUnreachable("the provider's key set is not a JWK Set") from None
            self._keys[metadata.issuer] = _Keys(keys, time.monotonic(), last_retry=retried)
            return keys

    def forget(self, issuer: str) -> None:
        """A provider reconfigured: read its discovery document and keys again."""
        self._metadata.pop(issuer, None)
        self._keys.pop(issuer, None)


def _text(document: dict[str, Any], name: str, allow_http: bool) -> str:
    """An endpoint URL of the document: https (http too only where allowed); KeyError otherwise."""
    value = document.get(name)
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if not isinstance(value, str) or not value.lower().startswith(schemes):
        raise KeyError(name)
    return value


def _has(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)
