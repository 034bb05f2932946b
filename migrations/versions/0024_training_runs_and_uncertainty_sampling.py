"""training runs and uncertainty sampling: the built-in model's runs (with the fitted model's
.npz bytes), each model version's uncertainty for the undecided items, the item's queue score
with its index, and the project's retrain and sampling settings

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 15:11:42.887416
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'item_uncertainty',
        sa.Column('item_id', sa.Uuid(), nullable=False),
        sa.Column('model_version_id', sa.Uuid(), nullable=False),
        sa.Column('project_id', sa.Uuid(), nullable=False),
        sa.Column('least_confidence', sa.Float(), nullable=False),
        sa.Column('margin', sa.Float(), nullable=False),
        sa.Column('entropy', sa.Float(), nullable=False),
        sa.Column('diverse_rank', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['item.id']),
        sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id']),
        sa.ForeignKeyConstraint(['project_id'], ['project.id']),
        sa.PrimaryKeyConstraint('item_id', 'model_version_id'),
    )
    op.create_index('ix_item_uncertainty_model_version_id', 'item_uncertainty', ['model_version_id'], unique=False)

    op.create_table(
        'training_run',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('project_id', sa.Uuid(), nullable=False),
        sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            'status', sa.Enum('SUCCEEDED', 'FAILED', name='trainingstatus', native_enum=False, length=32), nullable=False
        ),
        sa.Column(
            'trigger', sa.Enum('MANUAL', 'RETRAIN', name='trainingtrigger', native_enum=False, length=32), nullable=False
        ),
        sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column('requested_by', sa.Uuid(), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('training_size', sa.Integer(), nullable=False),
        sa.Column('predicted', sa.Integer(), nullable=False),
        sa.Column('model_version_id', sa.Uuid(), nullable=True),
        sa.Column('artifact', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id']),
        sa.ForeignKeyConstraint(['project_id'], ['project.id']),
        sa.ForeignKeyConstraint(['requested_by'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_training_run_project', 'training_run', ['project_id', 'started_at'], unique=False)

    # Plain ADD COLUMN and CREATE INDEX, never batch mode on SQLite: item and project are referenced
    # by other tables (a copy would fail), and a batch copy of item loses the indexes' DESC (0012).
    op.add_column('item', sa.Column('queue_score', sa.Float(), nullable=False, server_default='-1'))
    op.create_index(
        'ix_item_queue_uncertain',
        'item',
        ['project_id', 'status', sa.literal_column('priority DESC'), sa.literal_column('queue_score DESC'), 'id'],
        unique=False,
    )
    op.add_column('project', sa.Column('retrain_every', sa.Integer(), nullable=True))
    op.add_column('project', sa.Column('retrain_as', sa.Uuid(), nullable=True))
    op.add_column(
        'project',
        sa.Column(
            'sampling_strategy',
            sa.Enum(
                'SEQUENTIAL', 'UNCERTAINTY', 'DIVERSE_UNCERTAINTY', name='samplingstrategy', native_enum=False, length=32
            ),
            nullable=False,
            server_default='SEQUENTIAL',
        ),
    )
    op.add_column(
        'project',
        sa.Column(
            'uncertainty_measure',
            sa.Enum('LEAST_CONFIDENCE', 'MARGIN', 'ENTROPY', name='uncertaintymeasure', native_enum=False, length=32),
            nullable=False,
            server_default='LEAST_CONFIDENCE',
        ),
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): project and item rows are referenced, a copy would fail.
    for column in ('uncertainty_measure', 'sampling_strategy', 'retrain_as', 'retrain_every'):
        op.drop_column('project', column)
    op.drop_index('ix_item_queue_uncertain', table_name='item')
    op.drop_column('item', 'queue_score')
    op.drop_index('ix_training_run_project', table_name='training_run')
    op.drop_table('training_run')
    op.drop_index('ix_item_uncertainty_model_version_id', table_name='item_uncertainty')
    op.drop_table('item_uncertainty')
