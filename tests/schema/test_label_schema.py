"""The label schema as typed GraphQL (LabelSchemaVersion.fields and .rules): what a UI draws its
labeling form from, generated code and all.

A version whose definition uses every kind of the language comes back field by field with the
settings of its definition, in one query that selects every implementing type (so the types'
fields merge without conflicts, as codegen clients need); older versions keep their own fields;
who may read the typed view is who may read the definition; and the SDL declares a GraphQL type
for every kind the language knows, so a new kind cannot ship without one.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType
from graphql import build_schema as schema_from_sdl

from app.schema import build_schema
from app.settings import Settings
from app.taxonomy.schema_language import KINDS, RULE_KINDS, lint
from tests.conftest import SCHEMA, Api, gid

TREE = [
    {"name": "animal", "exclusive": True, "children": [{"name": "dog"}, {"name": "cat"}]},
    {"name": "plant", "children": [{"name": "tree", "children": [{"name": "oak"}]}, {"name": "flower"}]},
]
EVERY_KIND: dict[str, Any] = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"], "min": 1, "max": 2},
        {"name": "stars", "kind": "rating", "min": 1, "max": 5, "required": True},
        {"name": "confidence", "kind": "number", "min": 0, "max": 0.95},
        {"name": "weight", "kind": "number"},
        {"name": "note", "kind": "text", "max_length": 280, "pattern": "[A-Z].*"},
        {"name": "comment", "kind": "text"},
        {"name": "category", "kind": "taxonomy", "multiple": True, "tree": TREE},
        {"name": "habitat", "kind": "taxonomy", "tree": [{"name": "land"}, {"name": "sea"}]},
        {"name": "entities", "kind": "spans", "source": "text", "labels": ["PER", "ORG"], "allow_overlap": True},
        {"name": "objects", "kind": "boxes", "labels": ["car", "person"], "required": True},
    ],
    "rules": [
        {"kind": "requires", "if": {"field": "sentiment", "class": "neg"}, "then": {"field": "note"}},
        {"kind": "excludes", "if": {"field": "entities", "class": "ORG"}, "and": {"field": "objects", "class": "car"}},
        {"kind": "requires", "if": {"field": "stars"}, "then": {"field": "topics", "class": "price"}},
        {"kind": "excludes", "if": {"field": "category", "class": "dog"}, "and": {"field": "comment"}},
    ],
}

# Every implementing type in one selection set, as a generated client would write it.
FIELDS = """
fields {
  __typename name kind required
  ... on SingleChoiceField { classes { name } }
  ... on MultiChoiceField { classes { name } minSelections maxSelections }
  ... on RatingField { min max }
  ... on NumberField { minValue maxValue }
  ... on TextField { maxLength pattern }
  ... on TaxonomyField { multiple roots classes { name parent path children exclusive } }
  ... on SpanField { source allowOverlap labels { name } }
  ... on BoxField { labels { name } }
}
rules { index kind when { field className } then { field className } description }
"""
PROPOSE = """
mutation Propose($input: ProposeSchemaChangeInput!) {
  proposeSchemaChange(input: $input) { request { id } errors { code field message } }
}
"""
APPROVE = """
mutation Approve($id: ID!) {
  approveSchemaChange(input: {requestId: $id}) { request { resultingVersion } errors { code field message } }
}
"""


def project_query(selection: str) -> str:
    return "query Project($id: ID!) { project(id: $id) { " + selection + " } }"


def names(*values: str) -> list[dict[str, str]]:
    return [{"name": v} for v in values]


def common(raw: dict[str, Any], typename: str) -> dict[str, Any]:
    return {
        "__typename": typename,
        "name": raw["name"],
        "kind": raw["kind"].upper(),
        "required": raw.get("required", False),
    }


def node(name: str, parent: str | None, path: list[str], children: list[str], exclusive: bool = False) -> Any:
    return {"name": name, "parent": parent, "path": path, "children": children, "exclusive": exclusive}


def expected_field(raw: dict[str, Any]) -> dict[str, Any]:
    """What the typed view must say of one field of the definition: its settings, under their GraphQL names,
    and the defaults the language applies where the definition leaves a setting out."""
    kind = raw["kind"]
    if kind == "single_choice":
        return {**common(raw, "SingleChoiceField"), "classes": names(*raw["classes"])}
    if kind == "multi_choice":
        return {
            **common(raw, "MultiChoiceField"),
            "classes": names(*raw["classes"]),
            "minSelections": raw.get("min"),
            "maxSelections": raw.get("max"),
        }
    if kind == "rating":
        return {**common(raw, "RatingField"), "min": raw["min"], "max": raw["max"]}
    if kind == "number":
        return {**common(raw, "NumberField"), "minValue": raw.get("min"), "maxValue": raw.get("max")}
    if kind == "text":
        return {**common(raw, "TextField"), "maxLength": raw.get("max_length"), "pattern": raw.get("pattern")}
    if kind == "spans":
        return {
            **common(raw, "SpanField"),
            "source": raw["source"],
            "allowOverlap": raw.get("allow_overlap", False),
            "labels": names(*raw["labels"]),
        }
    if kind == "boxes":
        return {**common(raw, "BoxField"), "labels": names(*raw["labels"])}
    assert kind == "taxonomy", f"no expectation for kind {kind!r}: add one with its GraphQL type"
    classes = {
        "category": [
            node("animal", None, ["animal"], ["dog", "cat"], exclusive=True),
            node("dog", "animal", ["animal", "dog"], []),
            node("cat", "animal", ["animal", "cat"], []),
            node("plant", None, ["plant"], ["tree", "flower"]),
            node("tree", "plant", ["plant", "tree"], ["oak"]),
            node("oak", "tree", ["plant", "tree", "oak"], []),
            node("flower", "plant", ["plant", "flower"], []),
        ],
        "habitat": [node("land", None, ["land"], []), node("sea", None, ["sea"], [])],
    }[raw["name"]]
    return {
        **common(raw, "TaxonomyField"),
        "multiple": raw.get("multiple", False),
        "roots": [n["name"] for n in raw["tree"]],
        "classes": classes,
    }


EXPECTED_RULES = [
    {
        "index": 0,
        "kind": "REQUIRES",
        "when": {"field": "sentiment", "className": "neg"},
        "then": {"field": "note", "className": None},
        "description": "When 'sentiment' is 'neg', 'note' is required.",
    },
    {
        "index": 1,
        "kind": "EXCLUDES",
        "when": {"field": "entities", "className": "ORG"},
        "then": {"field": "objects", "className": "car"},
        "description": "When 'entities' has a span labeled 'ORG', 'objects' must not have a box labeled 'car'.",
    },
    {
        "index": 2,
        "kind": "REQUIRES",
        "when": {"field": "stars", "className": None},
        "then": {"field": "topics", "className": "price"},
        "description": "When 'stars' is answered, 'topics' must include 'price'.",
    },
    {
        "index": 3,
        "kind": "EXCLUDES",
        "when": {"field": "category", "className": "dog"},
        "then": {"field": "comment", "className": None},
        "description": "When 'category' includes 'dog', 'comment' must be left empty.",
    },
]


async def put_in_force(api: Api, definition: dict[str, Any]) -> None:
    """Project A's schema becomes `definition` (version 2): the manager proposes, the admin approves."""
    project = gid("Project", api.world.project_a)
    variables = {"input": {"projectId": project, "definition": definition, "rationale": "Every kind."}}
    proposed = (await api.data(PROPOSE, variables, as_="pm"))["proposeSchemaChange"]
    assert proposed["errors"] == [], proposed
    approved = (await api.data(APPROVE, {"id": proposed["request"]["id"]}, as_="admin"))["approveSchemaChange"]
    assert approved["errors"] == [], approved
    assert approved["request"]["resultingVersion"] == 2


async def test_every_kind_comes_back_typed_with_the_settings_of_its_definition(api: Api) -> None:
    # The definition below must exercise the whole language: a new kind fails here until it has a case.
    assert {f["kind"] for f in EVERY_KIND["fields"]} == set(KINDS)
    assert {r["kind"] for r in EVERY_KIND["rules"]} == set(RULE_KINDS)
    assert lint(EVERY_KIND) == []
    await put_in_force(api, EVERY_KIND)

    data = await api.data(
        project_query("labelSchema { version definition " + FIELDS + " }"),
        {"id": gid("Project", api.world.project_a)},
        as_="ann1",
    )

    schema = data["project"]["labelSchema"]
    assert schema["version"] == 2
    assert schema["definition"] == EVERY_KIND
    assert schema["fields"] == [expected_field(raw) for raw in EVERY_KIND["fields"]]
    assert schema["rules"] == EXPECTED_RULES
    # One GraphQL type per kind, no two kinds sharing one.
    typenames = {f["kind"]: f["__typename"] for f in schema["fields"]}
    assert len(set(typenames.values())) == len(KINDS)


async def test_each_version_is_typed_under_its_own_definition(api: Api) -> None:
    await put_in_force(api, EVERY_KIND)

    data = await api.data(
        project_query("labelSchemaVersions { nodes { version definition " + FIELDS + " } }"),
        {"id": gid("Project", api.world.project_a)},
        as_="reviewer",
    )

    versions = {v["version"]: v for v in data["project"]["labelSchemaVersions"]["nodes"]}
    assert versions.keys() == {1, 2}
    assert versions[1]["definition"] == SCHEMA
    assert versions[1]["fields"] == [expected_field(raw) for raw in SCHEMA["fields"]]
    assert versions[1]["rules"] == []
    assert versions[2]["fields"] == [expected_field(raw) for raw in EVERY_KIND["fields"]]


def outcome(body: dict[str, Any], field: str) -> tuple[bool | None, list[tuple[Any, Any]]]:
    """Whether the project and then the version were shown, and the errors (path, code)."""
    project = (body.get("data") or {}).get("project")
    shown = None if project is None else project[field] is not None
    return shown, [(e["path"], e.get("extensions", {}).get("code")) for e in body.get("errors", [])]


async def test_the_typed_view_is_readable_exactly_where_the_definition_is(api: Api) -> None:
    """ann1 reads the schema in force but not the history; pm_b and the outsider see nothing of project A."""
    variables = {"id": gid("Project", api.world.project_a)}
    readable = []
    for as_ in ("admin", "ann1", "reviewer", "mlbot", "pm_b", "outsider"):
        for field, call in (("labelSchema", "labelSchema"), ("labelSchemaVersion", "labelSchemaVersion(version: 1)")):
            by_definition = await api.gql(project_query(call + " { definition }"), variables, as_=as_)
            by_fields = await api.gql(project_query(call + " { fields { name } rules { index } }"), variables, as_=as_)

            assert outcome(by_fields, field) == outcome(by_definition, field), (as_, call, by_definition, by_fields)
            if outcome(by_definition, field) == (True, []):
                readable.append((as_, field))
                shown = by_fields["data"]["project"][field]
                assert [f["name"] for f in shown["fields"]] == ["sentiment", "topics"]
    assert readable == [
        ("admin", "labelSchema"),
        ("admin", "labelSchemaVersion"),
        ("ann1", "labelSchema"),
        ("reviewer", "labelSchema"),
        ("reviewer", "labelSchemaVersion"),
        ("mlbot", "labelSchema"),
        ("mlbot", "labelSchemaVersion"),
    ]


def test_the_sdl_declares_a_type_for_every_kind_of_the_language() -> None:
    schema = schema_from_sdl(build_schema(Settings()).as_str())

    kinds = schema.get_type("LabelFieldKind")
    assert isinstance(kinds, GraphQLEnumType)
    assert set(kinds.values) == {kind.upper() for kind in KINDS}
    rule_kinds = schema.get_type("LabelRuleKind")
    assert isinstance(rule_kinds, GraphQLEnumType)
    assert set(rule_kinds.values) == {kind.upper() for kind in RULE_KINDS}

    interface = schema.get_type("LabelField")
    assert isinstance(interface, GraphQLInterfaceType)
    implementations = schema.get_implementations(interface).objects
    assert len(implementations) == len(KINDS), [t.name for t in implementations]
    for implementation in implementations:
        assert {"name", "kind", "required"} <= set(implementation.fields), implementation.name

    version = schema.get_type("LabelSchemaVersion")
    assert isinstance(version, GraphQLObjectType)
    assert str(version.fields["fields"].type) == "[LabelField!]!"
    assert str(version.fields["rules"].type) == "[LabelRule!]!"
