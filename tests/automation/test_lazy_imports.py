"""The server starts without scikit-learn: it costs ~110 MiB of resident memory, and only a fit
(trainModel, detectLabelIssues, a retrain) needs it, in the process that runs one."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_starting_the_app_does_not_import_scikit_learn() -> None:
    probe = "import sys, app.main; app.main.create_app; print(sorted(m for m in ('sklearn',) if m in sys.modules))"
    done = subprocess.run(  # noqa: S603  (this interpreter, a fixed program)
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "[]"
