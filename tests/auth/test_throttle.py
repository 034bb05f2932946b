"""Brute-force protection at /auth/token: per username and per client address, with backoff,
answered 429 with Retry-After, the same for known and unknown usernames, recorded in the access
history. Time moves in the rows (locked_until), never by sleeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from app.access.models import AccessEvent, Channel, Outcome
from app.auth.models import LoginThrottle, ThrottleScope
from app.auth.throttle import client_address
from app.clock import utcnow
from app.settings import Settings
from tests.auth.support import CHANGE_PASSWORD, codes
from tests.conftest import CHEAP_ARGON2, PASSWORD, SECRET_KEY, Api

PER_USERNAME = 3
PER_ADDRESS = 8
BACKOFF = 60


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        login_failures_per_username=PER_USERNAME,
        login_failures_per_address=PER_ADDRESS,
        login_backoff_s=BACKOFF,
        **CHEAP_ARGON2,
    )


async def attempt(api: Api, username: str, password: str, *, client: tuple[str, int] | None = None) -> httpx.Response:
    form = {"grant_type": "password", "username": username, "password": password}
    if client is None:
        return await api.client.post("/auth/token", data=form)
    transport = httpx.ASGITransport(app=api.app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        return await other.post("/auth/token", data=form)


def answer(response: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    return (
        response.status_code,
        response.json(),
        response.headers.get("retry-after"),
        response.headers.get("cache-control"),
    )


async def unlock(api: Api) -> None:
    """The backoff has run out (the lock moved into the past)."""
    async with api.runtime.sessions() as session:
        await session.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
        await session.commit()


async def test_known_and_unknown_usernames_are_throttled_alike(api: Api) -> None:
    known, unknown = [], []
    for _ in range(PER_USERNAME):
        known.append(answer(await attempt(api, "ann1", "not-the-password")))
        unknown.append(answer(await attempt(api, "nobody-at-all", "not-the-password")))
    assert known == unknown
    assert {a[0] for a in known} == {400}

    # Locked now: even the right password is not checked, and the answer tells nothing more.
    locked_known = answer(await attempt(api, "ann1", PASSWORD))
    locked_unknown = answer(await attempt(api, "nobody-at-all", PASSWORD))
    assert locked_known == locked_unknown
    status, body, retry_after, cache = locked_known
    assert status == 429
    assert body == {"error": "too_many_attempts", "error_description": "Too many failed sign-ins: try again later."}
    assert retry_after is not None
    assert 0 < int(retry_after) <= BACKOFF
    assert cache == "no-store"

    # Another person is not held up by ann1's lock.
    assert (await attempt(api, "ann2", PASSWORD)).status_code == 200


async def test_backoff_doubles_and_a_success_starts_afresh(api: Api) -> None:
    for _ in range(PER_USERNAME):
        await attempt(api, "ann1", "wrong-password-1")
    await unlock(api)
    # The next failure locks for twice as long.
    assert (await attempt(api, "ann1", "wrong-password-2")).status_code == 400
    locked = await attempt(api, "ann1", PASSWORD)
    assert locked.status_code == 429
    assert BACKOFF < int(locked.headers["retry-after"]) <= 2 * BACKOFF

    await unlock(api)
    assert (await attempt(api, "ann1", PASSWORD)).status_code == 200
    async with api.runtime.sessions() as session:
        scopes = list(await session.scalars(select(LoginThrottle.scope).where(col(LoginThrottle.failures) > 0)))
    assert ThrottleScope.USERNAME not in scopes  # the username's count was cleared
    assert (await attempt(api, "ann1", "wrong-password-3")).status_code == 400  # counting from one again


async def test_one_address_guessing_many_usernames_is_throttled(api: Api) -> None:
    guesser = ("203.0.113.7", 4000)
    for n in range(PER_ADDRESS):
        assert (await attempt(api, f"guess-{n}", "123456789012", client=guesser)).status_code == 400
    assert (await attempt(api, "ann1", PASSWORD, client=guesser)).status_code == 429
    # Everyone else signs in as usual, and successes from an address cost it nothing.
    office = ("198.51.100.20", 4000)
    for _ in range(PER_ADDRESS + 2):
        assert (await attempt(api, "ann2", PASSWORD, client=office)).status_code == 200


async def test_throttled_and_refused_sign_ins_are_in_the_access_history(api: Api) -> None:
    for _ in range(PER_USERNAME):
        await attempt(api, "ann1", "not-the-password")
    await attempt(api, "ann1", "not-the-password")
    await api.runtime.access.flush()
    async with api.runtime.sessions() as session:
        rows = (
            await session.execute(
                select(AccessEvent.outcome, AccessEvent.status, func.count())
                .where(col(AccessEvent.channel) == Channel.SIGN_IN)
                .group_by(col(AccessEvent.outcome), col(AccessEvent.status))
            )
        ).all()
        events = list(await session.scalars(select(AccessEvent).where(col(AccessEvent.channel) == Channel.SIGN_IN)))
    assert sorted((o, s, n) for o, s, n in rows) == [
        (Outcome.DENIED, 429, 1),
        (Outcome.UNAUTHENTICATED, 400, PER_USERNAME),
    ]
    assert all(e.actor_id is None and e.operation == "password" for e in events)
    # Neither the name tried nor a password reaches the history or the throttle's table.
    assert "ann1" not in repr([e.details for e in events])
    async with api.runtime.sessions() as session:
        keys = list(await session.scalars(select(LoginThrottle.key)))
    assert all(len(key) == 64 and "ann1" not in key for key in keys)


def scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 1234), "headers": headers}


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_forwards() -> None:
    assert client_address(scope("192.0.2.1", "10.9.9.9"), ()) == "192.0.2.1"  # the header ignored
    trusted = ("10.0.0.0/8",)
    assert client_address(scope("10.0.0.2", "198.51.100.4, 10.0.0.3"), trusted) == "198.51.100.4"
    assert client_address(scope("10.0.0.2", "203.0.113.9, 198.51.100.4"), trusted) == "198.51.100.4"
    assert client_address(scope("192.0.2.1", "198.51.100.4"), trusted) == "192.0.2.1"  # not from a proxy
    assert client_address(scope("10.0.0.2"), trusted) == "10.0.0.2"
    assert client_address({"headers": []}, ()) == "unknown"


async def test_change_password_shares_the_username_s_budget_with_sign_in(api: Api) -> None:
    """A stolen session cannot guess the current password through changePassword faster than at
    /auth/token: the wrong guesses there count against the same key and lock both."""

    def change(current: str) -> dict[str, Any]:
        return {"input": {"currentPassword": current, "newPassword": "amber-lantern-quietly-92"}}

    first = await api.data(CHANGE_PASSWORD, change("guess-1"), as_="ann1")
    assert codes(first["changePassword"]) == ["WRONG_PASSWORD"]
    # A right password with a refused new one is not a wrong guess: it clears the count.
    await api.data(CHANGE_PASSWORD, change("guess-2"), as_="ann1")
    same = await api.data(
        CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": PASSWORD}}, as_="ann1"
    )
    assert codes(same["changePassword"]) == ["SAME_PASSWORD"]

    for n in range(PER_USERNAME - 1):
        wrong = await api.data(CHANGE_PASSWORD, change(f"guess-{n + 3}"), as_="ann1")
        assert codes(wrong["changePassword"]) == ["WRONG_PASSWORD"]
    assert (await attempt(api, "ann1", "guess-at-sign-in")).status_code == 400  # the limit's failure

    # Locked: the right password is not even checked, here or at sign-in.
    locked = await api.data(CHANGE_PASSWORD, change(PASSWORD), as_="ann1")
    assert codes(locked["changePassword"]) == ["TOO_MANY_ATTEMPTS"]
    assert (await attempt(api, "ann1", PASSWORD)).status_code == 429

    await unlock(api)
    done = await api.data(CHANGE_PASSWORD, change(PASSWORD), as_="ann1")
    assert done["changePassword"]["errors"] == []
    async with api.runtime.sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(LoginThrottle).where(col(LoginThrottle.scope) == ThrottleScope.USERNAME)
        )
    assert left == 0  # the change with the right password started the username afresh
