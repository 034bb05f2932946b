"""The server starts without ReportLab: only a PDF or report download needs it, in a thread."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_starting_the_app_does_not_import_reportlab() -> None:
    probe = "import sys, app.main; app.main.create_app; print(sorted(m for m in ('reportlab',) if m in sys.modules))"
    done = subprocess.run(  # noqa: S603  (this interpreter, a fixed program)
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "[]"
