"""schema.graphql at the repository root is the contract front-end teams generate code from:
it must equal the SDL the server exports."""

from __future__ import annotations

import difflib

from app.schema import build_schema
from app.settings import Settings
from tests.conftest import ROOT


def test_checked_in_sdl_matches_the_served_schema() -> None:
    exported = build_schema(Settings()).as_str() + "\n"
    path = ROOT / "schema.graphql"
    checked_in = path.read_text() if path.exists() else ""

    diff = "".join(
        difflib.unified_diff(
            checked_in.splitlines(keepends=True),
            exported.splitlines(keepends=True),
            "schema.graphql (checked in)",
            "schema (exported)",
        )
    )
    assert not diff, f"schema.graphql is out of date; refresh it with `make schema` and review the change:\n{diff}"
