"""The local store's transport streams: the app is never more than a few chunks ahead of the reader
(an export is not held in memory whole), and a body cut short fails instead of passing as whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from app.client.streaming import QUEUE_CHUNKS, StreamingASGITransport

CHUNKS = 200


def app_producing(produced: list[int], *, fail_after: int | None = None) -> Starlette:
    async def endpoint(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for n in range(CHUNKS):
                if fail_after is not None and n == fail_after:
                    raise RuntimeError("the export broke")
                produced.append(n)
                yield b"x" * 1024

        return StreamingResponse(body(), media_type="application/octet-stream")

    return Starlette(routes=[Route("/big", endpoint)])


async def test_the_app_runs_only_a_few_chunks_ahead_of_the_reader() -> None:
    produced: list[int] = []
    transport = StreamingASGITransport(app_producing(produced))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://local") as client,
        client.stream("GET", "/big") as response,
    ):
        chunks = response.aiter_raw()
        first = await chunks.__anext__()
        ahead = len(produced)
        rest = [chunk async for chunk in chunks]

    assert response.status_code == 200
    assert len(first) == 1024
    assert ahead <= QUEUE_CHUNKS + 2 < CHUNKS
    assert 1 + len(rest) == CHUNKS


async def test_a_body_the_app_stops_midway_is_an_error_not_a_short_file() -> None:
    transport = StreamingASGITransport(app_producing([], fail_after=5))

    async def read_all() -> int:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://local") as client,
            client.stream("GET", "/big") as response,
        ):
            return len([chunk async for chunk in response.aiter_raw()])

    with pytest.raises(httpx.ReadError, match="ended early"):
        await read_all()
