"""The container image and compose.yaml for real: build the image, bring the whole deployment up
(PostgreSQL, migrate, N server processes behind one port, the worker), wait for /healthz through
that port, sign in and run one GraphQL query, then take it all down with its volume.

Marked `docker` (leave it out with `-m "not docker"`): it needs a Docker daemon with compose v2, and
its first build fetches the base images, PyPI and npm packages (minutes; seconds with the layer
cache). Where `docker info` fails it is skipped, and the reason is shown (pytest -ra).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker
BUILD_TIMEOUT_S = 1800
READY_TIMEOUT_S = 300
# What compose.yaml reads from the environment: the test sets every one, so a developer's shell
# or .env file cannot change what is tested.
COMPOSE_VARIABLES = (
    "LABELGRAPH_SECRET_KEY",
    "LABELGRAPH_AUDIT_KEY",
    "LABELGRAPH_WEBHOOK_KEY",
    "LABELGRAPH_CONTENT_HASH_KEY",
    "LABELGRAPH_SERVER_PASSWORD",
    "POSTGRES_PASSWORD",
    "LABELGRAPH_SERVER_PROCESSES",
    "LABELGRAPH_BIND",
    "LABELGRAPH_PORT",
    "LABELGRAPH_IMAGE",
)


def docker_skip_reason() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False)  # noqa: S607
    if info.returncode != 0:
        lines = (info.stderr or info.stdout).strip().splitlines()
        return f"`docker info` failed, no daemon to build and run the image: {lines[-1] if lines else info.returncode}"
    compose = subprocess.run(
        ["docker", "compose", "version"],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if compose.returncode != 0:
        return "`docker compose version` failed: the compose v2 plugin is not installed"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Deployment:
    """`docker compose` on the repository's compose.yaml, as its own project with its own values."""

    def __init__(self, port: int) -> None:
        self.name = f"labelgraph-smoke-{os.getpid()}"
        self.port = port
        values = {
            "LABELGRAPH_SECRET_KEY": secrets.token_hex(32),
            "LABELGRAPH_SERVER_PASSWORD": secrets.token_hex(16),
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "LABELGRAPH_SERVER_PROCESSES": "2",
            "LABELGRAPH_BIND": "127.0.0.1",
            "LABELGRAPH_PORT": str(port),
            "LABELGRAPH_IMAGE": "labelgraph:smoke",
        }
        self.env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES} | values

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "--project-name", self.name, "--project-directory", str(ROOT)]
        command += ["--file", str(ROOT / "compose.yaml"), *args]
        return subprocess.run(  # noqa: S603  (docker, fixed arguments)
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def must(self, *args: str, timeout: float = 300) -> str:
        done = self(*args, timeout=timeout)
        assert done.returncode == 0, f"docker compose {' '.join(args)}:\n{done.stdout}\n{done.stderr}\n{self.logs()}"
        return done.stdout

    def logs(self) -> str:
        return self("logs", "--no-color", "--tail", "80").stdout

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    reason = docker_skip_reason()
    if reason:
        pytest.skip(reason)
    compose = Deployment(free_port())
    try:
        compose.must("up", "--detach", "--build", timeout=BUILD_TIMEOUT_S)
        yield compose
    finally:
        compose("down", "--volumes", "--remove-orphans", timeout=300)


def wait_healthy(compose: Deployment) -> None:
    """Until /healthz answers through the published port (bounded: READY_TIMEOUT_S)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(compose.url("/healthz"), timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)  # polling a server in other processes; not a timing assertion
    pytest.fail(f"/healthz did not answer within {READY_TIMEOUT_S} s:\n{compose.logs()}")


def test_compose_serves_the_api_on_one_port_with_a_worker_beside_it(deployment: Deployment) -> None:
    wait_healthy(deployment)
    password = secrets.token_urlsafe(18)
    # A one-off container of the image (the worker's service: its environment, no port) makes a person.
    created = deployment.must(
        "run", "--rm", "--no-deps", "-T", "worker", "user", "create", "smoke", "--password", password
    )
    assert "created human smoke" in created

    token = httpx.post(
        deployment.url("/auth/token"),
        data={"grant_type": "password", "username": "smoke", "password": password},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    answer = httpx.post(
        deployment.url("/graphql"),
        json={"query": "{ viewer { username kind } }"},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": {"viewer": {"username": "smoke", "kind": "HUMAN"}}}
    running = set(deployment.must("ps", "--services", "--status", "running").split())
    assert {"db", "server", "worker"} <= running, deployment.logs()
    migrate = deployment.must("ps", "--all", "--format", "{{.Service}} {{.State}} {{.ExitCode}}", "migrate")
    assert migrate.split() == ["migrate", "exited", "0"], deployment.logs()
