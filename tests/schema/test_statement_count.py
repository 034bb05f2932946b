"""DataLoaders at work: a page of items with their labels, reviews, final label (also read under
the schema in force) and the people behind them costs the same few SQL statements for 10 items as for 100.

Statements are counted at the engine (every cursor execution), not timed.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from app.auth.actor import Actor
from app.db import unit_of_work
from app.workflow import labeling, queue, review
from app.workflow.models import Label, Verdict
from tests.conftest import Api, gid
from tests.statements import counted

ITEMS = 100
# Generous for what a page needs (project, items, labels, reviews, final labels, users, and
# SQLite's BEGIN), yet far below one statement per item.
MAX_STATEMENTS = 10

PAGE = """
query ($project: ID!, $first: Int!) {
  project(id: $project) {
    items(first: $first, status: FINAL) {
      nodes {
        externalId
        labels { author { username } }
        reviews { reviewer { username } }
        finalLabel { decidedBy { username } inActiveSchema { schemaVersion value } }
      }
    }
  }
}
"""


def actor(api: Api, username: str) -> Actor:
    user = api.world.users[username]
    return Actor(user.id, user.username, user.kind, api.runtime.authorizer)


async def finalize_items(api: Api) -> None:
    """Import through the API; label and review through the services, which is what the API calls."""
    items = [{"externalId": f"doc-{i:03}", "data": {"text": f"text {i}"}} for i in range(ITEMS)]
    imported = await api.data(
        "mutation ($input: ImportItemsInput!) { importItems(input: $input) { importedCount errors { code } } }",
        {"input": {"projectId": gid("Project", api.world.project_a), "items": items}},
        as_="pm",
    )
    assert imported["importItems"] == {"importedCount": ITEMS, "errors": []}

    annotator, reviewer = actor(api, "ann1"), actor(api, "reviewer")
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        for _ in range(ITEMS):
            claim = await queue.claim_next(session, annotator, api.world.project_a)
            new = labeling.NewLabel(claim.assignment.id, {"sentiment": "pos", "topics": ["price"]})
            await labeling.submit_label(session, annotator, new)
    async with unit_of_work(api.runtime.sessions, write=True) as session:
        labels = (await session.scalars(select(Label).order_by(col(Label.id)))).all()
        for label in labels:
            await review.review_label(session, reviewer, review.NewReview(label.id, Verdict.ACCEPT))


async def page(api: Api, first: int) -> list[dict[str, Any]]:
    data = await api.data(PAGE, {"project": gid("Project", api.world.project_a), "first": first}, as_="pm")
    nodes: list[dict[str, Any]] = data["project"]["items"]["nodes"]
    return nodes


async def test_page_of_items_costs_the_same_statements_for_10_and_100(api: Api) -> None:
    await finalize_items(api)
    # Warm up: the caller's identity is looked up once, then cached; that read is no page's cost.
    await page(api, 1)

    async with counted(api) as small:
        ten = await page(api, 10)
    async with counted(api) as large:
        hundred = await page(api, 100)

    assert len(ten) == 10
    assert len(hundred) == ITEMS
    expected = {
        "labels": [{"author": {"username": "ann1"}}],
        "reviews": [{"reviewer": {"username": "reviewer"}}],
        "finalLabel": {
            "decidedBy": {"username": "reviewer"},
            "inActiveSchema": {"schemaVersion": 1, "value": {"sentiment": "pos", "topics": ["price"]}},
        },
    }
    assert all({k: v for k, v in node.items() if k != "externalId"} == expected for node in hundred)
    assert len(small) == len(large), (small, large)
    assert len(large) <= MAX_STATEMENTS, large
