"""Talking to providers (app/sso/fetch.py) against the in-suite provider: which endpoints a
discovery document may name, and how much of an answer is read."""

from __future__ import annotations

import asyncio

import pytest

from app.events.addresses import AddressPolicy
from app.sso.fetch import ProviderDirectory, ProviderUnreachable
from tests.sso.provider import Provider

LOOPBACK = AddressPolicy(("127.0.0.0/8",))


async def test_endpoints_over_http_are_refused_unless_allowed(provider: Provider) -> None:
    strict = ProviderDirectory(LOOPBACK, 5.0, allow_http=False)
    with pytest.raises(ProviderUnreachable, match="authorization_endpoint"):
        await strict.metadata(provider.issuer)  # the test provider's endpoints are http

    relaxed = ProviderDirectory(LOOPBACK, 5.0, allow_http=True)
    found = await relaxed.metadata(provider.issuer)
    assert found.token_endpoint == f"{provider.issuer}/token"
    assert found.jwks_uri == f"{provider.issuer}/jwks"


async def test_an_endless_answer_is_cut_off_while_it_streams(provider: Provider) -> None:
    """Reading the whole body first would never end here (the provider's /huge streams forever)."""
    directory = ProviderDirectory(LOOPBACK, 5.0, allow_http=True)

    with pytest.raises(ProviderUnreachable, match="too large"):
        await asyncio.wait_for(directory._get_json(f"{provider.issuer}/huge", "key set"), 20)
