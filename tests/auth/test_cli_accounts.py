"""`labelgraph user deactivate|reactivate`: an operator takes a leaver off from the command line,
as a named admin, with the same effects and audit trail as deactivateUser; a refusal is one line
and exit code 2."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlmodel import col
from typer.testing import CliRunner

from app.auth.models import AccountChange, User, UserStatus
from app.cli import cli
from app.compliance.models import AuditEvent
from app.db import create_engine, session_factory
from app.settings import Settings
from tests.conftest import build_world

CHEAP = {"LABELGRAPH_ARGON2_TIME_COST": "1", "LABELGRAPH_ARGON2_MEMORY_KIB": "64"}


def run(settings: Settings, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["user", *args], env={**CHEAP, "LABELGRAPH_DATABASE_URL": settings.database_url})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def state(settings: Settings) -> tuple[UserStatus, list[tuple[str, str]], list[str]]:
    async def read() -> tuple[UserStatus, list[tuple[str, str]], list[str]]:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                ann1 = await session.scalar(select(User).where(col(User.username) == "ann1"))
                assert ann1 is not None
                changes = await session.execute(
                    select(AccountChange.action, User.username)
                    .join(User, col(User.id) == col(AccountChange.changed_by))
                    .where(col(AccountChange.user_id) == ann1.id)
                    .order_by(col(AccountChange.id))
                )
                actions = await session.scalars(
                    select(AuditEvent.action)
                    .where(col(AuditEvent.entity_id) == str(ann1.id), col(AuditEvent.action).startswith("user."))
                    .order_by(col(AuditEvent.id))
                )
                return ann1.status, [(str(a), u) for a, u in changes], list(actions)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_an_admin_deactivates_and_reactivates_from_the_command_line(settings: Settings, password_hash: str) -> None:
    asyncio.run(build_world(settings, password_hash))
    code, out, err = run(settings, "deactivate", "ann1", "--reason", "Left the vendor.", "--by", "admin")
    assert (code, err) == (0, "")
    assert out.startswith("deactivated ann1: ")
    assert state(settings)[0] is UserStatus.DEACTIVATED

    code, out, err = run(settings, "reactivate", "ann1", "--reason", "Rehired.", "--by", "admin")
    assert (code, out, err) == (0, "reactivated ann1: active\n", "")
    status, changes, actions = state(settings)
    assert status is UserStatus.ACTIVE
    assert changes == [("DEACTIVATE", "admin"), ("REACTIVATE", "admin")]
    assert actions == ["user.deactivate", "user.reactivate"]


def test_refusals_are_one_line_with_exit_code_2_and_change_nothing(settings: Settings, password_hash: str) -> None:
    asyncio.run(build_world(settings, password_hash))
    cases = {
        ("deactivate", "ann1", "--reason", "x", "--by", "pm"): "error: FORBIDDEN",  # not an admin
        ("deactivate", "ann1", "--reason", "x", "--by", "nobody"): "error: NOT_FOUND: No active user named nobody.",
        ("deactivate", "ghost", "--reason", "x", "--by", "admin"): "error: NOT_FOUND: No user named ghost.",
        ("deactivate", "admin", "--reason", "x", "--by", "admin"): "error: SELF_DEACTIVATION",
        ("reactivate", "ann1", "--reason", "x", "--by", "admin"): "error: NOT_DEACTIVATED",
    }
    for args, expected in cases.items():
        code, _, err = run(settings, *args)
        assert code == 2, args
        assert len(err.splitlines()) == 1, err
        assert err.startswith(expected), err
    assert state(settings) == (UserStatus.ACTIVE, [], [])
