"""Importing under consent, on both databases: in a project that requires it every row names a
record in force covering annotation, and the whole import is refused with each row's problem
(CONSENT_MISSING, _NOT_FOUND, _REVOKED, _EXPIRED, _PURPOSE); accepted items carry the record and
its subject."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from app.ingestion.models import Item
from tests.conftest import Api, gid
from tests.consent.support import consent, import_with, item, recorded, require_consent, revoke
from tests.security import database_state
from tests.workflow.flow import codes, project_a


async def test_every_row_s_consent_problem_is_listed_and_nothing_written(api: Api) -> None:
    await require_consent(api)
    good, revoked, expired, narrow = await recorded(
        api,
        consent("subj-g"),
        consent("subj-r"),
        consent("subj-e", grantedAt="2020-01-01T00:00:00Z", expiresAt="2021-01-01T00:00:00Z"),
        consent("subj-n", purposes=["model_training"]),
    )
    assert (await revoke(api, consentIds=[revoked]))["errors"] == []
    before = await database_state(api)

    payload = await import_with(
        api,
        [
            item("i-0", good),
            item("i-1"),
            item("i-2", gid("ConsentRecord", uuid.uuid4())),
            item("i-3", revoked),
            item("i-4", expired),
            item("i-5", narrow),
        ],
    )

    assert payload["importedCount"] == 0
    assert codes(payload) == [
        ("CONSENT_MISSING", "items.1.consentId"),
        ("CONSENT_NOT_FOUND", "items.2.consentId"),
        ("CONSENT_REVOKED", "items.3.consentId"),
        ("CONSENT_EXPIRED", "items.4.consentId"),
        ("CONSENT_PURPOSE", "items.5.consentId"),
    ]
    assert await database_state(api) == before


async def test_consent_problems_come_with_the_other_row_problems(api: Api) -> None:
    await require_consent(api)

    payload = await import_with(api, [{"externalId": "", "data": {"text": "x"}}, item("ok")])

    assert codes(payload) == [
        ("INVALID_EXTERNAL_ID", "items.0.externalId"),
        ("CONSENT_MISSING", "items.0.consentId"),
        ("CONSENT_MISSING", "items.1.consentId"),
    ]


async def test_accepted_items_carry_their_record_and_subject(api: Api) -> None:
    await require_consent(api)
    first, second = await recorded(api, consent("subj-1"), consent("subj-2"))

    payload = await import_with(api, [item("i-1", first), item("i-2", second), item("i-3", first)], as_="ingest")

    assert payload == {"importedCount": 3, "errors": []}
    async with api.runtime.sessions() as session:
        rows = (
            await session.execute(
                select(Item.external_id, Item.subject_ref)
                .where(Item.project_id == api.world.project_a)
                .order_by(col(Item.external_id))
            )
        ).all()
    assert [tuple(r) for r in rows] == [("i-1", "subj-1"), ("i-2", "subj-2"), ("i-3", "subj-1")]


async def test_a_project_without_the_requirement_still_checks_a_named_record(api: Api) -> None:
    (revoked,) = await recorded(api, consent())
    assert (await revoke(api, consentIds=[revoked]))["errors"] == []

    refused = await import_with(api, [item("i-1", revoked)])
    accepted = await import_with(api, [item("i-2")])

    assert codes(refused) == [("CONSENT_REVOKED", "items.0.consentId")]
    assert accepted == {"importedCount": 1, "errors": []}


async def test_a_consent_id_that_is_not_one_is_invalid(api: Api) -> None:
    payload = await import_with(api, [item("i-1", project_a(api))])

    assert codes(payload) == [("INVALID_ID", "items.0.consentId")]
