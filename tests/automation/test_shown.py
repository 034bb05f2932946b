"""What an annotator's task shows under each showSuggestions policy, and what its label records:
shown means the task actually returned suggestions to its annotator before the submit."""

from __future__ import annotations

from tests.automation.support import (
    LABEL,
    claim,
    exposures,
    items,
    label,
    pushed,
    row,
    set_policy,
    task_suggestions,
)
from tests.conftest import Api
from tests.taxonomy.test_change_requests import approve, proposal, propose
from tests.workflow.flow import audit_events, codes, project_a, review

BERT = {"modelName": "sentiment-bert", "modelVersion": "2", "modelKind": "EXTERNAL"}


async def two_models_on_a1(api: Api) -> None:
    """sentiment-bert 1 and 2 (the later one shown) and lexicon 0.3 suggest for a-1."""
    await items(api, ["a-1", "a-2"])
    await pushed(api, [row("a-1", "neg", 0.6)], model="sentiment-bert", version="1")
    await pushed(
        api,
        [row("a-1", "pos", 0.93, perField={"sentiment": 0.93}, explanation="Praise.")],
        model="sentiment-bert",
        version="2",
    )
    await pushed(api, [row("a-1", "neu", 0.4)], model="lexicon", version="0.3", as_="pm")


async def test_never_shows_nothing_and_the_label_says_so(api: Api) -> None:
    await two_models_on_a1(api)

    task = await claim(api, as_="ann1", showing=True)
    made = await label(api, task["id"], "pos", as_="ann1")

    assert task["item"]["externalId"] == "a-1"
    assert task["suggestions"] == []
    assert (made["suggestionsShown"], made["shownModelVersions"]) == (False, [])
    assert await exposures(api) == []


async def test_always_shows_the_latest_version_of_each_model_and_the_label_records_them(api: Api) -> None:
    await two_models_on_a1(api)
    assert (await set_policy(api, "ALWAYS"))["project"] == {"showSuggestions": "ALWAYS"}

    task = await claim(api, as_="ann1", showing=True)
    made = await label(api, task["id"], "pos", as_="ann1")

    assert task["suggestions"] == [
        {
            "modelName": "lexicon",
            "modelVersion": "0.3",
            "modelKind": "EXTERNAL",
            "value": {"sentiment": "neu"},
            "confidence": 0.4,
            "perField": {},
            "explanation": None,
        },
        BERT
        | {
            "value": {"sentiment": "pos"},
            "confidence": 0.93,
            "perField": {"sentiment": 0.93},
            "explanation": "Praise.",
        },
    ]
    assert made["suggestionsShown"] is True
    assert sorted(made["shownModelVersions"], key=lambda v: v["modelName"]) == [
        {"modelName": "lexicon", "modelVersion": "0.3", "modelKind": "EXTERNAL"},
        BERT,
    ]
    assert len(await exposures(api)) == 2
    # Reading it again records nothing new.
    await task_suggestions(api, task["id"], as_="ann1")
    assert len(await exposures(api)) == 2
    # The reviewer reads the same record on the label.
    seen = (await api.data(LABEL, {"id": made["id"]}, as_="reviewer"))["node"]
    assert seen["suggestionsShown"] is True


async def test_a_task_whose_client_never_asked_showed_nothing(api: Api) -> None:
    """ALWAYS allows them, but a client that never reads Assignment.suggestions showed none: the
    label says what happened, not what the policy would have allowed."""
    await two_models_on_a1(api)
    await set_policy(api, "ALWAYS")

    task = await claim(api, as_="ann1")
    # Others reading the task see what it shows; that is not its annotator seeing it.
    assert len(await task_suggestions(api, task["id"], as_="pm")) == 2
    assert len(await task_suggestions(api, task["id"], as_="mlbot")) == 2
    made = await label(api, task["id"], "pos", as_="ann1")

    assert (made["suggestionsShown"], made["shownModelVersions"]) == (False, [])
    assert await exposures(api) == []


async def test_after_first_answer_shows_them_only_once_the_annotator_has_answered(api: Api) -> None:
    await two_models_on_a1(api)
    await set_policy(api, "AFTER_FIRST_ANSWER")

    task = await claim(api, as_="ann1", showing=True)
    assert task["suggestions"] == []
    first = await label(api, task["id"], "neg", as_="ann1")
    assert first["suggestionsShown"] is False
    # Its own answer given, the task read again shows them (recorded on that task, after the label).
    assert [s["modelName"] for s in await task_suggestions(api, task["id"], as_="ann1")] == [
        "lexicon",
        "sentiment-bert",
    ]
    assert len(await exposures(api)) == 2
    assert (await api.data(LABEL, {"id": first["id"]}, as_="reviewer"))["node"]["suggestionsShown"] is False

    # A rework of the item: the annotator has answered it before, so the new task shows them at once.
    rejected = await review(api, first["id"], "REJECT", comment="Read it again.")
    assert rejected["errors"] == [], rejected
    rework = await claim(api, as_="ann1", showing=True)
    assert rework["item"]["externalId"] == "a-1"
    assert rework["id"] != task["id"]
    assert [s["modelName"] for s in rework["suggestions"]] == ["lexicon", "sentiment-bert"]
    second = await label(api, rework["id"], "pos", as_="ann1")

    assert second["suggestionsShown"] is True
    assert len(second["shownModelVersions"]) == 2


QUALITY = """
mutation Q($input: UpdateQualityPolicyInput!) { updateQualityPolicy(input: $input) { errors { code field } } }
"""


async def test_another_annotator_s_first_answer_does_not_count(api: Api) -> None:
    two = {"input": {"projectId": project_a(api), "overlap": 2, "maxOverlap": 2}}
    assert (await api.data(QUALITY, two, as_="pm"))["updateQualityPolicy"]["errors"] == []
    await two_models_on_a1(api)
    await set_policy(api, "AFTER_FIRST_ANSWER")
    first = await claim(api, as_="ann1")
    await label(api, first["id"], "neg", as_="ann1")

    second = await claim(api, as_="ann2", showing=True)

    assert second["item"]["externalId"] == "a-1"
    assert second["suggestions"] == []  # ann1 has answered a-1; ann2 has not
    assert len(await task_suggestions(api, first["id"], as_="ann1")) == 2


async def test_suggestions_made_under_an_older_schema_are_not_shown(api: Api) -> None:
    await items(api, ["a-1"])
    await set_policy(api, "ALWAYS")
    await pushed(api, [row("a-1", "neu")], version="1")
    request = (await propose(api, proposal(project_a(api))))["request"]["id"]
    assert (await approve(api, request, "ok"))["errors"] == []

    task = await claim(api, as_="ann1", showing=True)
    assert task["suggestions"] == []  # "neu" is not one of the options in force
    await pushed(api, [row("a-1", "neutral")], version="2")

    assert [s["value"] for s in await task_suggestions(api, task["id"], as_="ann1")] == [{"sentiment": "neutral"}]


async def test_the_policy_is_audited_and_read_by_everyone_in_the_project(api: Api) -> None:
    changed = await set_policy(api, "AFTER_FIRST_ANSWER", as_="admin")

    assert codes(changed) == []
    shown = await api.data(
        "query P($id: ID!) { project(id: $id) { showSuggestions } }", {"id": project_a(api)}, as_="ann1"
    )
    assert shown["project"]["showSuggestions"] == "AFTER_FIRST_ANSWER"
    [event] = await audit_events(api, "suggestion.policy")
    assert event["details"] == {"showSuggestions": "AFTER_FIRST_ANSWER", "before": "NEVER", "changed": True}
    assert event["actor"] == {"username": "admin"}
