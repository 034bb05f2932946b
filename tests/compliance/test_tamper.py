"""Tampering with the audit log in SQL, as its owner could, is detected: edit, delete, insert,
reorder, back-date; and, with a signed checkpoint kept elsewhere, a cut-off tail and a whole
re-hashed chain. Each is seen at the right first broken seq by `labelgraph audit verify` (exit 1)
and by verifyAuditChain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.compliance.chain import Link, link_hash
from app.compliance.models import AuditEvent
from tests.compliance.support import CHECKPOINT, VERIFY, as_owner, grow, labelgraph, write
from tests.conftest import Api

K = 3  # the event tampered with


async def rehash_from(conn: AsyncConnection, seq: int) -> None:
    """Recompute prev_hash and hash from `seq` to the head, as an attacker who read the docs would."""
    rows = (await conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.__table__.c.seq))).all()
    prev = None
    for row in rows:
        if row.seq >= seq:
            assert prev is not None
            link = Link(
                seq=row.seq,
                occurred_at=row.occurred_at,
                actor_id=row.actor_id,
                actor_kind=row.actor_kind,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                project_id=row.project_id,
                input_digest=row.input_digest,
            )
            digest = link_hash(prev, link)
            await conn.execute(
                text("UPDATE audit_event SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                {"prev": prev, "hash": digest, "id": row.id},
            )
            prev = digest
        else:
            prev = row.hash


async def edit(conn: AsyncConnection, head: int) -> None:
    await conn.execute(text("UPDATE audit_event SET action = 'project.delete' WHERE seq = :k"), {"k": K})


async def delete(conn: AsyncConnection, head: int) -> None:
    await conn.execute(text("DELETE FROM audit_event WHERE seq = :k"), {"k": K})


async def insert(conn: AsyncConnection, head: int) -> None:
    """A forged event slipped in at K, later seqs moved up one; the forgery's own hash is right."""
    await conn.execute(text("UPDATE audit_event SET seq = -(seq + 1) WHERE seq >= :k"), {"k": K})
    await conn.execute(text("UPDATE audit_event SET seq = -seq WHERE seq < 0"))
    before = (await conn.execute(text("SELECT hash, occurred_at FROM audit_event WHERE seq = :s"), {"s": K - 1})).one()
    template = (await conn.execute(select(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == K - 1))).one()
    forged = Link(
        seq=K,
        occurred_at=template.occurred_at,
        actor_id=template.actor_id,
        actor_kind="SYSTEM",
        action="role.grant",
        entity_type="User",
        entity_id="forged",
        project_id=None,
        input_digest="0" * 64,
        prev_hash=before.hash,
    )
    await conn.execute(
        AuditEvent.__table__.insert().values(
            seq=K,
            prev_hash=before.hash,
            hash=link_hash(before.hash, forged),
            occurred_at=template.occurred_at,
            actor_id=template.actor_id,
            actor_kind="SYSTEM",
            action="role.grant",
            entity_type="User",
            entity_id="forged",
            project_id=None,
            input_digest="0" * 64,
            details={},
        )
    )


async def reorder(conn: AsyncConnection, head: int) -> None:
    """Swap the seqs of K and K + 1 (through a free value: the unique index holds meanwhile)."""
    await conn.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = :k"), {"k": K})
    await conn.execute(text("UPDATE audit_event SET seq = :k WHERE seq = :n"), {"k": K, "n": K + 1})
    await conn.execute(text("UPDATE audit_event SET seq = :n WHERE seq = -1"), {"n": K + 1})


async def backdate(conn: AsyncConnection, head: int) -> None:
    """Move K's time a year back and re-hash from there: the chain holds, its times do not rise."""
    earlier = (
        await conn.execute(select(AuditEvent.__table__.c.occurred_at).where(AuditEvent.__table__.c.seq == 1))
    ).scalar_one()
    await conn.execute(
        AuditEvent.__table__.update()
        .where(AuditEvent.__table__.c.seq == K)
        .values(occurred_at=earlier.replace(year=earlier.year - 1))
    )
    await rehash_from(conn, K)


async def cut_tail(conn: AsyncConnection, head: int) -> None:
    await conn.execute(text("DELETE FROM audit_event WHERE seq > :k"), {"k": head - 2})


async def rewrite(conn: AsyncConnection, head: int) -> None:
    """Edit K and re-hash everything after it: only a checkpoint kept elsewhere tells."""
    await edit(conn, head)
    await rehash_from(conn, K)


Attack = Callable[[AsyncConnection, int], Awaitable[None]]
# attack, (first broken seq or "head-1"/"head", reason) without a checkpoint, with one.
CASES: dict[str, tuple[Attack, Any, Any]] = {
    "edit": (edit, (K, "HASH_MISMATCH"), (K, "HASH_MISMATCH")),
    "delete": (delete, (K, "GAP"), (K, "GAP")),
    "insert": (insert, (K + 1, "PREV_MISMATCH"), (K + 1, "PREV_MISMATCH")),
    "reorder": (reorder, (K, "PREV_MISMATCH"), (K, "PREV_MISMATCH")),
    "backdate": (backdate, (K, "TIME_ORDER"), (K, "TIME_ORDER")),
    "cut_tail": (cut_tail, None, ("head-1", "TRUNCATED")),
    "rewrite": (rewrite, None, ("head", "CHECKPOINT_MISMATCH")),
}


@pytest.mark.parametrize("case", CASES)
async def test_tampering_is_detected_at_the_first_broken_link(
    api: Api, database_url: str, tmp_path: Path, case: str
) -> None:
    attack, plain, checked = CASES[case]
    head = await grow(api, 4)
    assert head > K + 2
    exported = (await api.data(CHECKPOINT, as_="compliance"))["auditCheckpoint"]
    assert exported["seq"] == head
    checkpoint = write(tmp_path / "checkpoint.json", exported["signed"])

    before = await labelgraph(database_url, "audit", "verify", "--checkpoint", str(checkpoint))
    assert before.code == 0, before
    assert f"{head} events" in before.stdout
    assert f"checkpoint seq {head} matches" in before.stdout

    async with as_owner(database_url) as conn:
        await attack(conn, head)

    for signed, expected in ((None, plain), (exported["signed"], checked)):
        args = ["--checkpoint", str(checkpoint)] if signed else []
        cli = await labelgraph(database_url, "audit", "verify", *args)
        result = (await api.data(VERIFY, {"checkpoint": signed}, as_="compliance"))["verifyAuditChain"]
        if expected is None:  # undetectable without a checkpoint: the chain itself is consistent
            assert cli.code == 0, cli
            assert result["ok"] is True
            assert result["firstBroken"] is None
            continue
        seq = {"head": head, "head-1": head - 1}.get(expected[0], expected[0])
        assert cli.code == 1, cli
        assert cli.stderr.startswith(f"audit chain broken at seq {seq}: "), cli.stderr
        assert cli.stderr.count("\n") == 1
        assert result["ok"] is False
        assert result["firstBroken"]["seq"] == seq, result
        assert result["firstBroken"]["reason"] == expected[1], result
        assert result["checkedEvents"] == result["headSeq"] == seq - 1


async def test_an_intact_chain_verifies_and_its_checkpoint_round_trips(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    head = await grow(api, 1)
    out = tmp_path / "cp.json"
    made = await labelgraph(database_url, "audit", "checkpoint", "--out", str(out))
    assert made.code == 0, made
    result = (await api.data(VERIFY, {"checkpoint": out.read_text().strip()}, as_="admin"))["verifyAuditChain"]
    assert result == {
        "ok": True,
        "checkedEvents": head,
        "headSeq": head,
        "headHash": result["headHash"],
        "firstBroken": None,
    }
    assert result["headHash"] in out.read_text()
    # Events written after the checkpoint extend the chain; the checkpoint still holds.
    await grow(api, 1)
    later = await labelgraph(database_url, "audit", "verify", "--checkpoint", str(out))
    assert later.code == 0, later
    assert "matches" in later.stdout, later


async def test_a_checkpoint_that_is_not_ours_is_a_usage_error(api: Api, database_url: str, tmp_path: Path) -> None:
    exported = (await api.data(CHECKPOINT, as_="compliance"))["auditCheckpoint"]["signed"]
    edited = exported.replace('"seq":', '"seq":1', 1)
    for content in (edited, "not json", '{"format": "labelgraph-audit-checkpoint/1"}'):
        path = write(tmp_path / "bad.json", content)
        run = await labelgraph(database_url, "audit", "verify", "--checkpoint", str(path))
        assert run.code == 2, run
        assert run.stderr.startswith("error: "), run.stderr
        assert run.stderr.count("\n") == 1, run.stderr
        body = await api.gql(VERIFY, {"checkpoint": content}, as_="compliance")
        assert body["data"]["verifyAuditChain"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    missing = await labelgraph(database_url, "audit", "verify", "--checkpoint", str(tmp_path / "nope.json"))
    assert missing.code == 2, missing
    assert "cannot read the checkpoint" in missing.stderr, missing
