"""audit hash chain: seq, prev_hash and hash on audit_event (existing events chained in the order
they were written), and triggers that refuse what the append-only ones let through: SQLite's
INSERT OR REPLACE over an existing id, inserts that do not continue the chain's head (a forged or
back-dated event), and TRUNCATE on PostgreSQL

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 07:22:03.431773
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# Format version 1 of the chain's encoding is fixed for good (a new format gets a new number).
from app.compliance.chain import GENESIS, Link, link_hash

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
EVENTS = sa.table(
    'audit_event',
    sa.column('id', SEQ),
    sa.column('occurred_at', sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column('actor_id', sa.Uuid()),
    sa.column('actor_kind', sa.String()),
    sa.column('action', sa.String()),
    sa.column('entity_type', sa.String()),
    sa.column('entity_id', sa.String()),
    sa.column('project_id', sa.Uuid()),
    sa.column('input_digest', sa.String()),
    sa.column('seq', SEQ),
    sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)

# SQLite: NEW.id of an INSERT OR REPLACE names the row it would delete without any DELETE
# trigger firing (recursive_triggers is off); refuse that first, then anything but the next link.
SQLITE_CHAIN_TRIGGER = f"""
CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only: an event with this id exists')
    WHERE EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id);
    SELECT RAISE(ABORT, 'audit_event is append-only: seq and prev_hash must continue the chain head')
    WHERE NEW.seq IS NOT COALESCE((SELECT seq FROM audit_event ORDER BY seq DESC LIMIT 1), 0) + 1
       OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1), '{GENESIS}');
    SELECT RAISE(ABORT, 'audit_event is append-only: occurred_at is before the chain head')
    WHERE NEW.occurred_at < (SELECT occurred_at FROM audit_event ORDER BY seq DESC LIMIT 1);
END
"""

PG_CHAIN_FUNCTION = f"""
CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash varchar;
    head_at timestamptz;
BEGIN
    SELECT seq, hash, occurred_at INTO head_seq, head_hash, head_at FROM audit_event ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := '{GENESIS}';
    END IF;
    IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
        RAISE EXCEPTION 'audit_event is append-only: seq and prev_hash must continue the chain head';
    END IF;
    IF NEW.occurred_at < head_at THEN
        RAISE EXCEPTION 'audit_event is append-only: occurred_at is before the chain head';
    END IF;
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    # Plain ADD COLUMN (no table copy: that would drop the append-only triggers with the table).
    op.add_column('audit_event', sa.Column('seq', SEQ, nullable=False, server_default='0'))
    op.add_column(
        'audit_event', sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default='')
    )
    op.add_column(
        'audit_event', sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default='')
    )
    _chain_existing(sqlite)
    op.create_index('uq_audit_event_seq', 'audit_event', ['seq'], unique=True)
    if sqlite:
        op.execute(SQLITE_CHAIN_TRIGGER)
        return
    for column in ('seq', 'prev_hash', 'hash'):
        op.alter_column('audit_event', column, server_default=None)
    op.execute(PG_CHAIN_FUNCTION)
    op.execute(
        'CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event '
        'FOR EACH ROW EXECUTE FUNCTION audit_event_chain()'
    )
    op.execute(
        'CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event '
        'FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()'
    )


def _chain_existing(sqlite: bool) -> None:
    """Chain the events already there in the order they were written: by time, then id (the
    old record() took its time before commit, so ids and times can disagree a little). Their
    times then rise with seq, as every later append's do."""
    bind = op.get_bind()
    if sqlite:
        op.execute('DROP TRIGGER audit_event_no_update')
    else:
        op.execute('ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only')
    rows = bind.execute(sa.select(EVENTS).order_by(EVENTS.c.occurred_at, EVENTS.c.id))
    prev, updates = GENESIS, []
    for seq, row in enumerate(rows, start=1):
        link = Link(
            seq=seq,
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
        updates.append({'row_id': row.id, 'seq': seq, 'prev_hash': prev, 'hash': digest})
        prev = digest
    if updates:
        bind.execute(
            sa.update(EVENTS)
            .where(EVENTS.c.id == sa.bindparam('row_id'))
            .values(seq=sa.bindparam('seq'), prev_hash=sa.bindparam('prev_hash'), hash=sa.bindparam('hash')),
            updates,
        )
    if sqlite:
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )
    else:
        op.execute('ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS audit_event_chain')
        op.drop_index('uq_audit_event_seq', table_name='audit_event')
        # SQLite's own DROP COLUMN (3.35+): batch mode's table copy would lose the triggers.
        for column in ('hash', 'prev_hash', 'seq'):
            op.execute(f'ALTER TABLE audit_event DROP COLUMN {column}')
        return
    op.execute('DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event')
    op.execute('DROP TRIGGER IF EXISTS audit_event_chain ON audit_event')
    op.execute('DROP FUNCTION IF EXISTS audit_event_chain()')
    op.drop_index('uq_audit_event_seq', table_name='audit_event')
    for column in ('hash', 'prev_hash', 'seq'):
        op.drop_column('audit_event', column)
