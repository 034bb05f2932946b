"""`labelgraph quality report`: the report (GET /reports/{project}/quality.html|pdf) written to a
file, and what it refuses before any request."""

from __future__ import annotations

from pathlib import Path

from tests.cli.support import PROJECT_A, Store


def test_the_report_is_written_as_html_and_pdf(store: Store, tmp_path: Path) -> None:
    html = store.run("quality", "report", PROJECT_A, "--out", str(tmp_path / "q.html"), "--as", "pm")
    pdf = store.run(
        "quality", "report", PROJECT_A, "--from", "2026-01-01", "--out", str(tmp_path / "q.pdf"), "--as", "pm"
    )

    assert html.exit_code == 0, html.output
    assert "<html" in (tmp_path / "q.html").read_text().lower()
    assert pdf.exit_code == 0, pdf.output
    assert (tmp_path / "q.pdf").read_bytes().startswith(b"%PDF")


def test_what_it_cannot_ask_for_is_one_line_before_any_request(store: Store, tmp_path: Path) -> None:
    cases = {
        ("--out", str(tmp_path / "q.docx"), "--as", "pm"): "error: --out must end in .html or .pdf",
        ("--out", str(tmp_path / "q.html"), "--from", "last tuesday", "--as", "pm"): "error: --from must be an "
        "ISO 8601 date or time, not 'last tuesday'",
    }
    for args, expected in cases.items():
        result = store.run("quality", "report", PROJECT_A, *args)
        assert (result.exit_code, result.stderr.splitlines()) == (2, [expected]), args
    assert list(tmp_path.glob("q.*")) == []
