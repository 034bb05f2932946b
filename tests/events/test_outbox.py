"""The outbox: events are written in the transaction of their change (none for a change rolled
back), numbered in commit order, carry ids and never content, and survive the process."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
from sqlmodel import col, select

from app.audits import service as audits
from app.auth.actor import Actor
from app.clock import utcnow
from app.db import unit_of_work
from app.events import outbox as outbox_module
from app.events.dispatcher import Dispatcher
from app.events.kinds import FIELDS, EventKind
from app.events.models import DeliveryStatus, Event, WebhookDelivery
from app.ingestion import service as ingestion
from app.ingestion.models import Item
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, World, gid
from tests.events.support import deliveries, receiver, register
from tests.security import SUBMIT, import_items
from tests.security.test_authorization_matrix import (
    CLAIM_AUDIT,
    CONSENT_ROW,
    ESCALATE,
    PUBLISH,
    RECORD_CONSENT,
    build_scene,
)


async def outbox(api: Api) -> list[Event]:
    async with api.runtime.sessions() as session:
        return list((await session.scalars(select(Event).order_by(col(Event.seq)))).all())


def actor(api: Api, name: str) -> Actor:
    user = api.world.users[name]
    return Actor(user.id, user.username, user.kind, api.runtime.authorizer)


async def test_a_change_that_rolls_back_emits_nothing(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await register(api, project, "http://127.0.0.1:9/hook", ["ITEMS_IMPORTED"])
    new = [ingestion.NewItem(external_id="x-1", data={"text": "x"})]

    class Crash(Exception):
        pass

    try:
        async with unit_of_work(api.runtime.sessions, write=True) as session:
            settings = api.runtime.settings
            await ingestion.import_items(
                session,
                actor(api, "pm"),
                api.world.project_a,
                new,
                max_items=settings.max_import_items,
                hash_key=settings.hash_key(),
            )
            assert [e.kind for e in session.info[outbox_module.PENDING]] == [EventKind.ITEMS_IMPORTED]
            raise Crash  # after the service emitted, before the commit
    except Crash:
        pass

    assert await outbox(api) == []
    async with api.runtime.sessions() as session:
        assert (await session.scalars(select(WebhookDelivery))).all() == []
        assert (await session.scalars(select(Item))).all() == []


async def test_every_kind_is_emitted_by_its_change_with_ids_and_never_content(api: Api) -> None:
    scene = await build_scene(api, "pm")  # imports a-1..a-4, two labels, a review, a proposal, a draft
    project = scene.project
    claimed = await api.data(
        "mutation C($input: ClaimNextTaskInput!) { claimNextTask(input: $input) { assignment { id } } }",
        {"input": {"projectId": project}},
        as_="ann1",
    )
    task = claimed["claimNextTask"]["assignment"]["id"]
    value = {"sentiment": "neg"}
    submitted = await api.data(
        SUBMIT, {"input": {"assignmentId": task, "value": value, "rationale": "RATIONALE-SECRET"}}, as_="ann1"
    )
    assert submitted["submitLabel"]["errors"] == []
    async with api.runtime.sessions() as session:
        a2 = await session.scalar(select(Item).where(Item.external_id == "a-2"))
        assert a2 is not None
        await audits.flag_for_audit(session, a2.id, "suspected label issue")
        await session.commit()
    assert (await api.data(CLAIM_AUDIT, {"input": {"projectId": project}}, as_="qa"))["claimNextAudit"]["errors"] == []
    overturn = {"itemId": gid("Item", a2.id), "verdict": "OVERTURN", "value": {"sentiment": "neu"}}
    audited = await api.data(
        "mutation S($input: SubmitAuditInput!) { submitAudit(input: $input) { errors { code field message } } }",
        {"input": {**overturn, "comment": "COMMENT-SECRET"}},
        as_="qa",
    )
    assert audited["submitAudit"]["errors"] == []
    escalated = await api.data(
        ESCALATE, {"input": {"itemId": scene.pending_item, "reason": "REASON-SECRET"}}, as_="reviewer"
    )
    assert escalated["escalateItem"]["errors"] == []
    approved = await api.data(
        "mutation A($input: ApproveSchemaChangeInput!) { approveSchemaChange(input: $input) { errors { code } } }",
        {"input": {"requestId": scene.change_request, "note": "NOTE-SECRET"}},
        as_="admin",
    )
    assert approved["approveSchemaChange"]["errors"] == []
    published = await api.data(PUBLISH, {"input": {"projectId": project, "changelog": "CHANGELOG-SECRET"}}, as_="pm")
    assert published["publishGuideline"]["errors"] == []
    recorded = await api.data(RECORD_CONSENT, {"input": {"records": [CONSENT_ROW]}}, as_="compliance")
    consent = recorded["recordConsent"]["consentIds"][0]
    row = {"externalId": "a-9", "data": {"text": "PRIVATE-CONTENT"}, "consentId": consent}
    imported = await api.data(
        "mutation I($input: ImportItemsInput!) { importItems(input: $input) { importedCount errors { code } } }",
        {"input": {"projectId": project, "items": [row]}},
        as_="pm",
    )
    assert imported["importItems"]["errors"] == []
    revoked = await api.data(
        "mutation R($input: RevokeConsentInput!) { revokeConsent(input: $input) { errors { code } } }",
        {"input": {"consentIds": [consent], "reason": "REVOCATION-SECRET"}},
        as_="compliance",
    )
    assert revoked["revokeConsent"]["errors"] == []

    events = await outbox(api)
    kinds = [e.kind for e in events]
    assert kinds == [
        EventKind.ITEMS_IMPORTED,  # a-1..a-4
        EventKind.LABEL_SUBMITTED,  # ann2 on a-1: to review
        EventKind.LABEL_SUBMITTED,  # ann3 on a-2
        EventKind.ITEM_DECIDED,  # the reviewer accepts it
        EventKind.LABEL_SUBMITTED,  # ann1 on a-3, with a rationale
        EventKind.DECISION_CHANGED,  # the audit overturns a-2's decision ...
        EventKind.AUDIT_FINISHED,  # ... in the same transaction
        EventKind.ITEM_ESCALATED,  # the reviewer escalates a-1
        EventKind.SCHEMA_APPROVED,
        EventKind.GUIDELINE_PUBLISHED,
        EventKind.ITEMS_IMPORTED,  # a-9 under consent
        EventKind.CONSENT_REVOKED,  # ... withdrawn
    ]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.project_id == api.world.project_a for e in events)
    for event in events:
        assert set(event.data) == set(FIELDS[event.kind]), event.kind
    everything = json.dumps([e.data for e in events])
    for secret in ("SECRET", "PRIVATE-CONTENT", "text of", "neutral", '"neu"', "pos"):
        assert secret not in everything, secret
    changed = events[5].data
    assert (changed["version"], changed["previousVersion"], changed["method"]) == (2, 1, "AUDIT_OVERTURNED")
    assert events[6].data["verdict"] == "OVERTURN"
    assert events[6].data["newDecisionId"] == changed["decisionId"]
    assert events[7].data["source"] == "REVIEW"
    assert (events[8].data["schemaVersion"], events[8].data["previousVersion"]) == (2, 1)
    assert events[9].data["version"] == 2
    assert events[11].data["itemIds"] == events[10].data["itemIds"]


async def test_a_committed_event_is_delivered_by_the_next_process_after_a_crash(
    settings: Settings, world: World
) -> None:
    """The first server commits the change (and so its event and delivery) and dies before any
    dispatcher ran; the next server's dispatcher, started in its lifespan, delivers it."""
    project = gid("Project", world.project_a)
    async with receiver() as hook:
        first = create_app(settings)  # dispatch off, as in every test
        async with first.router.lifespan_context(first):
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://testserver")
            api = Api(client, first, world)
            registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
            hook.secret = registered["signingSecret"]
            await import_items(api, project, ["a-1"], as_="pm")
            await client.aclose()
        assert hook.received == []

        second = create_app(dataclasses.replace(settings, events_dispatch=True, events_poll_s=0.1))
        async with second.router.lifespan_context(second):
            await asyncio.wait_for(hook.arrived.wait(), 10)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://testserver")
            api = Api(client, second, world)
            for _ in range(100):  # the dispatcher records the outcome just after the receiver answered
                (shown,) = await deliveries(api, project)
                if shown["status"] != "PENDING":
                    break
                await asyncio.sleep(0.05)
            await client.aclose()

    (got,) = hook.received
    assert got.verified
    assert got.json["type"] == "ITEMS_IMPORTED"
    assert shown["status"] == "SUCCEEDED"


async def test_the_dispatcher_in_the_server_sends_as_changes_commit(settings: Settings, world: World) -> None:
    """With the background dispatcher on, a commit wakes it: no `dispatch` call anywhere."""
    project = gid("Project", world.project_a)
    served = create_app(dataclasses.replace(settings, events_dispatch=True, events_poll_s=30.0))
    async with receiver() as hook, served.router.lifespan_context(served):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://testserver")
        api = Api(client, served, world)
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        hook.secret = registered["signingSecret"]
        await import_items(api, project, ["a-1"], as_="pm")
        await asyncio.wait_for(hook.arrived.wait(), 10)  # far sooner than the 30 s poll
        await client.aclose()
    assert hook.received[0].verified


async def test_deliveries_claimed_by_one_dispatcher_are_not_claimed_by_another(api: Api) -> None:
    """Two dispatchers (two server processes) claiming at once never share a delivery: SKIP LOCKED
    on PostgreSQL, the write transaction on SQLite; a claimed one is leased, not due."""
    project = gid("Project", api.world.project_a)
    for n in range(6):
        await register(api, project, f"http://127.0.0.1:9/hook-{n}", ["ITEMS_IMPORTED"])
    await import_items(api, project, ["a-1"], as_="pm")
    first, second = (Dispatcher(api.runtime.sessions, api.runtime.settings) for _ in range(2))
    claims = await asyncio.gather(first._claim(3, set()), second._claim(3, set()))
    ids = [c.delivery_id for claim in claims for c in claim]
    assert len(ids) == 6
    assert len(set(ids)) == 6
    assert await first._claim(10, set()) == []  # all leased
    async with api.runtime.sessions() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
    assert {(d.status, d.attempts) for d in rows} == {(DeliveryStatus.PENDING, 1)}
    await first.stop()
    await second.stop()


async def test_a_dispatcher_that_dies_mid_send_leaves_the_delivery_due_again_after_its_lease(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    async with receiver() as hook:
        registered = await register(api, project, hook.url, ["ITEMS_IMPORTED"])
        hook.secret = registered["signingSecret"]
        await import_items(api, project, ["a-1"], as_="pm")
        dead = Dispatcher(api.runtime.sessions, api.runtime.settings)
        (claimed,) = await dead._claim(10, set())  # claimed, then the process is gone: never sent, never recorded
        await dead.stop()
        successor = Dispatcher(api.runtime.sessions, api.runtime.settings)
        leased = await successor.run_once()  # the lease still runs: not due
        async with api.runtime.sessions() as session:
            delivery = await session.get(WebhookDelivery, claimed.delivery_id)
            assert delivery is not None
            assert delivery.attempts == 1
            delivery.next_attempt_at = utcnow()  # the lease ran out
            await session.commit()
        after = await successor.run_once()
        await successor.stop()
    assert leased.attempted == 0
    assert after.delivered == 1
    (shown,) = await deliveries(api, project)
    assert shown["status"] == "SUCCEEDED"
    assert [a["attempt"] for a in shown["log"]] == [2]  # attempt 1 died with its dispatcher
    assert [r.headers["labelgraph-delivery-attempt"] for r in hook.received] == ["2"]


async def test_concurrent_commits_get_consecutive_sequence_numbers_in_commit_order(api: Api) -> None:
    project = gid("Project", api.world.project_a)
    await asyncio.gather(*(import_items(api, project, [f"c-{n}"], as_="pm") for n in range(12)))
    events = await outbox(api)
    assert [e.seq for e in events] == list(range(1, 13))
    times = [e.occurred_at for e in events]
    assert times == sorted(times)  # numbered when they committed, one after the other
