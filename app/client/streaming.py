"""An httpx transport onto an ASGI app in this process that streams response bodies.

httpx's own ASGITransport collects the whole body before it returns the response: an export of a
large project would sit in memory whole before the first byte reached the file. Here the app runs
in a task and hands each body chunk over through a small queue, so the app produces no faster than
the file is written and memory stays at a few chunks. A body the app stops producing midway (it
raised) ends the stream with an error instead of a short file that looks whole.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx

# Chunks in flight between the app and the reader.
QUEUE_CHUNKS = 8
_END = b""  # the app sends no empty chunks through the queue: an empty one marks the end


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
        exchange = _Exchange(request.stream.__aiter__())
        task = asyncio.create_task(exchange.run(self.app, scope))
        await exchange.started.wait()
        if exchange.status is None:  # the app failed before it answered
            await task
            raise RuntimeError("the app answered nothing")
        return httpx.Response(exchange.status, headers=exchange.headers, stream=_Body(exchange, task))


class _Exchange:
    def __init__(self, request_body: AsyncIterator[bytes]) -> None:
        self.request_body = request_body
        self.request_done = False
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = asyncio.Event()
        self.closed = asyncio.Event()  # the reader is done: the app may see a disconnect
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_CHUNKS)
        self.ended = False
        self.failure: BaseException | None = None

    async def run(self, app: Any, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self.receive, self.send)
        except Exception as exc:
            if not self.ended:  # a failure after the whole body went out does not spoil it
                self.failure = exc
            if self.status is None:
                self.started.set()
                raise
        finally:
            self.started.set()
            if not self.ended:
                self.ended = True
                await self.chunks.put(_END)

    async def receive(self) -> dict[str, Any]:
        if not self.request_done:
            try:
                body = await self.request_body.__anext__()
            except StopAsyncIteration:
                self.request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": body, "more_body": True}
        await self.closed.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
            self.started.set()
        elif message["type"] == "http.response.body" and not self.ended:
            body = message.get("body", b"")
            if body:
                await self.chunks.put(body)
            if not message.get("more_body", False):
                self.ended = True
                await self.chunks.put(_END)


class _Body(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange, task: asyncio.Task[None]) -> None:
        self._exchange = exchange
        self._task = task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._exchange.chunks.get()) != _END:
            yield chunk
        await self._finished()
        if self._exchange.failure is not None:
            raise httpx.ReadError(f"the response ended early: {self._exchange.failure.__class__.__name__}")

    async def _finished(self) -> None:
        with contextlib.suppress(Exception):
            await self._task

    async def aclose(self) -> None:
        self._exchange.closed.set()
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
