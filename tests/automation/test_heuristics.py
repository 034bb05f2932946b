"""Heuristic rules on both databases: checked (a bad pattern is a typed error, nothing written),
registered as versions of the project's `heuristics` model, and run at import in the import's own
transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.automation.models import Model, ModelVersion
from app.ingestion.models import Item
from tests.automation.support import MODELS, claim, push, row, set_policy, set_rules, stored_suggestions
from tests.conftest import Api
from tests.security import database_state
from tests.workflow.flow import audit_events, codes, import_items, pk, project_a

REFUND = {"name": "refund", "itemField": "text", "keywords": ["refund", "money back"], "field": "sentiment"}
RULES: list[dict[str, Any]] = [
    REFUND | {"class": "neg", "confidence": 0.8},
    {
        "name": "love",
        "itemField": "text",
        "pattern": r"\blove[ds]?\b",
        "field": "sentiment",
        "class": "pos",
        "confidence": 0.7,
    },
    {
        "name": "awful-title",
        "itemField": "review.title",
        "keywords": ["awful"],
        "field": "sentiment",
        "class": "neg",
        "confidence": 0.9,
    },
]


async def test_bad_rules_are_typed_errors_and_write_nothing(api: Api) -> None:
    before = await database_state(api)
    rule = {"name": "r", "itemField": "text", "field": "sentiment", "class": "pos", "confidence": 0.5}

    payload = await set_rules(
        api,
        [
            rule | {"name": "open", "pattern": "(unclosed"},
            rule | {"name": "backref", "pattern": r"(a)\1"},
            rule | {"name": "empty", "pattern": "x*"},
            rule | {"name": "both", "pattern": "a", "keywords": ["a"]},
            rule | {"name": "neither"},
            rule | {"name": "multi", "pattern": "a", "field": "topics"},
            rule | {"name": "nofield", "pattern": "a", "field": "mood"},
            rule | {"name": "noclass", "pattern": "a", "class": "great"},
            rule | {"name": "sure", "pattern": "a", "confidence": 1.5},
            rule | {"name": "sure", "pattern": "b"},
            rule | {"name": "9lives", "pattern": "a"},
            rule | {"name": "path", "pattern": "a", "itemField": "a..b"},
            rule | {"name": "blank", "keywords": ["ok", "  "]},
            rule | {"name": "none", "keywords": []},
        ],
    )

    assert payload["project"] is None
    assert codes(payload) == [
        ("UNSUPPORTED_PATTERN", "rules.0.pattern"),
        ("UNSUPPORTED_PATTERN", "rules.1.pattern"),
        ("MATCHES_EMPTY", "rules.2.pattern"),
        ("INVALID_RULE", "rules.3"),
        ("INVALID_RULE", "rules.4"),
        ("NOT_SINGLE_CHOICE", "rules.5.field"),
        ("UNKNOWN_FIELD", "rules.6.field"),
        ("UNKNOWN_CLASS", "rules.7.class"),
        ("OUT_OF_RANGE", "rules.8.confidence"),
        ("DUPLICATE_NAME", "rules.9.name"),
        ("INVALID_NAME", "rules.10.name"),
        ("INVALID_ITEM_FIELD", "rules.11.itemField"),
        ("INVALID_KEYWORD", "rules.12.keywords.1"),
        ("INVALID_KEYWORD", "rules.13.keywords"),
    ]
    assert await database_state(api) == before


async def test_rules_are_versions_of_the_heuristics_model(api: Api) -> None:
    first = await set_rules(api, RULES)

    assert first["errors"] == []
    rules = first["project"]["heuristicRules"]
    assert rules["version"] == 1
    assert [(r["name"], r["pattern"], r["keywords"]) for r in rules["rules"]] == [
        ("refund", None, ["refund", "money back"]),
        ("love", r"\blove[ds]?\b", None),
        ("awful-title", None, ["awful"]),
    ]
    [model] = (await api.data(MODELS, {"id": project_a(api)}, as_="pm"))["project"]["models"]
    assert (model["name"], model["kind"], model["registeredBy"]) == ("heuristics", "HEURISTIC", {"username": "pm"})
    [version] = model["versions"]
    assert version["version"] == "1"
    assert [r["name"] for r in version["parameters"]["rules"]] == ["refund", "love", "awful-title"]

    same = await set_rules(api, RULES)
    changed = await set_rules(api, RULES[:2])

    assert same["project"]["heuristicRules"]["version"] == 1  # the same rules are the same version
    assert changed["project"]["heuristicRules"]["version"] == 2
    [model] = (await api.data(MODELS, {"id": project_a(api)}, as_="pm"))["project"]["models"]
    assert [v["version"] for v in model["versions"]] == ["2", "1"]
    events = await audit_events(api, "suggestion.heuristics")
    assert [(e["details"]["changed"], e["details"]["version"]) for e in events] == [(True, 1), (False, 1), (True, 2)]
    # Keyword lists are counted, not quoted, in the log.
    assert events[0]["details"]["rules"][0]["keywords"] == 2
    assert len(await audit_events(api, "model.register")) == 2
    # Nobody pushes under the heuristics' name.
    await import_items(api, project_a(api), [{"externalId": "x", "data": {"text": "x"}}])
    assert codes(await push(api, [row("x")], model="heuristics", version="3")) == [("MODEL_KIND", "modelName")]


IMPORTED = [
    {"externalId": "h-1", "data": {"text": "I want a REFUND now"}},
    {"externalId": "h-2", "data": {"text": "refunded already, loved it"}},  # "refunded" is not the word "refund"
    {"externalId": "h-3", "data": {"text": "nothing to see"}},
    {"externalId": "h-4", "data": {"text": "loved it", "review": {"title": "Awful"}}},
    {"externalId": "h-5", "data": {"text": "I want my money\n back"}},
    {"externalId": "h-6", "data": {"text": 42}},
]


async def test_the_rules_suggest_at_import_in_the_import_s_transaction(api: Api) -> None:
    assert (await set_rules(api, RULES))["errors"] == []
    project = project_a(api)

    payload = await import_items(api, project, IMPORTED)

    assert payload["errors"] == []
    stored = await stored_suggestions(api)
    async with api.runtime.sessions() as session:
        externals = {i.id: i.external_id for i in (await session.scalars(select(Item))).all()}
        version = (await session.scalars(select(ModelVersion))).one()
        model = (await session.scalars(select(Model))).one()
    by_item = {externals[s.item_id]: s for s in stored}
    assert {k: (s.value, s.confidence, s.per_field) for k, s in by_item.items()} == {
        "h-1": ({"sentiment": "neg"}, 0.8, {"sentiment": 0.8}),
        "h-2": ({"sentiment": "pos"}, 0.7, {"sentiment": 0.7}),
        "h-4": ({"sentiment": "neg"}, 0.9, {"sentiment": 0.9}),  # the more confident rule wins
        "h-5": ({"sentiment": "neg"}, 0.8, {"sentiment": 0.8}),
    }
    assert by_item["h-4"].explanation == "heuristic rule 'awful-title' (keywords on 'review.title')"
    assert "Awful" not in str([s.explanation for s in stored])  # rules are named, the text is not quoted
    assert {s.model_version_id for s in stored} == {version.id}
    assert (model.name, version.version) == ("heuristics", "1")
    assert {s.created_by for s in stored} == {api.world.id("pm")}
    [event] = await audit_events(api, "item.import")
    assert event["details"]["heuristicSuggestions"] == 4

    # A task shows them like any model's.
    await set_policy(api, "ALWAYS")
    task = await claim(api, as_="ann1", showing=True)
    assert task["item"]["externalId"] == "h-1"
    assert [(s["modelName"], s["modelVersion"], s["modelKind"], s["value"]) for s in task["suggestions"]] == [
        ("heuristics", "1", "HEURISTIC", {"sentiment": "neg"})
    ]


async def test_a_refused_import_writes_no_suggestion_and_later_rules_suggest_for_later_items(api: Api) -> None:
    assert (await set_rules(api, RULES))["errors"] == []
    project = project_a(api)

    refused = await import_items(api, project, [IMPORTED[0], {"externalId": "", "data": {"text": "refund"}}])

    assert codes(refused) == [("INVALID_EXTERNAL_ID", "items.1.externalId")]
    assert await stored_suggestions(api) == []

    assert (await import_items(api, project, IMPORTED[:1]))["errors"] == []
    assert (await set_rules(api, [REFUND | {"class": "neu", "confidence": 0.5}]))["errors"] == []
    assert (await import_items(api, project, [{"externalId": "later", "data": {"text": "refund"}}]))["errors"] == []

    stored = await stored_suggestions(api)
    async with api.runtime.sessions() as session:
        versions = {v.id: v.version for v in (await session.scalars(select(ModelVersion))).all()}
    assert [(versions[s.model_version_id], s.value) for s in stored] == [
        ("1", {"sentiment": "neg"}),  # h-1 keeps what version 1 said
        ("2", {"sentiment": "neu"}),
    ]


async def test_gold_questions_get_suggestions_like_any_item(api: Api) -> None:
    """Under showSuggestions a gold task without them would stand out."""
    assert (await set_rules(api, RULES))["errors"] == []

    payload = await import_items(
        api, project_a(api), [{"externalId": "g-1", "data": {"text": "refund"}, "gold": {"sentiment": "neg"}}]
    )

    assert payload["errors"] == []
    [suggestion] = await stored_suggestions(api)
    assert suggestion.value == {"sentiment": "neg"}
    assert pk(project_a(api)) == suggestion.project_id
