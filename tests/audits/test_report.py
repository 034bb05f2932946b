"""projectQuality's audit figures, against numbers worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.audits.support import claim_audit, policy_set, submit_audit
from tests.conftest import Api
from tests.workflow.flow import create_project, grant, imported, labeled, review, rows

QUALITY = """
query Quality($id: ID!, $from: DateTime, $to: DateTime) {
  projectQuality(projectId: $id, from: $from, to: $to) {
    audits {
      audits overturned overturnRate
      classes { field value audits overturned overturnRate }
      annotators { annotator { username } labels errors errorRate }
      reviewers { reviewer { username } audits overturned overturnRate }
    }
  }
}
"""


async def test_audit_findings_feed_the_overturn_rates(api: Api) -> None:
    project = await create_project(api, "Audit figures", overlap=2)
    await grant(api, "qa", "QA_AUDITOR", project)
    await policy_set(api, project, reviewRate=1.0, auditRate=1.0)
    await imported(api, project, rows(3))
    first = [await labeled(api, project, {"sentiment": s}, as_="ann1") for s in ("pos", "pos", "neu")]
    second = [await labeled(api, project, {"sentiment": s}, as_="ann2") for s in ("pos", "neg", "pos")]
    # item-0: pos/pos, the reviewer accepts ann1's pos; item-1: pos/neg, ann2's neg; item-2: neu/pos, ann1's neu.
    for label in (first[0], second[1], first[2]):
        assert (await review(api, label["id"], "ACCEPT"))["errors"] == []

    verdicts: list[tuple[str, dict[str, Any]]] = [
        ("OVERTURN", {"value": {"sentiment": "neg"}, "comment": "Sarcasm."}),  # item-0: pos -> neg
        ("CONFIRM", {}),  # item-1: neg stands
        ("OVERTURN", {"value": {"sentiment": "pos"}, "comment": "Praise."}),  # item-2: neu -> pos
    ]
    for verdict, extra in verdicts:
        claimed = await claim_audit(api, project)
        assert claimed["errors"] == [], claimed
        payload = await submit_audit(api, claimed["item"]["id"], verdict, **extra)
        assert payload["errors"] == [], payload

    report = (await api.data(QUALITY, {"id": project}, as_="qa"))["projectQuality"]["audits"]
    assert (report["audits"], report["overturned"]) == (3, 2)
    assert math.isclose(report["overturnRate"], 2 / 3)
    # Per class of the decision audited: pos (item-0) and neu (item-2) were overturned, neg (item-1) not.
    assert report["classes"] == [
        {"field": "sentiment", "value": '"neg"', "audits": 1, "overturned": 0, "overturnRate": 0.0},
        {"field": "sentiment", "value": '"neu"', "audits": 1, "overturned": 1, "overturnRate": 1.0},
        {"field": "sentiment", "value": '"pos"', "audits": 1, "overturned": 1, "overturnRate": 1.0},
    ]
    # ann1: pos on item-0 (overturned to neg) and neu on item-2 (to pos) are errors: 2 of 3.
    # ann2: pos on item-0 is an error; pos on item-2 is what it was overturned to: 1 of 3.
    annotators = {a["annotator"]["username"]: a for a in report["annotators"]}
    assert {name: (a["labels"], a["errors"]) for name, a in annotators.items()} == {"ann1": (3, 2), "ann2": (3, 1)}
    assert math.isclose(annotators["ann1"]["errorRate"], 2 / 3)
    assert math.isclose(annotators["ann2"]["errorRate"], 1 / 3)
    [reviewer] = report["reviewers"]
    assert (reviewer["reviewer"], reviewer["audits"], reviewer["overturned"]) == ({"username": "reviewer"}, 3, 2)
    assert math.isclose(reviewer["overturnRate"], 2 / 3)

    # Only audits completed in the period count.
    now = datetime.now(UTC)
    before = {"id": project, "to": (now - timedelta(days=1)).isoformat()}
    empty = (await api.data(QUALITY, before, as_="qa"))["projectQuality"]["audits"]
    assert empty == {
        "audits": 0,
        "overturned": 0,
        "overturnRate": None,
        "classes": [],
        "annotators": [],
        "reviewers": [],
    }
    within = {"id": project, "from": (now - timedelta(days=1)).isoformat()}
    assert (await api.data(QUALITY, within, as_="qa"))["projectQuality"]["audits"]["audits"] == 3
