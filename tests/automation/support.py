"""Suggestions as their clients drive them: an ML service pushing, a manager setting the policy
and the rules, an annotator's task showing them. Documents and the steps the tests share."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from app.automation.models import Suggestion, SuggestionExposure
from tests.conftest import Api
from tests.workflow.flow import import_items, project_a

SUBMIT = """
mutation Push($input: SubmitSuggestionsInput!) {
  submitSuggestions(input: $input) {
    modelVersion { id modelName modelKind version suggestionCount registeredBy { username } }
    created updated unchanged
    errors { code field message }
  }
}
"""
POLICY = """
mutation Policy($input: UpdateSuggestionPolicyInput!) {
  updateSuggestionPolicy(input: $input) { project { showSuggestions } errors { code field message } }
}
"""
RULES = """
mutation Rules($input: SetHeuristicRulesInput!) {
  setHeuristicRules(input: $input) {
    project { heuristicRules { version rules { name itemField pattern keywords field class confidence } } }
    errors { code field message }
  }
}
"""
MODELS = """
query Models($id: ID!) {
  project(id: $id) {
    models {
      id name kind registeredAt registeredBy { username }
      versions { id version modelName modelKind suggestionCount registeredBy { username } parameters metrics }
    }
  }
}
"""
CLAIM = """
mutation Claim($input: ClaimNextTaskInput!) {
  claimNextTask(input: $input) {
    assignment { id item { id externalId } }
    errors { code field message }
  }
}
"""
CLAIM_SHOWING = """
mutation Claim($input: ClaimNextTaskInput!) {
  claimNextTask(input: $input) {
    assignment {
      id item { id externalId }
      suggestions { modelName modelVersion modelKind value confidence perField explanation }
    }
    errors { code field message }
  }
}
"""
TASK = """
query Task($id: ID!) {
  node(id: $id) {
    ... on Assignment { id suggestions { modelName modelVersion modelKind value confidence perField explanation } }
  }
}
"""
SUBMIT_LABEL = """
mutation Label($input: SubmitLabelInput!) {
  submitLabel(input: $input) {
    label { id value suggestionsShown shownModelVersions { modelName modelVersion modelKind } }
    errors { code field message }
  }
}
"""
LABEL = """
query Label($id: ID!) {
  node(id: $id) { ... on Label { id value suggestionsShown shownModelVersions { modelName modelVersion } } }
}
"""
AGREEMENT = """
query Agreement($id: ID!, $model: String!, $version: String) {
  project(id: $id) {
    modelAgreement(modelName: $model, modelVersion: $version) {
      modelName modelVersion otherShown
      shown { labels agreeing rate fields { field labels agreeing rate } }
      notShown { labels agreeing rate fields { field labels agreeing rate } }
    }
  }
}
"""


def row(external_id: str, sentiment: str = "pos", confidence: float = 0.9, **extra: Any) -> dict[str, Any]:
    return {"externalId": external_id, "value": {"sentiment": sentiment}, "confidence": confidence, **extra}


async def push(
    api: Api,
    suggestions: list[dict[str, Any]],
    *,
    as_: str = "mlbot",
    model: str = "sentiment-bert",
    version: str = "1.0.0",
    project: str | None = None,
) -> dict[str, Any]:
    variables = {
        "input": {
            "projectId": project or project_a(api),
            "modelName": model,
            "modelVersion": version,
            "suggestions": suggestions,
        }
    }
    data = await api.data(SUBMIT, variables, as_=as_)
    payload: dict[str, Any] = data["submitSuggestions"]
    return payload


async def pushed(api: Api, suggestions: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    payload = await push(api, suggestions, **kw)
    assert payload["errors"] == [], payload
    return payload


async def set_policy(api: Api, show: str, *, as_: str = "pm", project: str | None = None) -> dict[str, Any]:
    variables = {"input": {"projectId": project or project_a(api), "showSuggestions": show}}
    payload: dict[str, Any] = (await api.data(POLICY, variables, as_=as_))["updateSuggestionPolicy"]
    return payload


async def set_rules(
    api: Api, rules: list[dict[str, Any]], *, as_: str = "pm", project: str | None = None
) -> dict[str, Any]:
    variables = {"input": {"projectId": project or project_a(api), "rules": rules}}
    payload: dict[str, Any] = (await api.data(RULES, variables, as_=as_))["setHeuristicRules"]
    return payload


async def items(api: Api, external_ids: list[str], *, project: str | None = None) -> None:
    """Items handed out in the order given (the first gets the highest priority)."""
    rows = [
        {"externalId": ext, "data": {"text": f"text of {ext}"}, "priority": len(external_ids) - n}
        for n, ext in enumerate(external_ids)
    ]
    payload = await import_items(api, project or project_a(api), rows)
    assert payload["errors"] == [], payload


async def claim(api: Api, *, as_: str, showing: bool = False) -> dict[str, Any]:
    data = await api.data(CLAIM_SHOWING if showing else CLAIM, {"input": {"projectId": project_a(api)}}, as_=as_)
    payload = data["claimNextTask"]
    assert payload["errors"] == [], payload
    task: dict[str, Any] = payload["assignment"]
    return task


async def task_suggestions(api: Api, task: str, *, as_: str) -> list[dict[str, Any]]:
    data = await api.data(TASK, {"id": task}, as_=as_)
    found: list[dict[str, Any]] = data["node"]["suggestions"]
    return found


async def label(api: Api, task: str, sentiment: str, *, as_: str) -> dict[str, Any]:
    variables = {"input": {"assignmentId": task, "value": {"sentiment": sentiment}}}
    payload = (await api.data(SUBMIT_LABEL, variables, as_=as_))["submitLabel"]
    assert payload["errors"] == [], payload
    made: dict[str, Any] = payload["label"]
    return made


async def stored_suggestions(api: Api) -> list[Suggestion]:
    async with api.runtime.sessions() as session:
        return list((await session.scalars(select(Suggestion).order_by(col(Suggestion.id)))).all())


async def exposures(api: Api) -> list[SuggestionExposure]:
    async with api.runtime.sessions() as session:
        return list((await session.scalars(select(SuggestionExposure))).all())
