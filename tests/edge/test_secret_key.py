"""The development signing key lives in the data folder, so a restart keeps everyone signed in.

LABELGRAPH_SECRET_KEY still wins, and production still demands it. The file is private (0600)
and its value never shows in a repr or a log line.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import PASSWORD, World


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.delenv("LABELGRAPH_SECRET_KEY", raising=False)
    monkeypatch.delenv("LABELGRAPH_PRODUCTION", raising=False)
    monkeypatch.setenv("LABELGRAPH_DATA_DIR", str(folder))
    return folder


def test_the_key_is_made_once_and_kept_private(data_dir: Path) -> None:
    first = Settings.from_env()
    second = Settings.from_env()

    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    key_file = data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == first.secret_key
    assert [p.name for p in data_dir.iterdir()] == ["secret_key"]  # no temporary left behind
    assert first.secret_key not in repr(first)


def test_the_data_folder_holds_the_default_database_too(data_dir: Path) -> None:
    assert Settings.from_env().database_url == f"sqlite+aiosqlite:///{data_dir}/labelgraph.db"


def test_the_environment_key_wins_and_no_file_is_made(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELGRAPH_SECRET_KEY", "from-the-environment-" + "k" * 40)

    assert Settings.from_env().secret_key == "from-the-environment-" + "k" * 40
    assert not (data_dir / "secret_key").exists()


def test_production_still_requires_the_environment_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELGRAPH_PRODUCTION", "1")

    with pytest.raises(RuntimeError, match="LABELGRAPH_SECRET_KEY must be set"):
        Settings.from_env()
    assert not (data_dir / "secret_key").exists()


def test_a_key_file_others_can_read_is_refused(data_dir: Path) -> None:
    Settings.from_env()
    (data_dir / "secret_key").chmod(0o644)

    with pytest.raises(RuntimeError, match="chmod 600") as refused:
        Settings.from_env()
    assert (data_dir / "secret_key").read_text().strip() not in str(refused.value)


def test_an_unusable_key_file_is_refused(data_dir: Path) -> None:
    data_dir.mkdir()
    key_file = data_dir / "secret_key"
    key_file.write_text("short\n")
    key_file.chmod(0o600)

    with pytest.raises(RuntimeError, match="delete it"):
        Settings.from_env()


async def test_a_restart_keeps_tokens_valid(
    data_dir: Path,
    database_url: str,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("LABELGRAPH_DATABASE_URL", database_url)
    monkeypatch.setenv("LABELGRAPH_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("LABELGRAPH_ARGON2_MEMORY_KIB", "64")
    caplog.set_level(logging.DEBUG)

    async def serve(call: str, token: str = "") -> httpx.Response:
        application = create_app(Settings.from_env())  # a fresh process's view: settings, keys, caches
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                if call == "sign in":
                    form = {"grant_type": "password", "username": "ann1", "password": PASSWORD}
                    return await client.post("/auth/token", data=form)
                headers = {"Authorization": f"Bearer {token}"}
                return await client.post("/graphql", json={"query": "{ viewer { username } }"}, headers=headers)

    signed_in = await serve("sign in")
    assert signed_in.status_code == 200, signed_in.text

    after_restart = await serve("viewer", signed_in.json()["access_token"])

    assert after_restart.status_code == 200, after_restart.text
    assert after_restart.json() == {"data": {"viewer": {"username": "ann1"}}}
    key = (data_dir / "secret_key").read_text().strip()
    assert key not in caplog.text
