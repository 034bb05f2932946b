"""schema change requests, guideline acknowledgements, version mappings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:18:53.934380
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('schema_change_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('definition', JSON, nullable=False),
    sa.Column('mapping', JSON, nullable=False),
    sa.Column('rationale', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'APPROVED', 'REJECTED', 'WITHDRAWN', name='changestatus', native_enum=False, length=32), nullable=False),
    sa.Column('diff', JSON, nullable=False),
    sa.Column('impact', JSON, nullable=False),
    sa.Column('proposed_by', sa.Uuid(), nullable=False),
    sa.Column('proposed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('resulting_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['user.id'], name='fk_schema_change_request_decided_by_user'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name='fk_schema_change_request_project_id_project'),
    sa.ForeignKeyConstraint(['proposed_by'], ['user.id'], name='fk_schema_change_request_proposed_by_user'),
    sa.PrimaryKeyConstraint('id', name='pk_schema_change_request')
    )
    with op.batch_alter_table('schema_change_request', schema=None) as batch_op:
        batch_op.create_index('ix_schema_change_request_project', ['project_id', 'status'], unique=False)

    op.create_table('guideline_acknowledgement',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('guideline_version_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['guideline_version_id'], ['guideline_version.id'], name='fk_guideline_acknowledgement_guideline_version'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name='fk_guideline_acknowledgement_project_id_project'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name='fk_guideline_acknowledgement_user_id_user'),
    sa.PrimaryKeyConstraint('id', name='pk_guideline_acknowledgement'),
    sa.UniqueConstraint('guideline_version_id', 'user_id', name='uq_guideline_acknowledgement_guideline_version_id_user_id')
    )
    with op.batch_alter_table('guideline_acknowledgement', schema=None) as batch_op:
        batch_op.create_index('ix_guideline_acknowledgement_project_id', ['project_id'], unique=False)

    # Existing versions were last touched when written.
    with op.batch_alter_table('guideline_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('published_by', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key('fk_guideline_version_published_by_user', 'user', ['published_by'], ['id'])
    op.execute('UPDATE guideline_version SET updated_at = created_at')
    op.execute("UPDATE guideline_version SET published_by = created_by WHERE status = 'PUBLISHED'")
    with op.batch_alter_table('guideline_version', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)

    with op.batch_alter_table('label_schema_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mapping', JSON, nullable=True))
        batch_op.add_column(sa.Column('change_request_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            'fk_label_schema_version_change_request',
            'schema_change_request', ['change_request_id'], ['id'],
        )


def downgrade() -> None:
    with op.batch_alter_table('label_schema_version', schema=None) as batch_op:
        batch_op.drop_constraint('fk_label_schema_version_change_request', type_='foreignkey')
        batch_op.drop_column('change_request_id')
        batch_op.drop_column('mapping')

    with op.batch_alter_table('guideline_version', schema=None) as batch_op:
        batch_op.drop_constraint('fk_guideline_version_published_by_user', type_='foreignkey')
        batch_op.drop_column('published_by')
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('guideline_acknowledgement', schema=None) as batch_op:
        batch_op.drop_index('ix_guideline_acknowledgement_project_id')
    op.drop_table('guideline_acknowledgement')

    with op.batch_alter_table('schema_change_request', schema=None) as batch_op:
        batch_op.drop_index('ix_schema_change_request_project')
    op.drop_table('schema_change_request')
