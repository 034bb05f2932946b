"""Auto-accept with spot checks on both databases: a confident suggestion on an item no human
labeled decides it (AUTO_ACCEPTED, the model version as its agent), the rest stay queued; a
seeded share stays with people as spot checks, whose decisions measure auto-accept, and when that
accuracy falls under the floor auto-accept turns itself off (audited by SYSTEM, an outbox event,
projectQuality) until a manager turns it on again. Bad policy input writes nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from app.automation import auto_accept
from app.automation.models import SpotCheck
from app.events.kinds import EventKind
from app.events.models import Event
from app.ingestion.models import Item, ItemStatus
from app.projects.models import Project
from app.taxonomy import schema_language
from tests.automation.support import row
from tests.conftest import SCHEMA, Api
from tests.security import database_state
from tests.workflow.flow import (
    audit_events,
    claimed,
    codes,
    create_project,
    imported,
    labeled,
    pk,
    project_a,
    rows,
    submit,
)

POLICY = """
mutation Policy($input: UpdateQualityPolicyInput!) {
  updateQualityPolicy(input: $input) {
    project {
      qualityPolicy {
        autoAcceptConfidence spotCheckRate autoAcceptFloor autoAcceptMinChecks autoAcceptEnabled reviewRate
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
      nodes {
        id externalId status
        finalLabel {
          value method confidence agreement sourceLabelIds decidedBy { username }
          decidedByModel { modelName modelVersion modelKind }
        }
      }
    }
  }
}
"""
QUALITY = """
query Quality($id: ID!) {
  projectQuality(projectId: $id) {
    decidedItems
    figures { labels annotators { labels accuracy annotator { username } } }
    autoAccept {
      enabled accepted spotChecks spotChecksDecided spotChecksAgreeing accuracy turnedOffAt turnedOffReason
    }
  }
}
"""
LINEAGE = """
query L($id: ID!) { lineage(itemId: $id) { agents { id } relations { kind from to } } }
"""
PUSH = """
mutation Push($input: SubmitSuggestionsInput!) {
  submitSuggestions(input: $input) { created updated unchanged autoAccepted spotChecks errors { code field message } }
}
"""


async def pushed(
    api: Api,
    suggestions: list[dict[str, Any]],
    *,
    as_: str = "mlbot",
    project: str | None = None,
    model: str = "sentiment-bert",
    version: str = "1.0.0",
) -> dict[str, Any]:
    variables = {
        "input": {
            "projectId": project or project_a(api),
            "modelName": model,
            "modelVersion": version,
            "suggestions": suggestions,
        }
    }
    payload: dict[str, Any] = (await api.data(PUSH, variables, as_=as_))["submitSuggestions"]
    assert payload["errors"] == [], payload
    return payload


async def set_policy(api: Api, project: str, **fields: Any) -> dict[str, Any]:
    data = await api.data(POLICY, {"input": {"projectId": project, **fields}}, as_="pm")
    payload: dict[str, Any] = data["updateQualityPolicy"]
    return payload


async def policy_set(api: Api, project: str, **fields: Any) -> dict[str, Any]:
    payload = await set_policy(api, project, **fields)
    assert payload["errors"] == [], payload
    shown: dict[str, Any] = payload["project"]["qualityPolicy"]
    return shown


async def items(api: Api, project: str) -> dict[str, dict[str, Any]]:
    data = await api.data(ITEMS, {"id": project}, as_="pm")
    return {n["externalId"]: n for n in data["project"]["items"]["nodes"]}


async def quality(api: Api, project: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(QUALITY, {"id": project}, as_="pm"))["projectQuality"]
    return found


async def outbox(api: Api, kind: EventKind) -> list[Event]:
    async with api.runtime.sessions() as session:
        return list((await session.scalars(select(Event).where(col(Event.kind) == kind))).all())


async def a_project(api: Api, name: str, *, overlap: int = 1) -> str:
    """A project where one label decides (no review): people's decisions come quickly."""
    project = await create_project(api, name, overlap=overlap)
    await policy_set(api, project, reviewRate=0.0, acceptConfidence=0.0)
    return project


async def test_confident_suggestions_decide_unlabeled_items_with_the_model_as_agent(api: Api) -> None:
    project = await a_project(api, "Auto-accept", overlap=2)
    shown = await policy_set(api, project, autoAcceptConfidence={"sentiment": 0.9}, spotCheckRate=0.0)
    assert shown["autoAcceptConfidence"] == {"sentiment": 0.9}
    assert shown["autoAcceptEnabled"] is True
    await imported(api, project, rows(6))
    # item-0 gets a human label (overlap 2: still queued); then ann1 leases item-1 and holds it.
    await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
    leased = await claimed(api, project, as_="ann1")
    assert leased["item"]["externalId"] == "item-1"

    payload = await pushed(
        api,
        [
            row("item-0", "pos", 0.99),  # labeled by ann1: people keep it
            row("item-1", "pos", 0.95),  # confident (and leased: the lease ends)
            row("item-2", "neg", 0.8),  # under the threshold
            row("item-3", "neu", 0.5, perField={"sentiment": 0.93}),  # the field's own confidence counts
            row("item-4", "pos", 0.97, value={"sentiment": "pos", "topics": ["price"]}),  # topics has no threshold
            {"externalId": "item-5", "value": {"topics": ["price"]}, "confidence": 0.99},  # no sentiment
        ],
        as_="pm",
        project=project,
        model="sentiment-bert",
        version="2.1",
    )

    decided = {"item-1", "item-3"}
    assert (payload["created"], payload["updated"], payload["autoAccepted"], payload["spotChecks"]) == (6, 0, 2, 0)
    seen = await items(api, project)
    for ext, node in seen.items():
        if ext in decided:
            assert node["status"] == "FINAL", ext
            final = node["finalLabel"]
            assert final["method"] == "AUTO_ACCEPTED"
            assert final["decidedBy"] is None
            assert final["decidedByModel"] == {
                "modelName": "sentiment-bert",
                "modelVersion": "2.1",
                "modelKind": "EXTERNAL",
            }
            assert final["sourceLabelIds"] == []
        else:
            assert node["status"] == "QUEUED", ext
            assert node["finalLabel"] is None
    assert seen["item-1"]["finalLabel"]["value"] == {"sentiment": "pos"}
    assert seen["item-1"]["finalLabel"]["confidence"] == 0.95
    assert seen["item-3"]["finalLabel"]["confidence"] == 0.93

    # The leased task was cancelled with its item decided: the annotator cannot submit on it.
    refused = await submit(api, leased["id"], {"sentiment": "pos"}, as_="ann1")
    assert codes(refused) == [("ASSIGNMENT_CANCELLED", "assignmentId")]

    [event] = await audit_events(api, "decision.auto_accept", project)
    assert event["actor"] == {"username": "pm"}
    assert event["entityType"] == "ModelVersion"
    assert (event["details"]["model"], event["details"]["version"]) == ("sentiment-bert", "2.1")
    assert (event["details"]["autoAccepted"], event["details"]["spotChecks"]) == (2, 0)
    decided_events = await outbox(api, EventKind.ITEM_DECIDED)
    assert sorted(e.data["method"] for e in decided_events) == ["AUTO_ACCEPTED"] * 2

    # Lineage: the decision was associated with the model version and derived from its suggestion.
    graph = (await api.data(LINEAGE, {"id": seen["item-1"]["id"]}, as_="pm"))["lineage"]
    model = "lg:model/sentiment-bert@2.1"
    assert model in {a["id"] for a in graph["agents"]}
    relations = {(r["kind"], r["from"], r["to"]) for r in graph["relations"]}
    [decision] = {r[1] for r in relations if r[0] == "wasDerivedFrom" and r[2].startswith("lg:suggestion/")}
    [aggregate] = {r[2] for r in relations if r[0] == "wasGeneratedBy" and r[1] == decision}
    assert ("wasAssociatedWith", aggregate, model) in relations

    # The same confident push again changes nothing (unchanged rows are not written again).
    again = await pushed(
        api, [row("item-1", "pos", 0.95)], as_="pm", project=project, model="sentiment-bert", version="2.1"
    )
    assert again["unchanged"] == 1


async def test_auto_accept_is_off_until_thresholds_are_set(api: Api) -> None:
    project = await a_project(api, "Off by default")
    await imported(api, project, rows(2))
    await pushed(api, [row("item-0", "pos", 1.0), row("item-1", "pos", 1.0)], as_="pm", project=project)
    assert {n["status"] for n in (await items(api, project)).values()} == {"QUEUED"}
    assert await audit_events(api, "decision.auto_accept", project) == []


async def test_the_spot_check_sample_is_seeded_per_item_and_near_its_rate(api: Api) -> None:
    project = await a_project(api, "Spot-check share")
    await policy_set(api, project, autoAcceptConfidence={"sentiment": 0.5}, spotCheckRate=0.25)
    await imported(api, project, rows(200))
    payload = await pushed(
        api, [row(f"item-{i}", "pos", 0.9) for i in range(200)], as_="pm", project=project, model="m", version="1"
    )
    async with api.runtime.sessions() as session:
        marked = set((await session.scalars(select(SpotCheck.item_id))).all())
        stored = await session.get(Project, pk(project))
        assert stored is not None
        ids = list((await session.scalars(select(Item.id).where(col(Item.project_id) == stored.id))).all())
    # Binomial(200, 0.25): mean 50, sd 6.1; the seeded draw lands well within four of them.
    assert 26 <= len(marked) <= 74
    assert payload["spotChecks"] == len(marked)
    assert payload["autoAccepted"] == 200 - len(marked)
    # Deterministic: the same item always draws the same, so the sample is exactly the draw's.
    assert marked == {i for i in ids if auto_accept.sampled_for_spot_check(stored, i)}
    assert marked == {i for i in ids if auto_accept.sampled_for_spot_check(stored, i)}
    async with api.runtime.sessions() as session:
        statuses = dict((await session.execute(select(Item.id, Item.status).where(col(Item.id).in_(ids)))).all())
    # Spot checks stay in the human queue; the rest were decided.
    assert {i for i, status in statuses.items() if status == ItemStatus.QUEUED} == marked
    assert {i for i, status in statuses.items() if status == ItemStatus.FINAL} == set(ids) - marked


async def test_spot_checks_measure_accuracy_and_turn_auto_accept_off_below_the_floor(api: Api) -> None:
    project = await a_project(api, "Spot checks")
    await policy_set(
        api,
        project,
        autoAcceptConfidence={"sentiment": 0.9},
        spotCheckRate=1.0,
        autoAcceptFloor=0.75,
        autoAcceptMinChecks=4,
    )
    await imported(api, project, rows(6))
    payload = await pushed(api, [row(f"item-{i}", "pos", 0.99) for i in range(6)], as_="pm", project=project)
    assert (payload["autoAccepted"], payload["spotChecks"]) == (0, 6)
    assert {n["status"] for n in (await items(api, project)).values()} == {"QUEUED"}

    # People decide four of them: two agree with the model, two do not.
    for value, by in (("pos", "ann1"), ("neg", "ann2"), ("pos", "ann3")):
        await labeled(api, project, {"sentiment": value}, as_=by)
    standing = (await quality(api, project))["autoAccept"]
    # 2 of 3 (0.667) is under the floor, but fewer than autoAcceptMinChecks: still on.
    assert (standing["enabled"], standing["spotChecksDecided"], standing["spotChecksAgreeing"]) == (True, 3, 2)
    assert await outbox(api, EventKind.AUTO_ACCEPT_TURNED_OFF) == []

    await labeled(api, project, {"sentiment": "neg"}, as_="ann1")

    report = await quality(api, project)
    standing = report["autoAccept"]
    assert standing["enabled"] is False
    assert (standing["spotChecks"], standing["spotChecksDecided"], standing["spotChecksAgreeing"]) == (6, 4, 2)
    assert standing["accuracy"] == 0.5
    assert standing["turnedOffAt"] is not None
    assert "0.500" in standing["turnedOffReason"]
    assert "2 of 4" in standing["turnedOffReason"]
    assert "0.750" in standing["turnedOffReason"]
    system = [e for e in await audit_events(api, "quality.policy", project) if e["actor"] is None]
    [off] = system
    assert off["details"]["changed"] == {"auto_accept_enabled": False}
    assert (off["details"]["spotChecks"], off["details"]["agreeing"]) == (4, 2)
    assert off["details"]["reason"] == standing["turnedOffReason"]
    [event] = await outbox(api, EventKind.AUTO_ACCEPT_TURNED_OFF)
    assert event.data == {"spotChecks": 4, "agreeing": 2}
    shown = await policy_set(api, project)
    assert shown["autoAcceptEnabled"] is False
    assert shown["autoAcceptConfidence"] == {"sentiment": 0.9}  # the thresholds are kept

    # Off: a confident suggestion neither decides nor marks anything.
    await imported(api, project, rows(2, prefix="later"))
    after = await pushed(api, [row("later-0", "pos", 0.99)], as_="pm", project=project, version="2")
    assert (after["autoAccepted"], after["spotChecks"]) == (0, 0)
    # The fifth spot check decided afterwards does not turn it off a second time.
    await labeled(api, project, {"sentiment": "neg"}, as_="ann2")
    assert len(await outbox(api, EventKind.AUTO_ACCEPT_TURNED_OFF)) == 1

    # On again by hand: a fresh measure, and confident suggestions decide again.
    shown = await policy_set(api, project, autoAcceptEnabled=True, spotCheckRate=0.0)
    assert shown["autoAcceptEnabled"] is True
    standing = (await quality(api, project))["autoAccept"]
    assert (standing["enabled"], standing["spotChecks"], standing["spotChecksDecided"]) == (True, 0, 0)
    assert standing["turnedOffAt"] is None
    assert standing["turnedOffReason"] is None
    again = await pushed(api, [row("later-1", "pos", 0.99)], as_="pm", project=project, version="3")
    assert again["autoAccepted"] == 1
    manual = [e for e in await audit_events(api, "quality.policy", project) if e["actor"] == {"username": "pm"}]
    assert any(e["details"]["changed"].get("auto_accept_enabled") is True for e in manual)


async def test_bad_auto_accept_policy_writes_nothing(api: Api) -> None:
    project = await a_project(api, "Bad policy")
    before = await database_state(api)
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        (
            {"autoAcceptConfidence": {"nope": 0.9, "sentiment": 1.5}, "spotCheckRate": 2.0},
            [
                ("OUT_OF_RANGE", "spotCheckRate"),
                ("UNKNOWN_FIELD", "autoAcceptConfidence.nope"),
                ("OUT_OF_RANGE", "autoAcceptConfidence.sentiment"),
            ],
        ),
        ({"autoAcceptConfidence": {"topics": 0.9}}, [("REQUIRED", "autoAcceptConfidence.sentiment")]),
        ({"autoAcceptConfidence": {"sentiment": 0}}, [("OUT_OF_RANGE", "autoAcceptConfidence.sentiment")]),
        ({"autoAcceptConfidence": ["sentiment"]}, [("WRONG_KIND", "autoAcceptConfidence")]),
        (
            {"autoAcceptFloor": -0.1, "autoAcceptMinChecks": 0},
            [
                ("OUT_OF_RANGE", "autoAcceptFloor"),
                ("OUT_OF_RANGE", "autoAcceptMinChecks"),
            ],
        ),
        # A good threshold beside a bad floor: still nothing written, auto-accept not turned on.
        ({"autoAcceptConfidence": {"sentiment": 0.9}, "autoAcceptFloor": 7.0}, [("OUT_OF_RANGE", "autoAcceptFloor")]),
    ]
    for fields, expected in cases:
        payload = await set_policy(api, project, **fields)
        assert sorted(codes(payload)) == sorted(expected), fields
        assert payload["project"] is None
    assert await database_state(api) == before


async def test_auto_accepted_decisions_can_be_audited_and_stay_out_of_annotator_figures(api: Api) -> None:
    project = project_a(api)
    await policy_set(api, project, autoAcceptConfidence={"sentiment": 0.9}, spotCheckRate=0.0, auditRate=1.0)
    await imported(api, project, rows(2, prefix="aud"))
    await pushed(api, [row("aud-0", "pos", 0.99)])

    audits = await api.data(
        "mutation C($p: ID!) { claimNextAudit(input: {projectId: $p}) { audit { reasons } item { externalId "
        "finalLabel { method } } errors { code } } }",
        {"p": project},
        as_="qa",
    )
    claimed_audit = audits["claimNextAudit"]
    assert claimed_audit["errors"] == []
    assert claimed_audit["item"] == {"externalId": "aud-0", "finalLabel": {"method": "AUTO_ACCEPTED"}}
    assert "SAMPLED" in claimed_audit["audit"]["reasons"]

    report = await quality(api, project)
    assert report["autoAccept"]["accepted"] == 1
    assert report["figures"]["labels"] == 0
    assert report["figures"]["annotators"] == []


def test_confident_means_every_given_and_every_required_field_at_its_threshold() -> None:
    schema = schema_language.parse(SCHEMA)
    thresholds = {"sentiment": 0.9}
    assert auto_accept.confident(schema, thresholds, {"sentiment": "pos"}, 0.95, {}) == 0.95
    assert auto_accept.confident(schema, thresholds, {"sentiment": "pos"}, 0.95, {"sentiment": 0.89}) is None
    assert auto_accept.confident(schema, thresholds, {"sentiment": "pos"}, 0.2, {"sentiment": 0.91}) == 0.91
    # A given field without a threshold is never confident; a missing required field neither.
    assert auto_accept.confident(schema, thresholds, {"sentiment": "pos", "topics": ["price"]}, 0.99, {}) is None
    assert auto_accept.confident(schema, {"sentiment": 0.9, "topics": 0.5}, {"topics": ["price"]}, 0.99, {}) is None
    both = {"sentiment": 0.9, "topics": 0.5}
    value = {"sentiment": "pos", "topics": ["price"]}
    assert auto_accept.confident(schema, both, value, 0.99, {"topics": 0.6}) == 0.6
    assert auto_accept.confident(schema, {}, {"sentiment": "pos"}, 1.0, {}) is None
    # Agreement: the decision gives the suggested value on every field the suggestion gave.
    assert auto_accept.agrees({"sentiment": "pos"}, {"sentiment": "pos", "topics": ["price"]})
    assert not auto_accept.agrees({"sentiment": "pos", "topics": ["price"]}, {"sentiment": "pos"})
