"""Anonymization at import, through the API on both databases: the policy mutation and its typed
errors, data anonymized before it is stored (placeholders per item and kind, counts, the
anonymizer), the raw values nowhere in the database, the content hash an HMAC of the raw data,
duplicates flagged or refused, and lineage for compliance officers without content."""

from __future__ import annotations

import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlmodel import SQLModel

from app.settings import Settings
from tests.conftest import SECRET_KEY, Api
from tests.workflow.flow import audit_events, codes, import_items, project_a

POLICY = """
mutation Policy($input: UpdateAnonymizationPolicyInput!) {
  updateAnonymizationPolicy(input: $input) {
    project {
      anonymizationPolicy {
        enabled detectors customRules { name pattern terms } duplicateContent anonymizer version
      }
    }
    errors { code field message }
  }
}
"""

ITEMS = """
query Items($id: ID!) {
  project(id: $id) {
    items(first: 100) {
      nodes { externalId data contentHash anonymization { anonymizer version redactions { kind count } } }
    }
  }
}
"""

IMPORT = """
mutation ImportItems($input: ImportItemsInput!) {
  importItems(input: $input) { importedCount duplicateRows errors { code field message } }
}
"""

LINEAGE = """
query Lineage($id: ID!) {
  project(id: $id) {
    itemLineage(first: 100) {
      nodes { itemId externalId contentHash anonymization { anonymizer redactions { kind count } } }
    }
  }
}
"""

# Planted values; MARKER is unique enough to search every column of every table for.
MARKER = "zq7781marker"
EMAIL = f"{MARKER}@leak.example.com"
RAW = {
    "text": f"Mail {EMAIL} or {EMAIL.upper()}, call +44 20 7946 0958, card 4111 1111 1111 1111.",
    "thread": [{"from": EMAIL, "note": "IBAN DE89 3704 0044 0532 0130 00 from 10.1.2.3"}],
    "score": 3,
}


async def set_policy(api: Api, as_: str = "pm", **fields: Any) -> dict[str, Any]:
    data = await api.data(POLICY, {"input": {"projectId": project_a(api), **fields}}, as_=as_)
    payload: dict[str, Any] = data["updateAnonymizationPolicy"]
    return payload


async def items(api: Api) -> dict[str, dict[str, Any]]:
    data = await api.data(ITEMS, {"id": project_a(api)}, as_="pm")
    return {n["externalId"]: n for n in data["project"]["items"]["nodes"]}


async def import_rows(api: Api, rows: list[dict[str, Any]]) -> dict[str, Any]:
    data = await api.data(IMPORT, {"input": {"projectId": project_a(api), "items": rows}}, as_="pm")
    payload: dict[str, Any] = data["importItems"]
    return payload


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def test_the_policy_reads_back_and_is_audited_without_its_terms(api: Api) -> None:
    payload = await set_policy(
        api,
        enabled=True,
        detectors=["EMAIL", "CARD"],
        customRules=[
            {"name": "EMPLOYEE", "pattern": r"EMP-\d{6}"},
            {"name": "CLIENT", "terms": ["Acme Corp", "Globex"]},
        ],
        duplicateContent="REJECT",
    )

    assert payload["errors"] == []
    assert payload["project"]["anonymizationPolicy"] == {
        "enabled": True,
        "detectors": ["EMAIL", "CARD"],
        "customRules": [
            {"name": "EMPLOYEE", "pattern": r"EMP-\d{6}", "terms": None},
            {"name": "CLIENT", "pattern": None, "terms": ["Acme Corp", "Globex"]},
        ],
        "duplicateContent": "REJECT",
        "anonymizer": "labelgraph-anonymize",
        "version": "1.0.0",
    }
    [event] = await audit_events(api, "anonymization.policy", project_a(api))
    assert event["actor"] == {"username": "pm"}
    assert event["details"]["changed"]["customRules"] == [
        {"name": "EMPLOYEE", "pattern": r"EMP-\d{6}"},
        {"name": "CLIENT", "terms": 2},
    ]
    assert "Globex" not in json.dumps(event)
    # Fields left out keep their value.
    again = await set_policy(api, enabled=False)
    policy = again["project"]["anonymizationPolicy"]
    assert (policy["enabled"], policy["detectors"], len(policy["customRules"])) == (False, ["EMAIL", "CARD"], 2)


async def test_rules_that_cannot_run_are_typed_errors_and_change_nothing(api: Api) -> None:
    payload = await set_policy(
        api,
        enabled=True,
        customRules=[
            {"name": "BACKREF", "pattern": r"(a)\1"},
            {"name": "lower", "pattern": "x"},
            {"name": "EMAIL", "terms": ["x"]},
            {"name": "BOTH", "pattern": "x", "terms": ["x"]},
            {"name": "EMPTY", "pattern": "a?"},
            {"name": "LONG", "pattern": "a" * 1001},
            {"name": "TERMS", "terms": [f"term{i}" for i in range(1001)]},
        ],
    )

    assert codes(payload) == [
        ("UNSUPPORTED_PATTERN", "customRules.0.pattern"),
        ("INVALID_NAME", "customRules.1.name"),
        ("DUPLICATE_NAME", "customRules.2.name"),
        ("INVALID_RULE", "customRules.3"),
        ("MATCHES_EMPTY", "customRules.4.pattern"),
        ("PATTERN_TOO_LONG", "customRules.5.pattern"),
        ("TOO_MANY_TERMS", "customRules"),
    ]
    assert payload["project"] is None
    data = await api.data(
        "query($id: ID!) { project(id: $id) { anonymizationPolicy { enabled customRules { name } } } }",
        {"id": project_a(api)},
        as_="pm",
    )
    assert data["project"]["anonymizationPolicy"] == {"enabled": False, "customRules": []}
    assert await audit_events(api, "anonymization.policy", project_a(api)) == []


async def test_an_anonymized_import_stores_placeholders_counts_and_the_anonymizer(api: Api) -> None:
    await set_policy(api, enabled=True, customRules=[{"name": "CLIENT", "terms": ["Acme Corp"]}])

    payload = await import_rows(
        api,
        [
            {"externalId": "a", "data": RAW},
            {"externalId": "b", "data": {"text": f"Again {EMAIL}; acme corp; 4111 1111 1111 1112 fails Luhn"}},
        ],
    )

    assert payload == {"importedCount": 2, "duplicateRows": [], "errors": []}
    stored = await items(api)
    assert stored["a"]["data"] == {
        "text": "Mail [EMAIL_1] or [EMAIL_1], call [PHONE_1], card [CARD_1].",
        "thread": [{"from": "[EMAIL_1]", "note": "IBAN [IBAN_1] from [IPV4_1]"}],
        "score": 3,
    }
    assert stored["a"]["anonymization"] == {
        "anonymizer": "labelgraph-anonymize",
        "version": "1.0.0",
        "redactions": [
            {"kind": "CARD", "count": 1},
            {"kind": "EMAIL", "count": 3},
            {"kind": "IBAN", "count": 1},
            {"kind": "IPV4", "count": 1},
            {"kind": "PHONE", "count": 1},
        ],
    }
    # Numbering starts again in each item.
    assert stored["b"]["data"] == {"text": "Again [EMAIL_1]; [CLIENT_1]; 4111 1111 1111 1112 fails Luhn"}
    [event] = await audit_events(api, "item.import", project_a(api))
    assert event["details"]["redactions"] == {"CARD": 1, "CLIENT": 1, "EMAIL": 4, "IBAN": 1, "IPV4": 1, "PHONE": 1}
    assert event["details"]["anonymizer"] == "labelgraph-anonymize"


async def test_the_raw_values_are_nowhere_in_the_database(api: Api) -> None:
    await set_policy(api, enabled=True)
    # A refused call first: its error messages must not carry the data either.
    refused = await import_rows(api, [{"externalId": "x", "data": RAW}, {"externalId": "", "data": RAW}])
    assert codes(refused) == [("INVALID_EXTERNAL_ID", "items.1.externalId")]
    assert MARKER not in json.dumps(refused)

    payload = await import_rows(api, [{"externalId": "a", "data": RAW, "metadata": {"source": "crm"}}])
    assert payload["errors"] == []

    found: list[str] = []
    async with api.runtime.sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                if MARKER in repr(tuple(row)).lower() or "4111 1111" in repr(tuple(row)):
                    found.append(table.name)
    assert found == []
    assert (await items(api))["a"]["data"]["thread"][0]["from"] == "[EMAIL_1]"


async def test_the_content_hash_is_an_hmac_of_the_raw_canonical_json(api: Api) -> None:
    await set_policy(api, enabled=True)
    await import_rows(api, [{"externalId": "a", "data": RAW}])

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labelgraph content hash v1").derive(
        SECRET_KEY.encode()
    )
    expected = hmac.new(key, canonical(RAW), "sha256").hexdigest()
    assert (await items(api))["a"]["contentHash"] == expected
    # Its own key, when set, is used as given.
    assert Settings(secret_key=SECRET_KEY, content_hash_key="own key").hash_key() == b"own key"
    assert Settings(secret_key=SECRET_KEY).hash_key() == key


async def test_without_anonymization_data_is_kept_and_still_hashed_with_the_key(api: Api) -> None:
    await import_rows(api, [{"externalId": "a", "data": {"text": EMAIL}}])

    stored = (await items(api))["a"]
    assert stored["data"] == {"text": EMAIL}
    assert stored["anonymization"] is None
    key = api.runtime.settings.hash_key()
    assert stored["contentHash"] == hmac.new(key, canonical({"text": EMAIL}), "sha256").hexdigest()


async def test_duplicate_content_is_flagged_by_default_and_refused_on_request(api: Api) -> None:
    await import_rows(api, [{"externalId": "a", "data": {"text": "same"}}])

    flagged = await import_rows(
        api,
        [
            {"externalId": "b", "data": {"text": "other"}},
            {"externalId": "c", "data": {"text": "same"}},
            {"externalId": "d", "data": {"text": "other"}},
        ],
    )
    assert flagged == {"importedCount": 3, "duplicateRows": [1, 2], "errors": []}

    await set_policy(api, duplicateContent="REJECT")
    refused = await import_rows(
        api,
        [
            {"externalId": "e", "data": {"text": "new"}},
            {"externalId": "f", "data": {"text": "same"}},
            {"externalId": "g", "data": {"text": "new"}},
        ],
    )
    assert codes(refused) == [("DUPLICATE_CONTENT", "items.1.data"), ("DUPLICATE_CONTENT", "items.2.data")]
    assert refused["importedCount"] == 0
    assert set(await items(api)) == {"a", "b", "c", "d"}


async def test_compliance_reads_lineage_but_never_content(api: Api) -> None:
    await set_policy(api, enabled=True)
    await import_rows(api, [{"externalId": "a", "data": RAW}])
    item_id = next(iter((await items(api)).values()))

    data = await api.data(LINEAGE, {"id": project_a(api)}, as_="compliance")
    [lineage] = data["project"]["itemLineage"]["nodes"]
    assert lineage["externalId"] == "a"
    assert lineage["contentHash"] == item_id["contentHash"]
    assert lineage["anonymization"]["redactions"][1] == {"kind": "EMAIL", "count": 3}
    node = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": lineage["itemId"]}, as_="compliance")
    assert node == {"node": None}
    body = await api.gql(
        "query($id: ID!) { project(id: $id) { items(first: 1) { nodes { data } } } }",
        {"id": project_a(api)},
        as_="compliance",
    )
    assert body["data"]["project"]["items"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_annotator_sees_the_anonymized_data_of_its_task(api: Api) -> None:
    await set_policy(api, enabled=True)
    await import_items(api, project_a(api), [{"externalId": "a", "data": {"text": f"from {EMAIL}"}}])

    data = await api.data(
        """
        mutation($input: ClaimNextTaskInput!) {
          claimNextTask(input: $input) { assignment { item { data } } errors { code } }
        }
        """,
        {"input": {"projectId": project_a(api)}},
        as_="ann1",
    )
    assert data["claimNextTask"]["assignment"]["item"]["data"] == {"text": "from [EMAIL_1]"}
