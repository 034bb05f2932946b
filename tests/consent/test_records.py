"""Recording and revoking consent through the API, on both databases: bulk all-or-nothing up to
10,000 rows, typed per-row errors, statuses read at the time of asking, revocation as a new fact
(a second one is ALREADY_REVOKED), one audit event per call with counts, purposes a project
declares."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from app.consent.models import ConsentRecord, ConsentRevocation
from tests.conftest import Api, gid
from tests.consent.support import ONE, POLICY, RECORDS, consent, record, recorded, require_consent, revoke
from tests.security import database_state
from tests.workflow.flow import AUDIT_EVENTS, codes, pk, project_a


async def count(api: Api, model: Any) -> int:
    async with api.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_ten_thousand_records_in_one_call(api: Api) -> None:
    rows = [consent(f"subj-{i}") for i in range(10_000)]

    payload = await record(api, rows, as_="ingest")

    assert payload["errors"] == []
    assert payload["recordedCount"] == 10_000
    assert len(set(payload["consentIds"])) == 10_000
    assert await count(api, ConsentRecord) == 10_000
    # The ids come back in input order.
    last = await api.data(ONE, {"id": payload["consentIds"][-1]}, as_="compliance")
    assert last["consentRecord"]["subjectRef"] == "subj-9999"


async def test_ten_thousand_and_one_are_refused_whole(api: Api) -> None:
    payload = await record(api, [consent(f"subj-{i}") for i in range(10_001)])

    assert codes(payload) == [("BATCH_TOO_LARGE", "records")]
    assert await count(api, ConsentRecord) == 0


async def test_one_bad_row_records_nothing_and_every_problem_is_named(api: Api) -> None:
    before = await database_state(api)
    rows = [
        consent("ok-1"),
        consent("someone@example.com"),  # an address is not a pseudonym
        consent("ok-2", purposes=["annotation", "annotation"]),
        consent("ok-3", purposes=["marketing"]),  # no project accepts it
        consent("ok-4", purposes=[]),
        consent("ok-5", jurisdiction="Germany"),
        consent("ok-6", grantedAt="2026-02-01T00:00:00Z", expiresAt="2026-01-01T00:00:00Z"),
        consent("ok-7", grantedAt="2999-01-01T00:00:00Z"),
        consent("ok-8", collector="  "),
        consent("ok-9", purposes=["Model Training"]),
    ]

    payload = await record(api, rows)

    assert codes(payload) == [
        ("INVALID_SUBJECT_REF", "records.1.subjectRef"),
        ("DUPLICATE_PURPOSE", "records.2.purposes.1"),
        ("UNKNOWN_PURPOSE", "records.3.purposes.0"),
        ("REQUIRED", "records.4.purposes"),
        ("INVALID_JURISDICTION", "records.5.jurisdiction"),
        ("OUT_OF_RANGE", "records.6.expiresAt"),
        ("OUT_OF_RANGE", "records.7.grantedAt"),
        ("REQUIRED", "records.8.collector"),
        ("INVALID_PURPOSE", "records.9.purposes.0"),
    ]
    assert payload["consentIds"] == []
    assert await database_state(api) == before


async def test_a_purpose_a_project_accepts_may_be_recorded(api: Api) -> None:
    assert codes(await record(api, [consent(purposes=["annotation", "speech_research"])]))[0][0] == "UNKNOWN_PURPOSE"

    await require_consent(api, required=False, purposes=["speech_research"])
    ids = await recorded(api, consent(purposes=["annotation", "speech_research"]))

    shown = await api.data(ONE, {"id": ids[0]}, as_="compliance")
    assert shown["consentRecord"]["purposes"] == ["annotation", "speech_research"]


async def test_standard_purposes_are_not_declared_again(api: Api) -> None:
    variables = {"input": {"projectId": project_a(api), "purposes": ["model_training"]}}
    payload = (await api.data(POLICY, variables, as_="pm"))["updateConsentPolicy"]
    assert codes(payload) == [("INVALID_PURPOSE", "purposes.0")]


async def test_status_is_read_at_the_time_of_asking(api: Api) -> None:
    active, expired, revoked = await recorded(
        api,
        consent("subj-s"),
        consent("subj-s", grantedAt="2020-01-01T00:00:00Z", expiresAt="2021-01-01T00:00:00Z"),
        consent("subj-s", purposes=["annotation"]),
    )
    assert (await revoke(api, consentIds=[revoked]))["errors"] == []

    page = await api.data(RECORDS, {"subject": "subj-s", "first": 10}, as_="compliance")

    statuses = [(n["id"], n["status"]) for n in page["consentRecords"]["nodes"]]
    assert statuses == [(active, "ACTIVE"), (expired, "EXPIRED"), (revoked, "REVOKED")]
    assert page["consentRecords"]["nodes"][2]["revokedAt"] is not None


async def test_pages_follow_the_cursor(api: Api) -> None:
    ids = await recorded(api, *[consent("subj-p") for _ in range(5)], consent("other"))

    first = await api.data(RECORDS, {"subject": "subj-p", "first": 3}, as_="ingest")
    after = first["consentRecords"]["pageInfo"]["endCursor"]
    second = await api.data(RECORDS, {"subject": "subj-p", "first": 3, "after": after}, as_="ingest")

    assert [n["id"] for n in first["consentRecords"]["nodes"]] == ids[:3]
    assert first["consentRecords"]["pageInfo"]["hasNextPage"] is True
    assert [n["id"] for n in second["consentRecords"]["nodes"]] == ids[3:5]
    assert second["consentRecords"]["pageInfo"]["hasNextPage"] is False


async def test_a_revocation_is_a_new_fact_and_not_repeated(api: Api) -> None:
    (consent_id,) = await recorded(api, consent())
    async with api.runtime.sessions() as session:
        stored_before = (await session.get(ConsentRecord, pk(consent_id))).model_dump()  # type: ignore[union-attr]

    first = await revoke(api, consentIds=[consent_id], reason="The subject asked.")
    before_second = await database_state(api)
    second = await revoke(api, consentIds=[consent_id])

    assert first["errors"] == []
    assert [(r["id"], r["status"], r["revocationReason"]) for r in first["revoked"]] == [
        (consent_id, "REVOKED", "The subject asked.")
    ]
    assert codes(second) == [("ALREADY_REVOKED", "consentIds.0")]
    assert await database_state(api) == before_second
    # The record itself is as it was recorded: the revocation is its own row.
    async with api.runtime.sessions() as session:
        assert (await session.get(ConsentRecord, pk(consent_id))).model_dump() == stored_before  # type: ignore[union-attr]
    assert await count(api, ConsentRevocation) == 1


async def test_revoking_by_subject_takes_every_record_not_yet_revoked(api: Api) -> None:
    one, two, other = await recorded(api, consent("subj-r"), consent("subj-r"), consent("subj-x"))
    assert (await revoke(api, consentIds=[one]))["errors"] == []

    payload = await revoke(api, subjectRef="subj-r", as_="ingest")

    assert payload["errors"] == []
    assert [r["id"] for r in payload["revoked"]] == [two]
    assert codes(await revoke(api, subjectRef="subj-r")) == [("ALREADY_REVOKED", "subjectRef")]
    assert codes(await revoke(api, subjectRef="nobody")) == [("NOT_FOUND", "subjectRef")]
    shown = await api.data(ONE, {"id": other}, as_="compliance")
    assert shown["consentRecord"]["status"] == "ACTIVE"


async def test_revocation_input_errors(api: Api) -> None:
    (consent_id,) = await recorded(api, consent())
    missing = gid("ConsentRecord", uuid.uuid4())
    before = await database_state(api)

    assert codes(await revoke(api, consentIds=[consent_id, missing])) == [("NOT_FOUND", "consentIds.1")]
    assert codes(await revoke(api, consentIds=[consent_id], reason=" ")) == [("REQUIRED", "reason")]
    assert codes(await revoke(api, consentIds=[consent_id], subjectRef="subj-1")) == [("REQUIRED", "consentIds")]
    assert codes(await revoke(api, consentIds=[gid("Project", api.world.project_a)])) == [
        ("INVALID_ID", "consentIds.0")
    ]
    assert await database_state(api) == before


async def test_one_audit_event_per_call_with_counts(api: Api) -> None:
    ids = await recorded(api, consent("subj-a"), consent("subj-a"), consent("subj-b"))
    assert (await revoke(api, subjectRef="subj-a"))["errors"] == []

    recorded_events = await api.data(AUDIT_EVENTS, {"action": "consent.record"}, as_="compliance")
    revoked_events = await api.data(AUDIT_EVENTS, {"action": "consent.revoke"}, as_="compliance")

    (event,) = recorded_events["auditEvents"]["nodes"]
    assert event["actor"] == {"username": "compliance"}
    assert event["details"]["count"] == 3
    assert event["details"]["subjects"] == 2
    (revocation,) = revoked_events["auditEvents"]["nodes"]
    assert revocation["details"]["count"] == 2
    assert revocation["details"]["bySubject"] is True
    assert len(ids) == 3
