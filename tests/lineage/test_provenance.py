"""lineage(itemId) and GET /lineage/{item}.prov.json: an item's W3C PROV graph, for the people who
govern the project, without content: no item data (raw or anonymized), no label value or
rationale, no review comment, no suggested value."""

from __future__ import annotations

import hmac
import json
import uuid
from typing import Any

from app.automation.models import Model, ModelKind, ModelVersion, Suggestion
from app.workflow.models import Label
from tests.conftest import Api, gid
from tests.lineage.support import (
    ITEM_ANONYMIZATION,
    LINEAGE,
    anonymize_imports,
    assert_prov_json,
    export,
    get,
    lines,
)
from tests.workflow.flow import imported, labeled, pk, project_a, review

DATA_MARKER = "MARKER-d4t4-7f3a"
RATIONALE_MARKER = "MARKER-r4t10-9c1e"
COMMENT_MARKER = "MARKER-c0mm3nt-2b8d"
EXTERNAL_ID = "patient-MARKER-ext-5e6f"


async def item_through_its_life(api: Api, data: dict[str, Any] | None = None) -> dict[str, str]:
    """Imported by the manager, labeled twice (ann1's rejected, ann2's accepted), reviewed twice,
    decided, exported. Returns the global ids met on the way."""
    project = project_a(api)
    await imported(api, project, [{"externalId": EXTERNAL_ID, "data": data or {"text": DATA_MARKER}}])
    first = await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
    rejected = await review(api, first["id"], "REJECT", comment=COMMENT_MARKER)
    assert rejected["errors"] == [], rejected
    assignment = (await api.data(CLAIM, {"projectId": project}, as_="ann2"))["claimNextTask"]["assignment"]
    submitted = await api.data(
        SUBMIT,
        {"input": {"assignmentId": assignment["id"], "value": {"sentiment": "pos"}, "rationale": RATIONALE_MARKER}},
        as_="ann2",
    )
    second = submitted["submitLabel"]["label"]
    accepted = await review(api, second["id"], "ACCEPT")
    assert accepted["errors"] == [], accepted
    response = await export(api, project)
    [line] = lines(response)
    return {
        "item": gid("Item", uuid.UUID(line["item_id"])),
        "first": first["id"],
        "second": second["id"],
        "rejection": rejected["review"]["id"],
        "acceptance": accepted["review"]["id"],
        "snapshot": response.headers["Labelgraph-Snapshot"],
    }


CLAIM = """
mutation Claim($projectId: ID!) { claimNextTask(input: {projectId: $projectId}) { assignment { id } errors { code } } }
"""
SUBMIT = """
mutation Submit($input: SubmitLabelInput!) { submitLabel(input: $input) { label { id } errors { code field } } }
"""
DECISION_OF = "query D($id: ID!) { node(id: $id) { ... on Item { finalLabel { id } } } }"


async def test_the_graph_of_an_item_imported_labeled_twice_reviewed_decided_exported(api: Api) -> None:
    seen = await item_through_its_life(api)
    decision = (await api.data(DECISION_OF, {"id": seen["item"]}, as_="pm"))["node"]["finalLabel"]["id"]
    people = {name: gid("User", api.world.id(name)) for name in ("pm", "ann1", "ann2", "reviewer")}

    response = await api.raw(LINEAGE, {"itemId": seen["item"]}, as_="compliance")

    assert response.status_code == 200
    graph = response.json()["data"]["lineage"]
    entities = {n["id"]: n for n in graph["entities"]}
    agents = {n["id"]: n for n in graph["agents"]}
    item, dataset = f"lg:item/{seen['item']}", f"lg:dataset/{seen['snapshot']}"
    first, second = f"lg:label/{seen['first']}", f"lg:label/{seen['second']}"
    rejection, acceptance = f"lg:review/{seen['rejection']}", f"lg:review/{seen['acceptance']}"
    decided = f"lg:decision/{decision}"
    assert set(entities) == {item, first, second, rejection, acceptance, decided, dataset}
    assert sorted(n["kind"] for n in graph["activities"]) == sorted(
        ["ingest", "annotate", "annotate", "review", "review", "aggregate", "export"]
    )
    person = {f"lg:agent/{gid_}": name for name, gid_ in people.items()}
    assert {agents[a]["label"] for a in person} == set(people)  # every one of them is an agent
    assert {n["kind"] for n in graph["agents"]} == {"person", "schemaVersion", "guidelineVersion"}
    relations = {(r["kind"], r["from"], r["to"]) for r in graph["relations"]}
    ingest = f"lg:ingest/{seen['item']}"
    annotate = {label: f"lg:annotate/{seen[key]}" for label, key in ((first, "first"), (second, "second"))}
    aggregate = f"lg:aggregate/{decision}"
    export_ = f"lg:export/{seen['snapshot']}"
    assert {n["id"] for n in graph["activities"]} == {ingest, *annotate.values(), aggregate, export_} | {
        f"lg:reviewing/{seen[key]}" for key in ("rejection", "acceptance")
    }
    by_name = {name: f"lg:agent/{gid_}" for name, gid_ in people.items()}
    expected = {
        ("wasGeneratedBy", item, ingest),
        ("wasAssociatedWith", ingest, by_name["pm"]),
        ("used", annotate[first], item),
        ("wasGeneratedBy", first, annotate[first]),
        ("wasAssociatedWith", annotate[first], by_name["ann1"]),
        ("used", annotate[second], item),
        ("wasAssociatedWith", annotate[second], by_name["ann2"]),
        ("wasDerivedFrom", rejection, first),
        ("wasDerivedFrom", acceptance, second),
        ("wasGeneratedBy", decided, aggregate),
        ("used", aggregate, second),
        ("used", aggregate, acceptance),
        ("wasDerivedFrom", decided, second),
        ("wasAssociatedWith", aggregate, by_name["reviewer"]),
        ("used", export_, decided),
        ("wasGeneratedBy", dataset, export_),
        ("wasDerivedFrom", dataset, decided),
        ("wasAssociatedWith", export_, by_name["pm"]),
    }
    assert expected <= relations, expected - relations
    assert ("wasDerivedFrom", decided, first) not in relations  # the rejected label was not decided from
    plans = {a for a in agents if agents[a]["kind"] in ("schemaVersion", "guidelineVersion")}
    assert {(k, t) for k, s, t in relations if s == annotate[second] and t in plans} == {
        ("wasAssociatedWith", t) for t in plans
    }
    assert {agents[p]["label"] for p in plans} == {"Label schema v1", "Guideline v1"}
    assert entities[decided]["attributes"]["method"] == "CONSENSUS_ACCEPTED"
    assert entities[rejection]["attributes"]["verdict"] == "REJECT"
    # Never content: not the item's data or external id, not a label's value or rationale, not a comment.
    for marker in (DATA_MARKER, RATIONALE_MARKER, COMMENT_MARKER, EXTERNAL_ID, '"sentiment"'):
        assert marker not in response.text


async def test_prov_json_is_w3c_shaped_and_every_reference_resolves(api: Api) -> None:
    seen = await item_through_its_life(api)

    response = await get(api, f"/lineage/{seen['item']}.prov.json", as_="compliance")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = json.loads(response.text)
    assert_prov_json(document)
    ids = {kind: set(document[kind]) for kind in ("entity", "activity", "agent")}
    assert f"lg:item/{seen['item']}" in ids["entity"]
    assert "prov:startTime" in document["activity"][f"lg:ingest/{seen['item']}"]
    assert {record["prov:type"] for record in document["agent"].values()} >= {"prov:Person", "lg:SchemaVersion"}
    for marker in (DATA_MARKER, RATIONALE_MARKER, COMMENT_MARKER, EXTERNAL_ID):
        assert marker not in response.text


async def test_lineage_is_for_those_who_govern_the_project(api: Api) -> None:
    seen = await item_through_its_life(api)
    for reader in ("admin", "pm", "compliance"):
        assert (await api.data(LINEAGE, {"itemId": seen["item"]}, as_=reader))["lineage"] is not None, reader
        assert (await get(api, f"/lineage/{seen['item']}.prov.json", as_=reader)).status_code == 200
    missing = gid("Item", uuid.uuid4())
    for other in ("reviewer", "ann1", "mlbot", "outsider", "pm_b"):
        # Null, as for a missing item; the route answers 404 for both.
        assert (await api.data(LINEAGE, {"itemId": seen["item"]}, as_=other))["lineage"] is None, other
        response = await get(api, f"/lineage/{seen['item']}.prov.json", as_=other)
        assert (response.status_code, response.json()) == (
            404,
            (await get(api, f"/lineage/{missing}.prov.json", as_=other)).json(),
        )


# An anonymized import: the e-mail address (with its marker) and the client's name are replaced
# before the item is stored; DATA_MARKER survives in what annotators see. None may reach the graph.
EMAIL = "MARKER-r4w-8a1b@leak.example.com"
CLIENT = "Globex Zqmarker"
RAW = {"text": f"{DATA_MARKER}: mail {EMAIL} or {EMAIL}, call +44 20 7946 0958, for {CLIENT}."}


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def test_an_anonymized_item_derives_from_its_raw_form_by_the_anonymizer(api: Api) -> None:
    policy = await anonymize_imports(api, project_a(api), customRules=[{"name": "CLIENT", "terms": [CLIENT]}])
    seen = await item_through_its_life(api, RAW)
    stored = (await api.data(ITEM_ANONYMIZATION, {"id": seen["item"]}, as_="pm"))["node"]
    redactions = {r["kind"]: r["count"] for r in stored["anonymization"]["redactions"]}
    assert redactions == {"CLIENT": 1, "EMAIL": 2, "PHONE": 1}

    response = await api.raw(LINEAGE, {"itemId": seen["item"]}, as_="compliance")

    assert response.status_code == 200
    graph = response.json()["data"]["lineage"]
    entities = {n["id"]: n for n in graph["entities"]}
    activities = {n["id"]: n for n in graph["activities"]}
    agents = {n["id"]: n for n in graph["agents"]}
    relations = {(r["kind"], r["from"], r["to"]) for r in graph["relations"]}
    item, ingest, anonymize = (f"lg:{kind}/{seen['item']}" for kind in ("item", "ingest", "anonymize"))
    # The raw item is named by the keyed hash of the data the client sent, and carries nothing else.
    content_hash = hmac.new(api.runtime.settings.hash_key(), canonical(RAW), "sha256").hexdigest()
    assert stored["contentHash"] == content_hash
    raw = f"lg:raw/{content_hash}"
    assert entities[raw]["kind"] == "rawItem"
    assert entities[raw]["attributes"] == {"contentHash": content_hash, "contentHashAlgorithm": "HMAC-SHA256"}
    assert set(entities) == {
        item,
        raw,
        *(f"lg:label/{seen[key]}" for key in ("first", "second")),
        *(f"lg:review/{seen[key]}" for key in ("rejection", "acceptance")),
        f"lg:dataset/{seen['snapshot']}",
        *(e for e in entities if e.startswith("lg:decision/")),
    }
    assert sorted(n["kind"] for n in graph["activities"]) == sorted(
        ["ingest", "anonymize", "annotate", "annotate", "review", "review", "aggregate", "export"]
    )
    software = f"lg:software/{policy['anonymizer']}@{policy['version']}"
    assert (policy["anonymizer"], policy["version"]) == ("labelgraph-anonymize", "1.0.0")
    assert agents[software]["kind"] == "software"
    assert agents[software]["label"] == "labelgraph-anonymize 1.0.0"
    assert agents[software]["attributes"] == {
        "prov:type": "prov:SoftwareAgent",
        "softwareName": "labelgraph-anonymize",
        "softwareVersion": "1.0.0",
    }
    # The ingest received the raw item; the anonymizer used it and generated the item as stored.
    assert {
        ("wasGeneratedBy", raw, ingest),
        ("wasAssociatedWith", ingest, f"lg:agent/{gid('User', api.world.id('pm'))}"),
        ("used", anonymize, raw),
        ("wasGeneratedBy", item, anonymize),
        ("wasDerivedFrom", item, raw),
        ("wasAssociatedWith", anonymize, software),
    } <= relations
    assert {r for r in relations if raw in r} == {
        ("wasGeneratedBy", raw, ingest),
        ("used", anonymize, raw),
        ("wasDerivedFrom", item, raw),
    }
    assert [r for r in relations if r[0] == "wasGeneratedBy" and r[1] == item] == [("wasGeneratedBy", item, anonymize)]
    assert {r for r in relations if r[0] == "wasAssociatedWith" and r[1] == anonymize} == {
        ("wasAssociatedWith", anonymize, software)
    }
    # Labels were made from what annotators saw: the anonymized item.
    for key in ("first", "second"):
        assert ("used", f"lg:annotate/{seen[key]}", item) in relations
    # Counts per placeholder type, and nothing else about what was replaced.
    counted = {k: v for k, v in activities[anonymize]["attributes"].items() if k.startswith("redactions.")}
    assert counted == {"redactions.CLIENT": 1, "redactions.EMAIL": 2, "redactions.PHONE": 1}
    assert activities[anonymize]["attributes"]["redactionCount"] == 4
    assert set(activities[anonymize]["attributes"]) - set(counted) == {"startedAt", "endedAt", "redactionCount"}
    # A compliance officer's graph holds no content: raw, anonymized, labels, rationales, comments.
    for marker in (DATA_MARKER, "MARKER-r4w", "leak.example", "7946", "Zqmarker", "[EMAIL_1]", "[CLIENT_1]"):
        assert marker not in response.text, marker
    for marker in (RATIONALE_MARKER, COMMENT_MARKER, EXTERNAL_ID, '"sentiment"'):
        assert marker not in response.text, marker


async def test_the_prov_json_of_an_anonymized_item_has_the_anonymize_activity(api: Api) -> None:
    await anonymize_imports(api, project_a(api))
    seen = await item_through_its_life(api, RAW)

    response = await get(api, f"/lineage/{seen['item']}.prov.json", as_="compliance")

    assert response.status_code == 200, response.text
    document = json.loads(response.text)
    assert_prov_json(document)
    [raw] = [e for e in document["entity"] if e.startswith("lg:raw/")]
    assert document["entity"][raw]["lg:kind"] == "rawItem"
    anonymize = document["activity"][f"lg:anonymize/{seen['item']}"]
    assert (anonymize["lg:redactions.EMAIL"], anonymize["lg:redactions.PHONE"], anonymize["lg:redactionCount"]) == (
        2,
        1,
        3,
    )
    assert set(anonymize) >= {"prov:startTime", "prov:endTime"}
    agent = document["agent"]["lg:software/labelgraph-anonymize@1.0.0"]
    assert (agent["prov:type"], agent["lg:softwareVersion"]) == ("prov:SoftwareAgent", "1.0.0")

    def related(kind: str) -> set[tuple[str, str]]:
        return {(a, b) for a, b in (record.values() for record in document[kind].values())}

    item = f"lg:item/{seen['item']}"
    assert (f"lg:anonymize/{seen['item']}", raw) in related("used")
    assert (item, f"lg:anonymize/{seen['item']}") in related("wasGeneratedBy")
    assert (item, raw) in related("wasDerivedFrom")
    for marker in (DATA_MARKER, "MARKER-r4w", "Globex", "[EMAIL_1]", RATIONALE_MARKER, COMMENT_MARKER, EXTERNAL_ID):
        assert marker not in response.text, marker


SUGGESTION_MARKER = "MARKER-sugg-4c2e"


async def test_suggestions_are_predictions_by_a_model_of_a_version_without_their_values(api: Api) -> None:
    seen = await item_through_its_life(api)
    async with api.runtime.sessions() as session:
        label = await session.get(Label, pk(seen["second"]))
        assert label is not None
        model = Model(
            project_id=label.project_id,
            name="sentiment-bert",
            kind=ModelKind.EXTERNAL,
            registered_by=api.world.id("mlbot"),
        )
        session.add(model)
        await session.flush()
        versions = {
            v: ModelVersion(
                model_id=model.id, project_id=label.project_id, version=v, registered_by=api.world.id("mlbot")
            )
            for v in ("2.1.0", "2.2.0")
        }
        session.add_all(versions.values())
        await session.flush()
        suggestions = [
            Suggestion(
                project_id=label.project_id,
                item_id=label.item_id,
                model_version_id=versions[version].id,
                value={"sentiment": "pos", "note": f"model {SUGGESTION_MARKER}"},
                confidence=confidence,
                schema_version_id=label.schema_version_id,
                created_by=api.world.id("mlbot"),
            )
            for version, confidence in (("2.1.0", 0.9), ("2.2.0", 0.75))
        ]
        ids = [s.id for s in suggestions]
        session.add_all(suggestions)
        await session.commit()

    response = await api.raw(LINEAGE, {"itemId": seen["item"]}, as_="compliance")

    assert response.status_code == 200
    graph = response.json()["data"]["lineage"]
    entities = {n["id"]: n for n in graph["entities"]}
    activities = {n["id"]: n for n in graph["activities"]}
    agents = {n["id"]: n for n in graph["agents"]}
    relations = {(r["kind"], r["from"], r["to"]) for r in graph["relations"]}
    item = f"lg:item/{seen['item']}"
    mlbot = f"lg:agent/{gid('User', api.world.id('mlbot'))}"
    assert agents[mlbot]["kind"] == "serviceAccount"
    assert agents[mlbot]["attributes"] == {"prov:type": "prov:SoftwareAgent"}
    [schema] = [a for a, n in agents.items() if n["kind"] == "schemaVersion"]
    assert agents[schema]["label"] == "Label schema v1"
    assert sorted(n["kind"] for n in graph["activities"]).count("predict") == 2
    for suggestion_id, version, confidence in zip(ids, ("2.1.0", "2.2.0"), (0.9, 0.75), strict=True):
        entity, predict = f"lg:suggestion/{suggestion_id}", f"lg:predict/{suggestion_id}"
        model = f"lg:model/sentiment-bert@{version}"
        assert entities[entity]["kind"] == "suggestion"
        assert entities[entity]["attributes"]["confidence"] == confidence
        assert set(entities[entity]["attributes"]) == {"confidence", "createdAt"}
        assert activities[predict]["kind"] == "predict"
        assert agents[model]["kind"] == "model"
        assert agents[model]["label"] == f"sentiment-bert {version}"
        assert agents[model]["attributes"] == {
            "prov:type": "prov:SoftwareAgent",
            "modelName": "sentiment-bert",
            "modelVersion": version,
        }
        assert {r for r in relations if predict in r} == {
            ("used", predict, item),
            ("wasGeneratedBy", entity, predict),
            ("wasAssociatedWith", predict, model),
            ("wasAssociatedWith", predict, mlbot),
            ("wasAssociatedWith", predict, schema),
        }
    # What the model suggested is not provenance: no value, no free text.
    for marker in (SUGGESTION_MARKER, '"note"', '"sentiment"', '"pos"'):
        assert marker not in response.text, marker

    download = await get(api, f"/lineage/{seen['item']}.prov.json", as_="compliance")
    document = json.loads(download.text)
    assert_prov_json(document)
    assert document["agent"]["lg:model/sentiment-bert@2.2.0"]["lg:modelVersion"] == "2.2.0"
    assert document["activity"][f"lg:predict/{ids[0]}"]["prov:startTime"]
    assert SUGGESTION_MARKER not in download.text
