"""Shared by the erasure tests: the documents, a project with a free-text field, and the search of
every column of every table for a planted marker."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, cast, func, select

from app.db import metadata
from tests.conftest import SCHEMA, Api
from tests.consent.support import consent, import_with, recorded
from tests.workflow.flow import create_project

ERASE_SUBJECT = """
mutation Erase($input: EraseSubjectInput!) {
  eraseSubject(input: $input) {
    erasureId erasedAt
    counts {
      items itemsWithdrawn assignmentsCancelled labels reviews decisions comments mentions escalations audits
      suggestions goldAnswers guidelineEdgeCases trainedModels
    }
    errors { code field message }
  }
}
"""
ERASE_USER = """
mutation EraseUser($input: EraseUserInput!) {
  eraseUser(input: $input) { user { id username displayName erasedAt } errors { code field message } }
}
"""
RETENTION = """
mutation Retention($input: UpdateRetentionPolicyInput!) {
  updateRetentionPolicy(input: $input) { project { id retentionDays } errors { code field message } }
}
"""
ITEM = """
query Item($id: ID!) {
  node(id: $id) {
    ... on Item {
      externalId contentHash status erasedAt data metadata
      labels { id value rationale author { username } }
      comments { body deletedAt mentions { username } }
    }
  }
}
"""
# A label schema with a free-text field: its values are the annotators' own words.
TEXT_SCHEMA = {"fields": [*SCHEMA["fields"], {"name": "note", "kind": "text", "required": False}]}


async def text_project(api: Api, name: str = "Erasure") -> str:
    return await create_project(api, name, overlap=1, schema=TEXT_SCHEMA)


async def subject_items(api: Api, project: str, subject: str, rows: list[dict[str, Any]]) -> None:
    """Import the rows under a new consent record of the subject."""
    [consent_id] = await recorded(api, consent(subject))
    payload = await import_with(api, [{**row, "consentId": consent_id} for row in rows], project=project)
    assert payload["errors"] == [], payload


async def erase(api: Api, subject: str, *, as_: str = "compliance", reason: str = "Art. 17 request.") -> Any:
    data = await api.data(ERASE_SUBJECT, {"input": {"subjectRef": subject, "reason": reason}}, as_=as_)
    return data["eraseSubject"]


async def where_marker(api: Api, marker: str) -> dict[str, list[str]]:
    """Every table's columns whose text (cast, JSON included) holds the marker: {table: [columns]}."""
    found: dict[str, list[str]] = {}
    async with api.runtime.sessions() as session:
        for table in metadata.sorted_tables:
            for column in table.columns:
                hits = await session.scalar(
                    select(func.count()).select_from(table).where(cast(column, String).contains(marker))
                )
                if hits:
                    found.setdefault(table.name, []).append(column.name)
    return found


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]
