"""The address policy and the pinned connection, without a network: a resolver that answers what
the test says, and a network backend that records what it was asked to connect to (so no test
ever sends a packet to a private address)."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpcore
import pytest

from app.events.addresses import AddressError, AddressPolicy, IPAddress, PinnedBackend, parse_url

REFUSED = {
    "127.0.0.1": "loopback",
    "127.5.5.5": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "::ffff:10.0.0.1": "private",
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "2002:a00:1::": "private",  # 6to4 of 10.0.0.1
    "fd00::1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",  # noqa: S104  (an address judged, nothing bound)
    "::": "unspecified",
    "100.64.0.1": "not public",  # shared address space (carrier-grade NAT)
    "240.0.0.1": "private",
    "2001:db8::1": "private",  # documentation
}


@pytest.mark.parametrize(("address", "reason"), REFUSED.items())
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:93.184.215.14"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_let_their_addresses_through_and_nothing_else() -> None:
    policy = AddressPolicy(["127.0.0.0/8"])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None  # the same address, mapped
    assert policy.refusal(ipaddress.ip_address("::1")) == "loopback"
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "private"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://hooks.example.com/a?b=c", None),
        ("http://example.com:8443/", None),
        ("HTTPS://example.com/", None),
        ("gopher://example.com/", "UNSUPPORTED_SCHEME"),
        ("https://u@example.com/", "CREDENTIALS_IN_URL"),
        ("https://:p@example.com/", "CREDENTIALS_IN_URL"),
        ("https://example.com/#frag", "INVALID_URL"),
        ("https://example.com:99999/", "INVALID_URL"),
        ("https://example.com:0/", "INVALID_URL"),
        ("https://exa mple.com/", "INVALID_URL"),
        ("https://example.com/\x00", "INVALID_URL"),
        ("https://example.com/" + "a" * 2100, "INVALID_URL"),
    ],
)
def test_url_forms(url: str, code: str | None) -> None:
    _parts, problems = parse_url(url)
    assert [p.code for p in problems] == ([] if code is None else [code])


class Recording(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        raise httpcore.ConnectError("recorded only")


def resolving(*addresses: str) -> Any:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolver


async def test_a_name_that_rebinds_to_a_private_address_is_never_connected_to() -> None:
    inner = Recording()
    backend = PinnedBackend(AddressPolicy(resolver=resolving("10.0.0.7")), inner)
    with pytest.raises(AddressError) as refused:
        await backend.connect_tcp("hooks.example.com", 443)
    assert refused.value.code == "ADDRESS_REFUSED"
    assert inner.connected == []


async def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    inner = Recording()
    backend = PinnedBackend(AddressPolicy(resolver=resolving("93.184.215.14", "127.0.0.1")), inner)
    with pytest.raises(AddressError):
        await backend.connect_tcp("hooks.example.com", 443)
    assert inner.connected == []


async def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    inner = Recording()
    backend = PinnedBackend(AddressPolicy(resolver=resolving("93.184.215.14", "2606:2800:21f::1")), inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("hooks.example.com", 443)
    # Not the name again (a second lookup could answer differently): each checked address in turn.
    assert inner.connected == [("93.184.215.14", 443), ("2606:2800:21f::1", 443)]


async def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    async def failing(host: str, port: int) -> list[IPAddress]:
        raise OSError("no such host")

    with pytest.raises(AddressError) as failed:
        await AddressPolicy(resolver=failing).addresses("nowhere.example", 443)
    assert failed.value.code == "DNS_FAILED"
