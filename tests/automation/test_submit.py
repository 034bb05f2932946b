"""submitSuggestions on both databases: values checked as labels are, per row, with nothing written
on a bad batch; idempotent on (item, model, version); the model registered on first use; stored
apart from labels, which they never touch."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.ingestion.models import Item
from tests.automation.support import (
    MODELS,
    claim,
    items,
    label,
    push,
    pushed,
    row,
    stored_suggestions,
)
from tests.conftest import Api, gid
from tests.security import database_state
from tests.workflow.flow import audit_events, codes, create_project, import_items, pk, project_a, review

ITEMS = "query I($id: ID!) { project(id: $id) { items(first: 100) { nodes { id externalId status labels { id } } } } }"


async def item_ids(api: Api, project: str | None = None, *, as_: str = "pm") -> dict[str, str]:
    data = await api.data(ITEMS, {"id": project or project_a(api)}, as_=as_)
    return {n["externalId"]: n["id"] for n in data["project"]["items"]["nodes"]}


async def test_a_push_registers_the_model_and_stores_suggestions_apart(api: Api) -> None:
    await items(api, ["a-1", "a-2", "a-3"])
    ids = await item_ids(api)

    payload = await push(
        api,
        [
            row("a-1", "pos", 0.91, perField={"sentiment": 0.91}, explanation="Praise for the price."),
            row("a-2", "neg", 0.6),
            {"itemId": ids["a-3"], "value": {"sentiment": "neu", "topics": ["delivery"]}, "confidence": 0.55},
        ],
    )

    assert payload["errors"] == []
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (3, 0, 0)
    version = payload["modelVersion"]
    assert (version["modelName"], version["modelKind"], version["version"]) == ("sentiment-bert", "EXTERNAL", "1.0.0")
    assert version["suggestionCount"] == 3
    assert version["registeredBy"] == {"username": "mlbot"}  # itself
    stored = {str(s.item_id): s for s in await stored_suggestions(api)}
    first = stored[str(pk(ids["a-1"]))]
    assert (first.value, first.confidence, first.per_field, first.explanation) == (
        {"sentiment": "pos"},
        0.91,
        {"sentiment": 0.91},
        "Praise for the price.",
    )
    # Nothing of the labeling loop moved: no label, every item still queued for people.
    shown = (await api.data(ITEMS, {"id": project_a(api)}, as_="pm"))["project"]["items"]["nodes"]
    assert [(n["status"], n["labels"]) for n in shown] == [("QUEUED", [])] * 3

    models = (await api.data(MODELS, {"id": project_a(api)}, as_="pm"))["project"]["models"]
    [model] = models
    assert (model["name"], model["kind"], model["registeredBy"]) == (
        "sentiment-bert",
        "EXTERNAL",
        {"username": "mlbot"},
    )
    assert [(v["version"], v["suggestionCount"], v["registeredBy"]) for v in model["versions"]] == [
        ("1.0.0", 3, {"username": "mlbot"})
    ]
    [registered] = await audit_events(api, "model.register")
    assert registered["details"] == {
        "model": "sentiment-bert",
        "version": "1.0.0",
        "kind": "EXTERNAL",
        "newModel": True,
    }
    assert registered["actor"] == {"username": "mlbot"}
    [submitted] = await audit_events(api, "suggestion.submit")
    assert submitted["details"] == {
        "model": "sentiment-bert",
        "version": "1.0.0",
        "count": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "autoAccepted": 0,  # the project has no auto-accept thresholds
        "spotChecks": 0,
    }


async def test_a_new_version_is_registered_beside_the_first(api: Api) -> None:
    await items(api, ["a-1", "a-2"])
    await pushed(api, [row("a-1"), row("a-2")], version="1.0.0")

    again = await pushed(api, [row("a-1", "neg")], version="1.1.0", as_="pm")

    assert again["created"] == 1
    [model] = (await api.data(MODELS, {"id": project_a(api)}, as_="pm"))["project"]["models"]
    assert [(v["version"], v["suggestionCount"], v["registeredBy"]["username"]) for v in model["versions"]] == [
        ("1.1.0", 1, "pm"),  # newest first
        ("1.0.0", 2, "mlbot"),
    ]
    # The ML service sees models, not people: who registered a version is shown only when it was itself.
    seen = (await api.data(MODELS, {"id": project_a(api)}, as_="mlbot"))["project"]["models"][0]
    assert [(v["version"], v["registeredBy"]) for v in seen["versions"]] == [
        ("1.1.0", None),
        ("1.0.0", {"username": "mlbot"}),
    ]
    details = [e["details"] for e in await audit_events(api, "model.register")]
    assert sorted((d["version"], d["newModel"]) for d in details) == [("1.0.0", True), ("1.1.0", False)]
    assert len(await stored_suggestions(api)) == 3


async def test_a_bad_batch_writes_nothing_and_names_every_bad_row(api: Api) -> None:
    await items(api, [f"a-{i}" for i in range(14)])
    b_payload = await import_items(
        api, gid("Project", api.world.project_b), [{"externalId": "b-1", "data": {"text": "b"}}], as_="pm_b"
    )
    assert b_payload["errors"] == []
    b_item = (await item_ids(api, gid("Project", api.world.project_b), as_="pm_b"))["b-1"]
    before = await database_state(api)

    payload = await push(
        api,
        [
            row("a-0"),  # the one good row
            {"externalId": "a-1", "value": {"sentiment": "great"}, "confidence": 0.5},
            {"externalId": "a-2", "value": {"mood": "pos"}, "confidence": 0.5},
            row("a-3", confidence=1.5),
            row("a-4", perField={"topics": 0.4}),
            row("a-5", perField={"sentiment": -0.1}),
            row("nowhere"),
            {"itemId": b_item, "value": {"sentiment": "pos"}, "confidence": 0.5},  # project B's: not found here
            {"itemId": "not-an-id", "value": {"sentiment": "pos"}, "confidence": 0.5},
            {"externalId": "a-6", "itemId": b_item, "value": {"sentiment": "pos"}, "confidence": 0.5},
            {"value": {"sentiment": "pos"}, "confidence": 0.5},
            {"externalId": "a-7", "value": {}, "confidence": 0.5},
            {"externalId": "a-8", "value": {"sentiment": "pos", "topics": "price"}, "confidence": 0.5},
            row("a-9", explanation="x" * 2001),
            row("a-0", "neg"),
            row("a-10", perField=[0.5]),
        ],
    )

    assert payload["modelVersion"] is None
    assert codes(payload) == [
        ("UNKNOWN_CLASS", "suggestions.1.value.sentiment"),
        ("UNKNOWN_FIELD", "suggestions.2.value.mood"),
        ("OUT_OF_RANGE", "suggestions.3.confidence"),
        ("UNKNOWN_FIELD", "suggestions.4.perField.topics"),
        ("OUT_OF_RANGE", "suggestions.5.perField.sentiment"),
        ("NOT_FOUND", "suggestions.6.externalId"),
        ("NOT_FOUND", "suggestions.7.itemId"),
        ("INVALID_ID", "suggestions.8.itemId"),
        ("INVALID_ITEM_REF", "suggestions.9.itemId"),
        ("INVALID_ITEM_REF", "suggestions.10.itemId"),
        ("REQUIRED", "suggestions.11.value"),
        ("WRONG_KIND", "suggestions.12.value.topics"),
        ("TOO_LONG", "suggestions.13.explanation"),
        ("DUPLICATE_IN_BATCH", "suggestions.14.externalId"),
        ("WRONG_KIND", "suggestions.15.perField"),
    ]
    assert await database_state(api) == before


async def test_no_field_is_required_of_a_suggestion_but_every_given_field_is_checked(api: Api) -> None:
    """A per-field model predicts one field: `sentiment` is required of a label, not of a suggestion."""
    await items(api, ["a-1", "a-2"])

    partial = await pushed(api, [{"externalId": "a-1", "value": {"topics": ["price"]}, "confidence": 0.7}])
    bad = await push(api, [{"externalId": "a-2", "value": {"topics": ["price", "price"]}, "confidence": 0.7}])

    assert partial["created"] == 1
    assert codes(bad) == [("DUPLICATE_CLASS", "suggestions.0.value.topics")]


SPANS = {
    "fields": [
        {"name": "entities", "kind": "spans", "source": "text", "labels": ["ORG", "PER"]},
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg"], "required": True},
    ]
}


async def test_spans_are_checked_against_their_item_as_a_label_s_are(api: Api) -> None:
    project = await create_project(api, "Spans", overlap=1, schema=SPANS)
    await import_items(api, project, [{"externalId": "s-1", "data": {"text": "Acme hired Bo"}}])
    await api.data(
        "mutation G($input: RoleInput!) { grantRole(input: $input) { errors { code } } }",
        {"input": {"userId": gid("User", api.world.id("mlbot")), "role": "ML_SERVICE", "projectId": project}},
        as_="admin",
    )

    good = await push(
        api, [row("s-1", "pos") | {"value": {"entities": [{"start": 0, "end": 4, "label": "ORG"}]}}], project=project
    )
    outside = await push(
        api,
        [{"externalId": "s-1", "value": {"entities": [{"start": 10, "end": 40, "label": "PER"}]}, "confidence": 0.8}],
        project=project,
        version="2",
    )

    assert good["errors"] == []
    assert good["created"] == 1
    assert codes(outside) == [("OUT_OF_RANGE", "suggestions.0.value.entities.0")]


async def test_a_push_again_is_idempotent_per_item_model_and_version(api: Api) -> None:
    await items(api, ["a-1", "a-2", "a-3"])
    batch = [row("a-1", "pos", 0.9, explanation="Says great."), row("a-2", "neg", 0.8), row("a-3", "neu", 0.7)]
    await pushed(api, batch)
    first = [(s.id, s.value, s.confidence, s.updated_at) for s in await stored_suggestions(api)]

    same = await pushed(api, batch)

    assert (same["created"], same["updated"], same["unchanged"]) == (0, 0, 3)
    assert [(s.id, s.value, s.confidence, s.updated_at) for s in await stored_suggestions(api)] == first

    changed = await pushed(api, [row("a-1", "neg", 0.95, explanation="Says great."), row("a-2", "neg", 0.8)])

    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 1)
    after = {s.id: s for s in await stored_suggestions(api)}
    assert set(after) == {i for i, *_ in first}  # replaced in place: the same rows, no new one
    replaced = after[first[0][0]]
    assert (replaced.value, replaced.confidence, replaced.explanation) == ({"sentiment": "neg"}, 0.95, "Says great.")
    assert replaced.updated_at is not None
    assert after[first[1][0]].updated_at is None
    assert changed["modelVersion"]["suggestionCount"] == 3
    # Dropping the explanation is a change too.
    dropped = await pushed(api, [row("a-1", "neg", 0.95)])
    assert dropped["updated"] == 1


async def test_batch_bounds(api: Api) -> None:
    await items(api, ["a-1"])
    before = await database_state(api)

    empty = await push(api, [])
    too_many = await push(api, [row("a-1")] * 10_001)

    assert codes(empty) == [("EMPTY_BATCH", "suggestions")]
    assert codes(too_many) == [("BATCH_TOO_LARGE", "suggestions")]
    assert await database_state(api) == before


async def test_model_names_and_the_heuristics_name(api: Api) -> None:
    await items(api, ["a-1"])

    bad = await push(api, [row("a-1")], model="bad name!", version="")
    reserved = await push(api, [row("a-1")], model="heuristics")

    assert codes(bad) == [("INVALID_MODEL_NAME", "modelName"), ("INVALID_MODEL_VERSION", "modelVersion")]
    assert codes(reserved) == [("MODEL_KIND", "modelName")]
    assert await stored_suggestions(api) == []


async def test_nothing_more_is_written_about_an_erased_item(api: Api) -> None:
    await items(api, ["a-1"])
    async with api.runtime.sessions() as session:
        await session.execute(update(Item).where(col(Item.external_id) == "a-1").values(erased_at=datetime.now(UTC)))
        await session.commit()

    payload = await push(api, [row("a-1", explanation="more about them")])

    assert codes(payload) == [("ITEM_ERASED", "suggestions.0.externalId")]


LABELS = (
    "query L($id: ID!) { node(id: $id) { ... on Item { status labels { id value status } finalLabel { value } } } }"
)


async def export_lines(api: Api) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/export/{project_a(api)}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"}
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


async def test_suggestions_never_touch_labels_or_decisions(api: Api) -> None:
    await items(api, ["a-1"])
    task = await claim(api, as_="ann1")
    made = await label(api, task["id"], "pos", as_="ann1")
    assert (await review(api, made["id"], "ACCEPT"))["errors"] == []
    before: dict[str, Any] = (await api.data(LABELS, {"id": task["item"]["id"]}, as_="pm"))["node"]
    exported = await export_lines(api)

    await pushed(api, [{"itemId": task["item"]["id"], "value": {"sentiment": "neg"}, "confidence": 0.99}])

    after = (await api.data(LABELS, {"id": task["item"]["id"]}, as_="pm"))["node"]
    assert after == before
    assert before["labels"][0]["value"] == {"sentiment": "pos"}
    assert before["finalLabel"] == {"value": {"sentiment": "pos"}}
    # An export is of human decisions: the suggestion is in neither the line before nor the one after.
    again = await export_lines(api)
    assert [line["value"] for line in exported] == [{"sentiment": "pos"}]
    assert [line["value"] for line in again] == [{"sentiment": "pos"}]
    assert [s.value for s in await stored_suggestions(api)] == [{"sentiment": "neg"}]


LINEAGE = """
query L($id: ID!) {
  lineage(itemId: $id) { entities { id kind } activities { id kind } agents { id kind label attributes } }
}
"""


async def test_an_item_s_lineage_names_the_model_version_that_suggested(api: Api) -> None:
    await items(api, ["a-1"])
    ids = await item_ids(api)
    version = (await pushed(api, [row("a-1", explanation="Text about them.")]))["modelVersion"]

    graph = (await api.data(LINEAGE, {"id": ids["a-1"]}, as_="pm"))["lineage"]

    [suggestion] = [e for e in graph["entities"] if e["kind"] == "suggestion"]
    assert [a["kind"] for a in graph["activities"] if a["kind"] == "predict"] == ["predict"]
    [model] = [a for a in graph["agents"] if a["kind"] == "model"]
    assert model["id"] == "lg:model/sentiment-bert@1.0.0"
    assert model["label"] == "sentiment-bert 1.0.0"
    assert model["attributes"] == {
        "prov:type": "prov:SoftwareAgent",
        "modelName": version["modelName"],
        "modelVersion": version["version"],
    }
    assert "Text about them" not in str(graph)  # no free text in a provenance graph
    assert suggestion["id"].startswith("lg:suggestion/")


async def test_concurrent_first_pushes_of_one_version_end_in_one_model_and_one_row_per_item(api: Api) -> None:
    await items(api, ["a-1", "a-2"])
    batch = [row("a-1", "pos"), row("a-2", "neg")]

    first, second = await asyncio.gather(push(api, batch), push(api, batch, as_="pm"))

    assert first["errors"] == []
    assert second["errors"] == []
    [model] = (await api.data(MODELS, {"id": project_a(api)}, as_="pm"))["project"]["models"]
    assert [v["version"] for v in model["versions"]] == ["1.0.0"]
    assert sorted(str(s.item_id) for s in await stored_suggestions(api)) == sorted(
        str(pk(i)) for i in (await item_ids(api)).values()
    )
    assert len(await audit_events(api, "model.register")) == 1
