"""consent records and revocations; items name their consent record and subject; the project's
consent policy

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 07:19:32.296034
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('consent_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purposes', JSON, nullable=False),
    sa.Column('legal_basis', sa.Enum('CONSENT', 'CONTRACT', 'LEGAL_OBLIGATION', 'VITAL_INTERESTS', 'PUBLIC_TASK', 'LEGITIMATE_INTERESTS', name='legalbasis', native_enum=False, length=32), nullable=False),
    sa.Column('granted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('jurisdiction', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('collector', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('evidence_ref', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('notice_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_consent_record_subject', 'consent_record', ['subject_ref', 'id'], unique=False)

    op.create_table('consent_revocation',
    sa.Column('consent_id', sa.Uuid(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_by', sa.Uuid(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent_record.id'], ),
    sa.ForeignKeyConstraint(['revoked_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('consent_id')
    )

    # Plain ADD COLUMN, not a batch copy: SQLite cannot drop and recreate tables that others
    # reference while they hold rows (as in 0004 and 0010). SQLite takes the reference with the
    # column (it cannot add a constraint later); PostgreSQL gets the named constraint.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE item ADD COLUMN consent_id CHAR(32) REFERENCES consent_record (id)')
    else:
        op.add_column('item', sa.Column('consent_id', sa.Uuid(), nullable=True))
        op.create_foreign_key('fk_item_consent_id_consent_record', 'item', 'consent_record', ['consent_id'], ['id'])
    op.add_column('item', sa.Column('subject_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_index('ix_item_consent', 'item', ['consent_id'], unique=False)
    op.create_index('ix_item_subject', 'item', ['subject_ref'], unique=False)

    # Plain ADD COLUMN again: project rows are referenced by most tables.
    op.add_column('project', sa.Column('consent_required', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('project', sa.Column('consent_purposes', JSON, nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('consent_purposes')
        batch_op.drop_column('consent_required')

    op.drop_index('ix_item_subject', table_name='item')
    op.drop_index('ix_item_consent', table_name='item')
    with op.batch_alter_table('item', schema=None) as batch_op:
        if op.get_bind().dialect.name != 'sqlite':  # SQLite's reference is unnamed: the copy drops it
            batch_op.drop_constraint('fk_item_consent_id_consent_record', type_='foreignkey')
        batch_op.drop_column('subject_ref')
        batch_op.drop_column('consent_id')

    op.drop_table('consent_revocation')
    op.drop_index('ix_consent_record_subject', table_name='consent_record')
    op.drop_table('consent_record')
