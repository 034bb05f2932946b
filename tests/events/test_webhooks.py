"""Webhooks end to end, on both databases: registered through the API, fed by real changes, sent
by the dispatcher to a real receiver on a loopback port that checks the signature itself."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from datetime import datetime

import httpx
import pytest
from sqlmodel import col, select

from app.compliance.models import AuditEvent
from app.events.dispatcher import Dispatcher
from app.events.models import Event, WebhookDelivery
from app.ids import decode_global_id
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, gid
from tests.events.support import (
    DELETE,
    REDELIVER,
    UPDATE,
    deliveries,
    receiver,
    register,
    signature_ok,
)
from tests.security import claim_and_submit, database_state, import_items


def dispatcher(api: Api, **changes: object) -> Dispatcher:
    """A dispatcher of its own (as `labelgraph events dispatch` would be), with these settings."""
    return Dispatcher(api.runtime.sessions, dataclasses.replace(api.runtime.settings, **changes))


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_delivery_is_signed_and_the_receiver_verifies_it(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    async with receiver() as hook:
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        assert registered["errors"] == []
        hook.secret = registered["signingSecret"]
        await import_items(api, project, ["a-1", "a-2"], as_="pm")

        sender = dispatcher(api)
        report = await sender.run_once()
        await sender.stop()

    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    (got,) = hook.received
    assert got.verified, "the receiver could not verify the signature"
    tampered = got.body.replace(b'"count":2', b'"count":3')
    assert not signature_ok(hook.secret, got.headers["labelgraph-signature"], tampered, time.time())
    body = got.json
    assert body["type"] == "ITEMS_IMPORTED"
    assert body["projectId"] == project
    assert got.headers["labelgraph-event-id"] == body["id"]
    assert got.headers["labelgraph-event-type"] == "ITEMS_IMPORTED"
    assert got.headers["labelgraph-delivery-attempt"] == "1"
    assert body["data"]["count"] == 2
    assert {decode_global_id(i)[0] for i in body["data"]["itemIds"]} == {"Item"}  # type: ignore[index]
    (shown,) = await deliveries(api, project)
    assert shown["status"] == "SUCCEEDED"
    assert shown["event"]["id"] == body["id"]
    assert [(a["attempt"], a["statusCode"], a["error"]) for a in shown["log"]] == [(1, 200, None)]


async def test_a_500_is_retried_after_a_backoff_then_succeeds(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    async with receiver() as hook:
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        hook.secret, hook.statuses = registered["signingSecret"], [500]
        await import_items(api, project, ["a-1"], as_="pm")
        sender = dispatcher(api, webhook_backoff_s=1.0)
        try:
            first = await sender.run_once()
            (pending,) = await deliveries(api, project)
            again = await sender.run_once()  # not due yet: the backoff holds it back
            due = when(pending["nextAttemptAt"])
            await asyncio.sleep(max(0.0, (due - datetime.now(due.tzinfo)).total_seconds()) + 0.02)
            second = await sender.run_once()
        finally:
            await sender.stop()

    assert (first.retrying, first.errors) == (1, {"HTTP_STATUS": 1})
    assert pending["status"] == "PENDING"
    (failed,) = pending["log"]
    assert (failed["statusCode"], failed["error"]["code"]) == (500, "HTTP_STATUS")
    assert "500" in failed["error"]["message"]
    delay = (when(failed["nextRetryAt"]) - when(failed["startedAt"])).total_seconds()
    assert 0.5 <= delay <= 1.0 + 0.5, delay  # base 1 s times a jitter factor in [0.5, 1]
    assert again.attempted == 0
    assert second.delivered == 1
    (done,) = await deliveries(api, project)
    assert done["status"] == "SUCCEEDED"
    assert [(a["attempt"], a["statusCode"]) for a in done["log"]] == [(1, 500), (2, 200)]
    assert [r.headers["labelgraph-delivery-attempt"] for r in hook.received] == ["1", "2"]
    assert len({r.headers["labelgraph-event-id"] for r in hook.received}) == 1  # the receiver de-duplicates by it


async def test_after_its_last_attempt_a_delivery_fails_and_can_be_redelivered(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    async with receiver() as hook:
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        hook.secret, hook.statuses = registered["signingSecret"], [500, 503]
        await import_items(api, project, ["a-1"], as_="pm")
        sender = dispatcher(api, webhook_backoff_s=0.01, webhook_max_attempts=2)
        try:
            await sender.run_once()
            (pending,) = await deliveries(api, project)
            early = await api.data(REDELIVER, {"input": {"deliveryId": pending["id"]}}, as_="pm")
            await asyncio.sleep(0.05)
            last = await sender.run_once()
            (failed,) = await deliveries(api, project)
            redone = await api.data(REDELIVER, {"input": {"deliveryId": failed["id"]}}, as_="pm")
            third = await sender.run_once()
        finally:
            await sender.stop()

    assert [e["code"] for e in early["redeliverWebhookDelivery"]["errors"]] == ["DELIVERY_PENDING"]
    assert last.failed == 1
    assert (failed["status"], failed["nextAttemptAt"], failed["lastStatusCode"]) == ("FAILED", None, 503)
    assert redone["redeliverWebhookDelivery"]["delivery"]["status"] == "PENDING"
    assert third.delivered == 1
    (done,) = await deliveries(api, project)
    assert done["status"] == "SUCCEEDED"
    assert [a["statusCode"] for a in done["log"]] == [500, 503, 200]
    assert len({r.headers["labelgraph-event-id"] for r in hook.received}) == 1
    async with api.runtime.sessions() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(col(AuditEvent.seq)))).all()
    assert "webhook.redeliver" in actions


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_receiver_that_is_down_or_slow_leaves_a_typed_error_and_labeling_goes_on(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await import_items(api, project, ["a-1", "a-2"], as_="pm")
    down = await register(api, project, f"http://127.0.0.1:{closed_port()}/hook", ["LABEL_SUBMITTED"])
    assert down["errors"] == []
    async with receiver() as slow:
        slow.delay_s = 2.0
        registered = await register(api, project, slow.url, ["LABEL_SUBMITTED"])
        slow.secret = registered["signingSecret"]
        labeled = await claim_and_submit(api, project, "ann1", "pos")  # the event is owed, labeling is done
        sender = dispatcher(api, webhook_timeout_s=0.5)
        try:
            report = await sender.run_once()
        finally:
            await sender.stop()

    assert report.errors == {"CONNECTION_FAILED": 1, "TIMEOUT": 1}
    codes = {d["log"][0]["error"]["code"] for d in await deliveries(api, project)}
    assert codes == {"CONNECTION_FAILED", "TIMEOUT"}
    label = await api.data("query L($id: ID!) { node(id: $id) { id } }", {"id": labeled["label"]}, as_="pm")
    assert label["node"] == {"id": labeled["label"]}


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    """Production's address policy: no network allowed beyond public ones."""
    return dataclasses.replace(settings, webhook_allowed_networks=())


async def test_private_and_loopback_targets_are_refused_at_registration(
    api: Api, strict_settings: Settings, subtests: pytest.Subtests
) -> None:
    strict = create_app(strict_settings)
    project = gid("Project", api.world.project_a)
    refused = {
        "http://127.0.0.1:8080/hook": "ADDRESS_REFUSED",
        "http://10.1.2.3/hook": "ADDRESS_REFUSED",
        "http://192.168.0.10/hook": "ADDRESS_REFUSED",
        "http://169.254.169.254/latest/meta-data": "ADDRESS_REFUSED",
        "http://[::1]:8080/hook": "ADDRESS_REFUSED",
        "http://[::ffff:127.0.0.1]/hook": "ADDRESS_REFUSED",
        "http://[::ffff:10.0.0.1]/hook": "ADDRESS_REFUSED",
        "http://[fd00::1]/hook": "ADDRESS_REFUSED",
        "http://224.0.0.1/hook": "ADDRESS_REFUSED",
        "http://localhost:8080/hook": "ADDRESS_REFUSED",  # a name that resolves to loopback
        "http://2130706433/hook": "ADDRESS_REFUSED",  # 127.0.0.1 written as a number
        "http://user:secret@example.com/hook": "CREDENTIALS_IN_URL",
        "ftp://example.com/hook": "UNSUPPORTED_SCHEME",
        "file:///etc/passwd": "UNSUPPORTED_SCHEME",
        "http:///hook": "INVALID_URL",
        "example.com/hook": "UNSUPPORTED_SCHEME",
        "no url at all": "INVALID_URL",
    }
    async with strict.router.lifespan_context(strict):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=strict), base_url="http://testserver")
        strict_api = Api(client, strict, api.world)
        before = await database_state(strict_api)
        for url, code in refused.items():
            with subtests.test(url):
                result = await register(strict_api, project, url, ["ITEM_DECIDED"])
                assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, "url")], result
                assert result["webhook"] is None
                assert result["signingSecret"] is None
        assert await database_state(strict_api) == before
        await client.aclose()


async def test_the_address_is_checked_again_when_sending(api: Api, strict_settings: Settings) -> None:
    """Registered while loopback was allowed (or a name that resolved elsewhere then: DNS
    rebinding); at sending time it resolves to loopback, which is refused before connecting."""
    project = gid("Project", api.world.project_a)
    async with receiver() as hook:
        registered = await register(api, project, hook.url.replace("127.0.0.1", "localhost"), ["ITEMS_IMPORTED"])
        assert registered["errors"] == []
        hook.secret = registered["signingSecret"]
        await import_items(api, project, ["a-1"], as_="pm")
        sender = Dispatcher(api.runtime.sessions, strict_settings)
        try:
            report = await sender.run_once()
        finally:
            await sender.stop()
    assert report.errors == {"ADDRESS_REFUSED": 1}
    assert hook.received == []
    (shown,) = await deliveries(api, project)
    assert shown["log"][0]["statusCode"] is None
    assert shown["log"][0]["error"]["code"] == "ADDRESS_REFUSED"


async def test_turning_a_webhook_off_cancels_what_it_owes_and_deleting_removes_its_log(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    async with receiver() as hook:
        registered = await register(api, project, hook.url + "?token=abc123", ["ITEMS_IMPORTED"])
        webhook = registered["webhook"]["id"]
        await import_items(api, project, ["a-1"], as_="pm")
        off = await api.data(UPDATE, {"input": {"webhookId": webhook, "active": False}}, as_="pm")
        (cancelled,) = await deliveries(api, project)
        await import_items(api, project, ["a-2"], as_="pm")  # owed to nobody: the webhook is off
        sender = dispatcher(api)
        try:
            report = await sender.run_once()
        finally:
            await sender.stop()
        inactive = await api.data(REDELIVER, {"input": {"deliveryId": cancelled["id"]}}, as_="pm")
        on = await api.data(
            UPDATE,
            {"input": {"webhookId": webhook, "active": True, "events": ["ITEM_DECIDED", "ITEMS_IMPORTED"]}},
            as_="pm",
        )
        deleted = await api.data(DELETE, {"input": {"webhookId": webhook}}, as_="pm")

    assert off["updateWebhook"]["webhook"]["active"] is False
    assert cancelled["status"] == "CANCELLED"
    assert report.attempted == 0
    assert hook.received == []
    assert [e["code"] for e in inactive["redeliverWebhookDelivery"]["errors"]] == ["WEBHOOK_INACTIVE"]
    assert on["updateWebhook"]["webhook"]["events"] == ["ITEMS_IMPORTED", "ITEM_DECIDED"]
    assert deleted["deleteWebhook"] == {"deletedWebhookId": webhook, "errors": []}
    remaining = await api.data("query P($id: ID!) { project(id: $id) { webhooks { id } } }", {"id": project}, as_="pm")
    assert remaining["project"]["webhooks"] == []
    async with api.runtime.sessions() as session:
        assert (await session.scalars(select(WebhookDelivery))).all() == []
        assert len((await session.scalars(select(Event))).all()) == 2  # the outbox keeps its events
        audited = (
            await session.scalars(
                select(AuditEvent).where(col(AuditEvent.action).startswith("webhook.")).order_by(col(AuditEvent.seq))
            )
        ).all()
    assert [a.action for a in audited] == ["webhook.register", "webhook.update", "webhook.update", "webhook.delete"]
    assert audited[0].details["origin"] == f"http://127.0.0.1:{hook.port}"
    assert all("abc123" not in str(a.details) and "/hooks" not in str(a.details) for a in audited)


async def test_a_webhook_gets_only_the_kinds_it_asked_for_and_secrets_differ(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    decided = await register(api, project, "http://127.0.0.1:9/decided", ["ITEM_DECIDED"])
    imported = await register(api, project, "http://127.0.0.1:9/imported", ["ITEMS_IMPORTED"])
    assert decided["signingSecret"] != imported["signingSecret"]
    await import_items(api, project, ["a-1"], as_="pm")
    shown = await api.data(
        "query P($id: ID!) { project(id: $id) { webhooks { url deliveries { nodes { event { kind } } } } } }",
        {"id": project},
        as_="admin",
    )
    kinds = {h["url"]: [d["event"]["kind"] for d in h["deliveries"]["nodes"]] for h in shown["project"]["webhooks"]}
    assert kinds == {"http://127.0.0.1:9/decided": [], "http://127.0.0.1:9/imported": ["ITEMS_IMPORTED"]}


async def test_registration_input_is_checked_and_writes_nothing_when_bad(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    before = await database_state(api)
    empty = await register(api, project, "http://127.0.0.1:9/x", [])
    twice = await register(api, project, "http://127.0.0.1:9/x", ["ITEM_DECIDED", "ITEM_DECIDED"])
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("REQUIRED", "events")]
    assert [(e["code"], e["field"]) for e in twice["errors"]] == [("DUPLICATE_EVENT", "events.1")]
    assert await database_state(api) == before


async def test_the_signing_secret_is_shown_once_and_never_stored(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    registered = await register(api, project, "http://127.0.0.1:9/x", ["ITEM_DECIDED"])
    secret = registered["signingSecret"]
    state = await database_state(api)
    assert secret not in repr(state)
    listed = await api.gql("query P($id: ID!) { project(id: $id) { webhooks { id url } } }", {"id": project}, as_="pm")
    assert secret not in str(listed)


async def test_neither_the_secret_nor_the_url_reaches_the_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    project = gid("Project", api.world.project_a)
    caplog.set_level(logging.DEBUG)
    async with receiver() as hook:
        registered = await register(api, project, hook.url + "?token=receiver-token", ["ITEMS_IMPORTED"])
        hook.secret, hook.statuses = registered["signingSecret"], [500]
        await import_items(api, project, ["a-1"], as_="pm")
        sender = dispatcher(api, webhook_backoff_s=0.01)
        try:
            await sender.run_once()
            await asyncio.sleep(0.05)
            report = await sender.run_once()
        finally:
            await sender.stop()
    assert report.delivered == 1
    assert "webhook delivery" in caplog.text  # the failure was logged, by delivery id and code
    assert hook.secret not in caplog.text
    assert "receiver-token" not in caplog.text
    assert "/hooks/labelgraph" not in caplog.text
