"""Reading the audit log from either end: auditEvents(order: OLDEST_FIRST | NEWEST_FIRST).

Oldest first stays the default. Pages are keyset pages on the sequence in the order asked for,
so walking the cursors either way yields every event exactly once, in that order, with filters
applied throughout.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.workflow.flow import claimed, create_project, imported, rows, submit

PAGE = """
query Audit($first: Int!, $after: String, $order: AuditOrder, $action: String) {
  auditEvents(first: $first, after: $after, order: $order, action: $action) {
    nodes { sequence action }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
DEFAULT_ORDER = "query { auditEvents(first: 100) { nodes { sequence } } }"


async def walk(api: Api, *, first: int, **variables: Any) -> list[dict[str, Any]]:
    """Every event, page by page through the cursors, with the page size asked for."""
    events: list[dict[str, Any]] = []
    after = None
    while True:
        data = await api.data(PAGE, {"first": first, "after": after, **variables}, as_="compliance")
        page = data["auditEvents"]
        assert 0 < len(page["nodes"]) <= first, page
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        events.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return events
        after = page["pageInfo"]["endCursor"]


async def busy_log(api: Api) -> None:
    project = await create_project(api, "Logged", overlap=1)
    await imported(api, project, rows(3))
    for name in ("ann1", "ann2", "ann3"):
        task = await claimed(api, project, as_=name)
        assert (await submit(api, task["id"], {"sentiment": "pos"}, as_=name))["errors"] == []


async def test_newest_first_is_the_log_reversed_and_cursors_walk_both_ways(api: Api) -> None:
    await busy_log(api)
    everything = (await api.data(DEFAULT_ORDER, as_="compliance"))["auditEvents"]["nodes"]
    sequences = [event["sequence"] for event in everything]
    assert len(sequences) > 10
    assert sequences == sorted(sequences), "the default order is oldest first"

    oldest_first = await walk(api, first=3, order="OLDEST_FIRST")
    newest_first = await walk(api, first=3, order="NEWEST_FIRST")

    assert [e["sequence"] for e in oldest_first] == sequences
    assert [e["sequence"] for e in newest_first] == sequences[::-1]


async def test_newest_first_keeps_the_filters(api: Api) -> None:
    await busy_log(api)

    submits = await walk(api, first=2, order="NEWEST_FIRST", action="label.submit")

    assert [e["action"] for e in submits] == ["label.submit"] * 3
    assert [e["sequence"] for e in submits] == sorted((e["sequence"] for e in submits), reverse=True)
    oldest = await walk(api, first=2, action="label.submit")
    assert [e["sequence"] for e in oldest] == [e["sequence"] for e in reversed(submits)]


async def test_a_cursor_continues_from_its_event_in_the_order_asked_for(api: Api) -> None:
    await busy_log(api)
    sequences = [e["sequence"] for e in (await api.data(DEFAULT_ORDER, as_="compliance"))["auditEvents"]["nodes"]]
    middle = len(sequences) // 2
    data = await api.data(PAGE, {"first": middle + 1, "order": "OLDEST_FIRST"}, as_="compliance")
    cursor = data["auditEvents"]["pageInfo"]["endCursor"]  # the event at index `middle`

    older = await api.data(PAGE, {"first": 100, "after": cursor, "order": "NEWEST_FIRST"}, as_="compliance")
    newer = await api.data(PAGE, {"first": 100, "after": cursor, "order": "OLDEST_FIRST"}, as_="compliance")

    assert [e["sequence"] for e in older["auditEvents"]["nodes"]] == sequences[:middle][::-1]
    assert [e["sequence"] for e in newer["auditEvents"]["nodes"]] == sequences[middle + 1 :]


async def test_an_unknown_order_is_a_typed_error(api: Api) -> None:
    body = await api.gql(PAGE, {"first": 5, "order": "SIDEWAYS"}, as_="compliance")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
