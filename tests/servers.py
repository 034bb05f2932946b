"""The real app served for tests that need a socket (a browser, a subprocess, the CLI's --url):
uvicorn on a loopback port the kernel picked, in a thread; and Debian's Chromium for playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.settings import Settings
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1 (a port the kernel picked), in a thread; its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        for _ in range(1200):  # until the lifespan has started; bounded in count, not a measurement
            if server.started or not thread.is_alive():
                break
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def sign_in(base_url: str, username: str) -> str:
    """An access token for a user of the test world (its password is PASSWORD)."""
    response = httpx.post(
        f"{base_url}/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium (never a downloaded browser). Skipped, with the reason, when it is absent,
    unless LABELGRAPH_REQUIRE_BROWSER is set (as `.ci/run` sets it): then a failure."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("LABELGRAPH_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}, and LABELGRAPH_REQUIRE_BROWSER is set (as in CI)")
        pytest.skip(reason)
    return CHROMIUM
