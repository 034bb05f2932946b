"""erasure and retention: erasure requests, items' erased_at and erasure, users' erased_at, the
project's retention period

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 08:23:49.200282
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('erasure_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('SUBJECT', 'USER', 'RETENTION', name='erasurekind', native_enum=False, length=32), nullable=False),
    sa.Column('subject_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('project_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('counts', JSON, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_erasure_request_project_id_project')),
    sa.ForeignKeyConstraint(['requested_by'], ['user.id'], name=op.f('fk_erasure_request_requested_by_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_erasure_request_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_request'))
    )
    op.create_index(op.f('ix_erasure_request_subject_ref'), 'erasure_request', ['subject_ref'], unique=False)

    # Plain ADD COLUMN, not a batch copy: item, project and user rows are referenced by others (as
    # in 0014). SQLite takes the reference with the column; PostgreSQL gets the named constraint.
    op.add_column('item', sa.Column('erased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE item ADD COLUMN erasure_id CHAR(32) REFERENCES erasure_request (id)')
    else:
        op.add_column('item', sa.Column('erasure_id', sa.Uuid(), nullable=True))
        op.create_foreign_key('fk_item_erasure_id_erasure_request', 'item', 'erasure_request', ['erasure_id'], ['id'])
    op.add_column('project', sa.Column('retention_days', sa.Integer(), nullable=True))
    op.add_column('user', sa.Column('erased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('retention_days')
    with op.batch_alter_table('item', schema=None) as batch_op:
        if op.get_bind().dialect.name != 'sqlite':  # SQLite's reference is unnamed: the copy drops it
            batch_op.drop_constraint('fk_item_erasure_id_erasure_request', type_='foreignkey')
        batch_op.drop_column('erasure_id')
        batch_op.drop_column('erased_at')
    op.drop_index(op.f('ix_erasure_request_subject_ref'), table_name='erasure_request')
    op.drop_table('erasure_request')
