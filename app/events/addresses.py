"""Where a webhook may send: URL rules and the address policy (SSRF), checked at registration and
again at every connection.

Only http and https, a host, no credentials, no fragment. The host is resolved and every address
it resolves to must be public: loopback, private (RFC 1918, unique local), link-local (cloud
metadata at 169.254.169.254), multicast, reserved, unspecified, shared (100.64/10) and the other
non-global ranges are refused, IPv4 and IPv6 alike, IPv4 inside IPv6 (mapped ::ffff:a.b.c.d,
NAT64 64:ff9b::/96, 6to4 2002::/16) judged as the IPv4 address it carries. Networks listed in
LABELGRAPH_WEBHOOK_ALLOWED_NETWORKS are let through (tests list loopback for a local receiver).

Checking the name once and letting the HTTP client resolve it again would be open to DNS
rebinding (public at the check, 127.0.0.1 at the connection), so deliveries connect through
`PinnedBackend`: it resolves, checks, and connects to the very address it checked; TLS still
verifies the certificate for the host name. Redirects are never followed and proxies from the
environment are ignored (app/events/sender.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore

from app.errors import Problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

MAX_URL = 2048
DNS_TIMEOUT_S = 3.0
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressError(Exception):
    """A host that may not be reached (ADDRESS_REFUSED) or did not resolve (DNS_FAILED)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_url(url: str, field: str = "url") -> tuple[SplitResult | None, list[Problem]]:
    """The URL split into parts, or the problems that make it unusable for a webhook."""
    if not url or len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None, [Problem("INVALID_URL", f"Give an absolute http(s) URL of at most {MAX_URL} characters.", field)]
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port out of range or not a number
    except ValueError:
        return None, [Problem("INVALID_URL", "Not a URL.", field)]
    if parts.scheme.lower() not in ("http", "https"):
        return None, [Problem("UNSUPPORTED_SCHEME", "Webhooks are http or https URLs.", field)]
    if parts.username is not None or parts.password is not None:
        return None, [
            Problem("CREDENTIALS_IN_URL", "Put no user or password in the URL: requests are signed instead.", field)
        ]
    if not parts.hostname or parts.fragment or (port is not None and port == 0):
        return None, [Problem("INVALID_URL", "The URL needs a host (and no #fragment).", field)]
    return parts, []


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


class AddressPolicy:
    """Which addresses webhooks may reach: public ones, and the networks settings allow."""

    def __init__(self, allowed: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in allowed)
        self.resolver = resolver or system_resolver

    def refusal(self, address: IPAddress) -> str | None:
        """Why the address may not be reached; None when it may."""
        candidates: list[IPAddress] = [address]
        embedded = embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        if any(candidate in network for candidate in candidates for network in self.allowed):
            return None
        judged = embedded or address
        for test, reason in (
            (judged.is_unspecified, "unspecified"),
            (judged.is_loopback, "loopback"),
            (judged.is_link_local, "link-local"),
            (judged.is_multicast, "multicast"),
            (judged.is_private, "private"),
            (judged.is_reserved, "reserved"),
            (not judged.is_global, "not public"),
        ):
            if test:
                return reason
        return None

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address the host resolves to, each one allowed; else AddressError."""
        literal = _literal(host)
        if literal is not None:
            found = [literal]
        else:
            try:
                found = await asyncio.wait_for(self.resolver(host, port), DNS_TIMEOUT_S)
            except (OSError, TimeoutError, UnicodeError):
                found = []
            if not found:
                raise AddressError("DNS_FAILED", "The host name does not resolve.")
        for address in found:
            reason = self.refusal(address)
            if reason is not None:
                raise AddressError(
                    "ADDRESS_REFUSED", f"The host resolves to a {reason} address, which webhooks may not reach."
                )
        return found

    async def check(self, url: str, field: str = "url") -> list[Problem]:
        """Registration's check: the URL's form, then where its host resolves now."""
        parts, problems = parse_url(url, field)
        if parts is None:
            return problems
        assert parts.hostname is not None
        try:
            await self.addresses(parts.hostname, default_port(parts))
        except AddressError as refused:
            code = "UNRESOLVABLE_HOST" if refused.code == "DNS_FAILED" else refused.code
            return [Problem(code, refused.message, field)]
        return []


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, resolved here, at connection time."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses: Sequence[IPAddress] = await self.policy.addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                last = failed
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressError("ADDRESS_REFUSED", "Webhooks do not reach Unix sockets.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
