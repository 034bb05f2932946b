"""A project with a history worth a retrospective: labels, reviews and QA audits, a schema change
and a guideline version inside the last 30 days, and one of each long before them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from sqlmodel import select

from app.guidelines.models import GuidelineVersion
from app.taxonomy.models import LabelSchemaVersion
from tests.audits.support import claim_audit, policy_set, submit_audit
from tests.conftest import Api
from tests.workflow.flow import create_project, grant, imported, labeled, pk, review, rows

ODD = "<script>alert(1)</script>"  # a class name a browser must never run
SCHEMA = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu", ODD], "required": True},
    ]
}
OLD_RATIONALE = "Long ago: spell neutral out."
NEW_RATIONALE = "Mixed opinions get their own class."
OLD_CHANGELOG = "Long ago: the first decision tree."
NEW_CHANGELOG = "Sarcasm is negative now."
TREE = {
    "root": "opinion",
    "nodes": [
        {
            "id": "opinion",
            "question": "Does the text take a side?",
            "answers": [{"answer": "no", "class": "neutral"}, {"answer": "yes", "next": "side"}],
        },
        {
            "id": "side",
            "question": "Is it mostly favourable?",
            "answers": [{"answer": "yes", "class": "pos"}, {"answer": "no", "class": "neg"}],
        },
    ],
}

PROPOSE = """
mutation Propose($input: ProposeSchemaChangeInput!) {
  proposeSchemaChange(input: $input) { request { id } errors { code field message } }
}
"""
APPROVE = """
mutation Approve($id: ID!) {
  approveSchemaChange(input: {requestId: $id, note: "ok"}) {
    request { resultingVersion } errors { code field message }
  }
}
"""
SAVE = """
mutation Save($input: SaveGuidelineDraftInput!) {
  saveGuidelineDraft(input: $input) { guideline { version } errors { code field message } }
}
"""
PUBLISH = """
mutation Publish($input: PublishGuidelineInput!) {
  publishGuideline(input: $input) { guideline { version } errors { code field message } }
}
"""


@dataclass(frozen=True)
class Retro:
    project: str


async def seeded(api: Api) -> Retro:
    project = await create_project(api, "Retro", overlap=2, schema=SCHEMA)
    await grant(api, "qa", "QA_AUDITOR", project)
    await policy_set(api, project, reviewRate=1.0, auditRate=1.0)
    await imported(api, project, rows(3))
    first = [await labeled(api, project, {"sentiment": s}, as_="ann1") for s in ("pos", "pos", ODD)]
    second = [await labeled(api, project, {"sentiment": s}, as_="ann2") for s in ("pos", "neg", "pos")]
    for label in (first[0], second[1], first[2]):
        assert (await review(api, label["id"], "ACCEPT"))["errors"] == []
    verdicts: list[tuple[str, dict[str, Any]]] = [
        ("OVERTURN", {"value": {"sentiment": "neg"}, "comment": "Sarcasm."}),
        ("CONFIRM", {}),
        ("OVERTURN", {"value": {"sentiment": "pos"}, "comment": "Praise."}),
    ]
    for verdict, extra in verdicts:
        claimed = await claim_audit(api, project)
        assert claimed["errors"] == [], claimed
        assert (await submit_audit(api, claimed["item"]["id"], verdict, **extra))["errors"] == []

    # Long ago: schema v2 and guideline v2 (and the first versions before them).
    neutral = [c if c != "neu" else "neutral" for c in SCHEMA["fields"][0]["classes"]]
    await _schema_change(api, project, neutral, {"sentiment": {"neu": "neutral"}}, OLD_RATIONALE)
    await _publish(api, project, "Label the meaning.", {"decisionTree": TREE}, OLD_CHANGELOG)
    await _backdate(api, project, days=60)
    # In the period: schema v3 and guideline v3.
    await _schema_change(api, project, [*neutral, "mixed"], {}, NEW_RATIONALE)
    definitions = [{"class": "neg", "definition": "Sarcastic praise counts as negative."}]
    await _publish(
        api,
        project,
        "Label the meaning, not the words.",
        {"decisionTree": TREE, "definitions": definitions},
        NEW_CHANGELOG,
    )
    return Retro(project)


async def _schema_change(api: Api, project: str, classes: list[str], mapping: dict[str, Any], rationale: str) -> None:
    field = {**SCHEMA["fields"][0], "classes": classes}
    variables = {
        "input": {
            "projectId": project,
            "definition": {"fields": [field]},
            "rationale": rationale,
            "classMapping": mapping,
        }
    }
    proposed = (await api.data(PROPOSE, variables, as_="pm"))["proposeSchemaChange"]
    assert proposed["errors"] == [], proposed
    approved = (await api.data(APPROVE, {"id": proposed["request"]["id"]}, as_="admin"))["approveSchemaChange"]
    assert approved["errors"] == [], approved


async def _publish(api: Api, project: str, body: str, content: dict[str, Any], changelog: str) -> None:
    saved = await api.data(SAVE, {"input": {"projectId": project, "body": body, "content": content}}, as_="pm")
    assert saved["saveGuidelineDraft"]["errors"] == [], saved
    published = await api.data(PUBLISH, {"input": {"projectId": project, "changelog": changelog}}, as_="pm")
    assert published["publishGuideline"]["errors"] == [], published


async def _backdate(api: Api, project: str, *, days: int) -> None:
    """Every schema and guideline version so far moves `days` into the past: tests never wait."""
    back = timedelta(days=days)
    async with api.runtime.sessions() as session:
        for schema in await session.scalars(
            select(LabelSchemaVersion).where(LabelSchemaVersion.project_id == pk(project))
        ):
            schema.created_at -= back
        for guideline in await session.scalars(
            select(GuidelineVersion).where(GuidelineVersion.project_id == pk(project))
        ):
            if guideline.published_at is not None:
                guideline.published_at -= back
        await session.commit()


def pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(body: str) -> tuple[str, list[str]]:
    """The page's text (entities decoded) and every tag it opens."""
    parser = _Text()
    parser.feed(body)
    parser.close()
    return " ".join(" ".join(parser.parts).split()), parser.tags


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
