"""Single sign-on tests run against a real OpenID Connect provider on loopback (tests/sso/provider.py);
the server may reach loopback providers over http only here (settings)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from app.settings import Settings
from tests.sso.provider import Provider, Served


@pytest.fixture(scope="session")
def served_provider() -> Iterator[Provider]:
    with Served() as provider:
        yield provider


@pytest.fixture
def provider(served_provider: Provider) -> Iterator[Provider]:
    served_provider.reset()
    yield served_provider
    served_provider.reset()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, oidc_allowed_networks=("127.0.0.0/8",), oidc_allow_http=True)
