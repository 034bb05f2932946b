"""Sending one signed webhook request, and naming what went wrong in the delivery log's terms.

The client connects through `PinnedBackend` (every address checked at connection time, so DNS
rebinding cannot turn a public name into a private target), ignores proxy and certificate
environment variables, never follows redirects and never reads the response body (a receiver
cannot make us hold a large one; only its status code is kept).
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpcore
import httpx

from app.events import signing
from app.events.addresses import AddressError, AddressPolicy, PinnedBackend

logger = logging.getLogger("labelgraph.events")
# httpx's INFO lines name each request's full URL, and a receiver's token may be in its path or
# query: webhook URLs are shown to their managers only, never written to the log.
logging.getLogger("httpx").setLevel(logging.WARNING)
USER_AGENT = "Labelgraph-Webhooks/1"


@dataclass(frozen=True)
class Request:
    """What to send: the delivery's ids (headers), where, and the event's envelope."""

    delivery_id: str
    attempt: int
    event_id: str
    kind: str
    url: str
    secret: str
    envelope: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error_code: str | None
    error_message: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error_code is None


def body_of(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


@cache
def verified_tls() -> ssl.SSLContext:
    """One certificate-verifying TLS context per process: loading the CA bundle takes ~25 ms."""
    return httpx.create_ssl_context(trust_env=False)


class Sender:
    def __init__(self, policy: AddressPolicy, timeout_s: float, *, max_connections: int = 20) -> None:
        self.timeout = httpx.Timeout(timeout_s, connect=timeout_s / 2)
        transport = httpx.AsyncHTTPTransport(verify=verified_tls(), trust_env=False, retries=0)
        # The transport's own pool, rebuilt on our network backend (httpx has no parameter for it).
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=verified_tls(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=PinnedBackend(policy),
        )
        self.client = httpx.AsyncClient(
            transport=transport, timeout=self.timeout, follow_redirects=False, trust_env=False
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(self, request: Request, now: int | None = None) -> Outcome:
        body = body_of(request.envelope)
        timestamp = int(time.time()) if now is None else now
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.HEADER: signing.signature_header(request.secret, timestamp, body),
            "Labelgraph-Event-Id": request.event_id,
            "Labelgraph-Event-Type": request.kind,
            "Labelgraph-Delivery-Id": request.delivery_id,
            "Labelgraph-Delivery-Attempt": str(request.attempt),
        }
        started = time.monotonic()
        status: int | None = None
        try:
            async with self.client.stream("POST", request.url, content=body, headers=headers) as response:
                status = response.status_code
        except AddressError as refused:
            return self._outcome(started, None, refused.code, refused.message)
        except httpx.TimeoutException:
            return self._outcome(started, None, "TIMEOUT", f"No answer within {self.timeout.read:g} s.")
        except httpx.ConnectError as failed:
            if _caused_by(failed, ssl.SSLError):
                return self._outcome(started, None, "TLS_FAILED", "The TLS handshake or the certificate check failed.")
            wrapped = _cause(failed, AddressError)
            if isinstance(wrapped, AddressError):
                return self._outcome(started, None, wrapped.code, wrapped.message)
            return self._outcome(started, None, "CONNECTION_FAILED", "Could not connect to the receiver.")
        except httpx.TransportError:
            return self._outcome(started, None, "CONNECTION_FAILED", "The connection failed before an answer came.")
        except Exception:  # a bug of ours: logged with its stack, named in the log, never raised
            logger.exception("webhook delivery %s: unexpected failure", request.delivery_id)
            return self._outcome(started, None, "UNEXPECTED", "An unexpected error on the server; it is logged.")
        if 200 <= status < 300:
            return self._outcome(started, status, None, None)
        if 300 <= status < 400:
            return self._outcome(
                started, status, "REDIRECT_NOT_FOLLOWED", f"The receiver answered {status}: redirects are not followed."
            )
        return self._outcome(started, status, "HTTP_STATUS", f"The receiver answered {status}.")

    @staticmethod
    def _outcome(started: float, status: int | None, code: str | None, message: str | None) -> Outcome:
        return Outcome(status, code, message, int((time.monotonic() - started) * 1000))


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return _cause(exc, kind) is not None
