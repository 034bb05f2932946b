"""Shared by the discussion tests: the documents a client sends and a project with a thread to discuss."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.workflow.flow import claimed, create_project, grant, imported, rows, submit

ADD = """
mutation Add($input: AddCommentInput!) {
  addComment(input: $input) {
    comment {
      id body parentId createdAt editedAt deletedAt author { username } mentions { username }
      guidelineRef { section field className }
    }
    errors { code field message }
  }
}
"""
EDIT = """
mutation Edit($input: EditCommentInput!) {
  editComment(input: $input) { comment { id body createdAt editedAt } errors { code field message } }
}
"""
DELETE = """
mutation Delete($input: DeleteCommentInput!) {
  deleteComment(input: $input) { comment { id body deletedAt author { username } } errors { code field message } }
}
"""
PROMOTE = """
mutation Promote($input: PromoteToGuidelineInput!) {
  promoteToGuideline(input: $input) {
    guideline { version status }
    edgeCase { title description field className source { itemId commentId decisionId } }
    errors { code field message }
  }
}
"""
THREADS = """
query Threads($id: ID!) {
  node(id: $id) {
    ... on Item {
      comments {
        id body author { username } mentions { username } deletedAt
        guidelineRef { section field className }
        replies { id body parentId author { username } }
      }
    }
  }
}
"""
MENTIONS = """
query Mentions($first: Int!, $after: String) {
  viewer {
    mentions(first: $first, after: $after) {
      nodes { id body author { username } item { externalId } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
DRAFT = """
query Draft($id: ID!) {
  project(id: $id) {
    guidelineDraft {
      version status body
      edgeCases { title description field className source { itemId commentId decisionId } }
    }
  }
}
"""


async def discussed_project(api: Api, name: str = "Discussed") -> tuple[str, list[str]]:
    """A project of two items (overlap 2) with qa, expert and mlbot granted; ann2 has labeled item-0
    and ann3 holds a live claim on it. Returns the project and the items' ids (item-0, item-1)."""
    project = await create_project(api, name, overlap=2)
    await grant(api, "qa", "QA_AUDITOR", project)
    await grant(api, "expert", "EXPERT", project)
    await grant(api, "mlbot", "ML_SERVICE", project)
    await imported(api, project, [{**row, "priority": 2 - i} for i, row in enumerate(rows(2))])
    task = await claimed(api, project, as_="ann2")
    assert task["item"]["externalId"] == "item-0"
    assert (await submit(api, task["id"], {"sentiment": "pos"}, as_="ann2"))["errors"] == []
    ann3_task = await claimed(api, project, as_="ann3")
    assert ann3_task["item"]["externalId"] == "item-0"
    second = await claimed(api, project, as_="ann2")
    assert second["item"]["externalId"] == "item-1"
    return project, [task["item"]["id"], second["item"]["id"]]


async def add(api: Api, as_: str, **fields: Any) -> dict[str, Any]:
    data = await api.data(ADD, {"input": fields}, as_=as_)
    payload: dict[str, Any] = data["addComment"]
    return payload


async def added(api: Api, as_: str, **fields: Any) -> dict[str, Any]:
    payload = await add(api, as_, **fields)
    assert payload["errors"] == [], payload
    comment: dict[str, Any] = payload["comment"]
    return comment


async def threads(api: Api, item: str, as_: str) -> list[dict[str, Any]] | None:
    """The item's threads as the caller sees them; None when the item itself is not there for it."""
    data = await api.data(THREADS, {"id": item}, as_=as_)
    if data["node"] is None:
        return None
    comments: list[dict[str, Any]] = data["node"]["comments"]
    return comments
