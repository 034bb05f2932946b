"""Bootstrapping a database with the `labelgraph` CLI, and the uvicorn server under test."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET_KEY = "bench-only-signing-key-0123456789abcdef0123456789abcdef"
PASSWORD = "bench-password-123"
ADMIN = "admin"
ANNOTATORS = ("ann1", "ann2", "ann3", "ann4")
REVIEWER = "reviewer"


def server_env(database_url: str) -> dict[str, str]:
    """The environment of the CLI and the server: ours, without any LABELGRAPH_* of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELGRAPH_")}
    env.update(
        # The checkout the bench lives in, not whichever one the virtualenv's editable install
        # points at: the `labelgraph` script would otherwise import that one's `app`.
        PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH")))),
        LABELGRAPH_DATABASE_URL=database_url,
        LABELGRAPH_SECRET_KEY=SECRET_KEY,
        # Sign-in is not what is measured; cheap hashes keep the CLI and /auth/token quick.
        LABELGRAPH_ARGON2_TIME_COST="1",
        LABELGRAPH_ARGON2_MEMORY_KIB="8192",
        # A slow PostgreSQL repetition must not outlive its tokens (900 s by default).
        LABELGRAPH_TOKEN_LIFETIME_S="3600",
    )
    return env


def bootstrap(database_url: str, people: Sequence[str] = (ADMIN, *ANNOTATORS, REVIEWER)) -> None:
    """Schema, the bench's people (`ADMIN` among them) and the first admin, as an operator would set them up."""
    env = server_env(database_url)

    def start(*args: str) -> tuple[str, subprocess.Popen[str]]:
        return " ".join(("labelgraph", *args)), subprocess.Popen(
            [str(BIN / "labelgraph"), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def finish(*commands: tuple[str, subprocess.Popen[str]]) -> list[str]:
        """Wait for the commands; raise for the first that failed other than on a locked SQLite
        file, and answer the names of those (to run again)."""
        locked: list[str] = []
        for name, command in commands:
            output, _ = command.communicate()
            if command.returncode != 0:
                if "database is locked" not in output:
                    raise RuntimeError(f"{name} failed:\n{output}")
                locked.append(name)
        return locked

    def run(*args: str) -> None:
        if finish(start(*args)):
            raise RuntimeError(f"{' '.join(('labelgraph', *args))} failed: the database stayed locked")

    run("migrate")
    # The users are independent of each other: create them at once (each CLI call is mostly
    # start-up). On a loaded machine a writer can outwait SQLite's busy timeout: those go again, one
    # at a time.
    made = {" ".join(("labelgraph", "user", "create", name, "--password", PASSWORD)): name for name in people}
    for again in finish(*(start("user", "create", name, "--password", PASSWORD) for name in people)):
        run("user", "create", made[again], "--password", PASSWORD)
    run("user", "grant", ADMIN, "admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the bench itself dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass(frozen=True)
class ProcessUsage:
    cpu_s: float
    peak_rss_mib: float


class Server:
    """`uvicorn --factory app.main:app_from_env` on a free loopback port, stopped on exit."""

    def __init__(self, database_url: str, log_path: Path, settings: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # settings: LABELGRAPH_* variables for this server only (a setting being measured)
        self._env = {**server_env(database_url), **(settings or {})}
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> Server:
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    str(BIN / "uvicorn"),
                    "--factory",
                    "app.main:app_from_env",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited with {self._process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {timeout_s:.0f} s:\n{self.log_tail()}")

    def usage(self) -> ProcessUsage:
        """CPU seconds so far and peak resident memory (VmHWM), from /proc."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu_s = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        peak_kib = 0
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak_kib = int(line.split()[1])
        return ProcessUsage(cpu_s=cpu_s, peak_rss_mib=peak_kib / 1024)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
