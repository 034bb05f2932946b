"""The quality report as a download: its figures, charts and the period's changes, in HTML and PDF,
for those who may read projectQuality only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.access.test_access_history import access_events
from tests.conftest import Api, gid
from tests.reports.support import (
    NEW_CHANGELOG,
    NEW_RATIONALE,
    ODD,
    OLD_CHANGELOG,
    OLD_RATIONALE,
    html_text,
    iso,
    pdf_text,
    seeded,
)
from tests.workflow.flow import audit_events


def headers(api: Api, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(username)}"}


def assert_report_says(text: str) -> None:
    """What a retrospective needs, as one line of text: figures, the changes of the period, and
    nothing of the changes before it."""
    assert "Retro — quality report" in text
    # 6 labels on 3 items, 3 reviews; 3 audits, 2 overturned.
    assert "Labels (gold answers apart) 6" in text
    assert "QA audits 3" in text
    assert "Audits overturned 2" in text
    assert "Overturn rate 66.7 %" in text
    assert "ann1" in text
    assert "ann2" in text
    assert "reviewer" in text
    assert "Labels per 24 h window" in text  # the throughput chart
    assert "Agreement per window, by field" in text
    assert "QA audits per decided class" in text
    assert "Annotators' error rates" in text
    assert "Schema version 3" in text
    assert NEW_RATIONALE in text
    assert "Class sentiment.mixed: added" in text
    assert "Guideline version 3" in text
    assert NEW_CHANGELOG in text
    assert "Sarcastic praise counts as negative." in text  # the guideline diff's new definition
    assert "Schema version 2" not in text
    assert OLD_RATIONALE not in text
    assert "Guideline version 2 " not in text
    assert OLD_CHANGELOG not in text


async def test_the_html_report_shows_the_period_and_escapes_what_users_wrote(api: Api) -> None:
    retro = await seeded(api)

    response = await api.client.get(f"/reports/{retro.project}/quality.html", headers=headers(api, "qa"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="Retro-quality-')
    assert response.headers["content-disposition"].endswith('.html"')
    text, tags = html_text(response.text)
    assert_report_says(" ".join(text.split()))
    assert ODD in text  # shown as text...
    assert "script" not in tags  # ...never as markup, in the page or its SVG charts
    assert ODD not in response.text
    # Self-contained: charts inline, nothing fetched from elsewhere (the SVG namespaces are names, not fetches).
    assert tags.count("svg") == 5  # throughput, agreement, errors per class, audits, annotators
    assert "src=" not in response.text
    assert "href=" not in response.text
    assert "<link" not in response.text


async def test_the_pdf_report_says_the_same(api: Api) -> None:
    retro = await seeded(api)

    response = await api.client.get(f"/reports/{retro.project}/quality.pdf", headers=headers(api, "pm"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].endswith('.pdf"')
    assert response.content.startswith(b"%PDF-")
    assert_report_says(" ".join(pdf_text(response.content).split()))


async def test_a_period_leaves_out_what_happened_outside_it(api: Api) -> None:
    retro = await seeded(api)
    # Ninety days ending a month ago: the old changes, and none of today's labels or audits.
    now = datetime.now(UTC)
    period = {"from": iso(now - timedelta(days=90)), "to": iso(now - timedelta(days=30))}

    response = await api.client.get(f"/reports/{retro.project}/quality.html", params=period, headers=headers(api, "qa"))

    assert response.status_code == 200, response.text
    text, _ = html_text(response.text)
    assert "Labels (gold answers apart) 0" in text
    assert "QA audits 0" in text
    assert "No labels were made in this period." in text
    assert "Schema version 2" in text
    assert OLD_RATIONALE in text
    assert "Class sentiment.neu: renamed → neutral" in text
    assert "Guideline version 2" in text
    assert OLD_CHANGELOG in text
    assert "Schema version 3" not in text
    assert NEW_CHANGELOG not in text


async def test_a_download_is_audited_with_its_period(api: Api) -> None:
    retro = await seeded(api)
    period = {"from": "2026-01-01", "to": "2026-02-01T00:00:00+00:00"}

    response = await api.client.get(f"/reports/{retro.project}/quality.pdf", params=period, headers=headers(api, "qa"))

    assert response.status_code == 200, response.text
    [event] = await audit_events(api, "report.download", retro.project)
    assert event["actor"]["username"] == "qa"
    assert event["details"] == {
        "from": "2026-01-01T00:00:00+00:00",
        "to": "2026-02-01T00:00:00+00:00",
        "format": "pdf",
    }


async def test_only_quality_readers_get_it(api: Api) -> None:
    retro = await seeded(api)
    url = f"/reports/{retro.project}/quality.html"

    for who in ("ann1", "reviewer"):
        refused = await api.client.get(url, headers=headers(api, who))
        assert refused.status_code == 403, who
        assert refused.json() == {"error": "forbidden", "error_description": "You may not read its quality figures."}
    # Another project's manager: the project does not exist for it, as a missing one.
    hidden = await api.client.get(url, headers=headers(api, "pm_b"))
    missing = await api.client.get(
        f"/reports/{gid('Project', api.world.project_b)}x/quality.html", headers=headers(api, "pm_b")
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"error": "not_found", "error_description": "No such project."}
    assert (await api.client.get(url)).status_code == 401
    assert (await api.client.get(url, headers={"Authorization": "Bearer not-a-token"})).status_code == 401
    assert await audit_events(api, "report.download", retro.project) == []


async def test_a_bad_period_is_a_clear_400(api: Api) -> None:
    retro = await seeded(api)
    url = f"/reports/{retro.project}/quality.pdf"
    cases = {
        "'from' is not an ISO 8601 date or time.": {"from": "last tuesday"},
        "'from' must be before 'to'.": {"from": "2026-03-01", "to": "2026-02-01"},
        "A report covers at most 366 days.": {"from": "2024-01-01", "to": "2026-01-01"},
    }
    for message, params in cases.items():
        response = await api.client.get(url, params=params, headers=headers(api, "qa"))
        assert response.status_code == 400, params
        assert response.json() == {"error": "invalid_request", "error_description": message}


async def test_downloads_and_refusals_are_in_the_access_history(api: Api) -> None:
    retro = await seeded(api)
    url = f"/reports/{retro.project}/quality.pdf"

    assert (await api.client.get(url, headers=headers(api, "qa"))).status_code == 200
    assert (await api.client.get(url, headers=headers(api, "ann1"))).status_code == 403

    downloads = [e for e in await access_events(api) if e["channel"] == "DOWNLOAD" and e["operation"] == "report"]
    by = {e["actor"]["username"]: e for e in downloads}
    assert set(by) == {"qa", "ann1"}
    assert by["qa"]["status"] == 200
    assert {"resourceType": "Project", "resourceId": retro.project, "action": "READ"} in by["qa"]["resources"]
    assert (by["ann1"]["status"], by["ann1"]["outcome"]) == (403, "DENIED")
