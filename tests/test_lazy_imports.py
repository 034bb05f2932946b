"""The server starts without its heavy libraries: each is imported only by the work that needs
it, in a thread of the process that runs that work. scikit-learn costs ~110 MiB resident and only
a fit needs it (trainModel, detectLabelIssues, a retrain); ReportLab only a report or a PDF;
`datasets` and pyarrow only a Parquet or Hugging Face export."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("sklearn", "reportlab", "datasets", "pyarrow")


@pytest.mark.parametrize("module", HEAVY)
def test_starting_the_app_does_not_import_it(module: str) -> None:
    probe = f"import sys, app.main; app.main.create_app; print({module!r} in sys.modules)"
    done = subprocess.run(  # noqa: S603  (this interpreter, a fixed program)
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "False"
