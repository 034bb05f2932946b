"""A store per test (SQLite and PostgreSQL, as everywhere) holding the test world, for the CLI to open."""

from __future__ import annotations

import asyncio

import pytest

from app.settings import Settings
from tests.cli.support import Store
from tests.conftest import build_world


@pytest.fixture
def store(settings: Settings, password_hash: str) -> Store:
    return Store(settings, asyncio.run(build_world(settings, password_hash)))
