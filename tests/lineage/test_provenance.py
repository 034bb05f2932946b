"""lineage(itemId) and GET /lineage/{item}.prov.json: an item's W3C PROV graph, for the people who
govern the project, without content: no item data, no label value or rationale, no review comment."""

from __future__ import annotations

import json
import uuid

from tests.conftest import Api, gid
from tests.lineage.support import LINEAGE, export, get, lines
from tests.workflow.flow import imported, labeled, project_a, review

DATA_MARKER = "MARKER-d4t4-7f3a"
RATIONALE_MARKER = "MARKER-r4t10-9c1e"
COMMENT_MARKER = "MARKER-c0mm3nt-2b8d"
EXTERNAL_ID = "patient-MARKER-ext-5e6f"


async def item_through_its_life(api: Api) -> dict[str, str]:
    """Imported by the manager, labeled twice (ann1's rejected, ann2's accepted), reviewed twice,
    decided, exported. Returns the global ids met on the way."""
    project = project_a(api)
    await imported(api, project, [{"externalId": EXTERNAL_ID, "data": {"text": DATA_MARKER}}])
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
    assert set(document) == {
        "prefix",
        "entity",
        "activity",
        "agent",
        "used",
        "wasGeneratedBy",
        "wasAssociatedWith",
        "wasDerivedFrom",
    }
    assert document["prefix"]["prov"] == "http://www.w3.org/ns/prov#"
    ids = {kind: set(document[kind]) for kind in ("entity", "activity", "agent")}
    roles = {
        "used": {"prov:activity": "activity", "prov:entity": "entity"},
        "wasGeneratedBy": {"prov:entity": "entity", "prov:activity": "activity"},
        "wasAssociatedWith": {"prov:activity": "activity", "prov:agent": "agent"},
        "wasDerivedFrom": {"prov:generatedEntity": "entity", "prov:usedEntity": "entity"},
    }
    for relation, expected in roles.items():
        assert document[relation], relation
        for key, record in document[relation].items():
            assert key.startswith("_:")
            assert set(record) == set(expected)
            for role, kind in expected.items():
                assert record[role] in ids[kind], (relation, role, record[role])
    for kind in ("entity", "activity", "agent"):
        for record in document[kind].values():
            assert all(key.split(":", 1)[0] in document["prefix"] for key in record)
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
