"""The image's layout: the package installed in site-packages, the migrations kept elsewhere
(/opt/labelgraph) and named by LABELGRAPH_ALEMBIC_CONFIG. `labelgraph migrate` runs them from
there, and says which setting to fix, in one line with exit code 2, when nothing is there."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def test_migrate_runs_the_migrations_named_by_labelgraph_alembic_config(tmp_path: Path) -> None:
    laid_out = tmp_path / "opt"
    laid_out.mkdir()
    shutil.copy(ROOT / "alembic.ini", laid_out / "alembic.ini")
    shutil.copytree(ROOT / "migrations", laid_out / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    database = tmp_path / "data" / "labelgraph.db"
    env = {
        "LABELGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "LABELGRAPH_ALEMBIC_CONFIG": str(laid_out / "alembic.ini"),
    }

    result = CliRunner().invoke(cli, ["migrate"], env=env)

    assert result.exit_code == 0, result.output
    with sqlite3.connect(database) as connection:
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision == ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()


def test_migrate_without_its_migrations_names_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "site-packages" / "alembic.ini"
    env = {
        "LABELGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'labelgraph.db'}",
        "LABELGRAPH_ALEMBIC_CONFIG": str(missing),
    }

    result = CliRunner().invoke(cli, ["migrate"], env=env)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: no migrations at {missing}: set LABELGRAPH_ALEMBIC_CONFIG to the alembic.ini "
        "that sits beside the migrations/ folder"
    ]
    assert not (tmp_path / "labelgraph.db").exists()  # refused before connecting
