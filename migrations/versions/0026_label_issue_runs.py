"""label-issue runs: detectLabelIssues' runs (label_issue_run) and their ranked issues
(label_issue: item, given and suggested class, score, rank, the audit it fed), and the project's
labelIssuesTop (how many ranked issues a run flags for audit by default; 20 for existing projects)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 15:13:00.507430
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('label_issue_run',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sa.Enum('BUILT_IN', 'MODEL_VERSION', name='issuesource', native_enum=False, length=32), nullable=False),
    sa.Column('model_version_id', sa.Uuid(), nullable=True),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('left_out', sa.Integer(), nullable=False),
    sa.Column('issue_count', sa.Integer(), nullable=False),
    sa.Column('top', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.Column('cv_accuracy', sa.Float(), nullable=True),
    sa.Column('class_counts', JSON, nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], name=op.f('fk_label_issue_run_created_by_user')),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_label_issue_run_model_version_id_model_version')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_label_issue_run_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_issue_run'))
    )
    op.create_index('ix_label_issue_run_project', 'label_issue_run', ['project_id', 'id'], unique=False)

    op.create_table('label_issue',
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('given', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('suggested', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('self_confidence', sa.Float(), nullable=False),
    sa.Column('outcome', sa.Enum('FLAGGED', 'ALREADY_PENDING', 'NOT_FLAGGED', name='issueoutcome', native_enum=False, length=32), nullable=False),
    sa.Column('audit_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['audit_id'], ['qa_audit.id'], name=op.f('fk_label_issue_audit_id_qa_audit')),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_label_issue_item_id_item')),
    sa.ForeignKeyConstraint(['run_id'], ['label_issue_run.id'], name=op.f('fk_label_issue_run_id_label_issue_run')),
    sa.PrimaryKeyConstraint('run_id', 'rank', name=op.f('pk_label_issue'))
    )
    op.create_index(op.f('ix_label_issue_item_id'), 'label_issue', ['item_id'], unique=False)

    op.add_column('project', sa.Column('label_issues_top', sa.Integer(), nullable=False, server_default='20'))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): project rows are referenced, a copy would fail.
    op.drop_column('project', 'label_issues_top')
    op.drop_index(op.f('ix_label_issue_item_id'), table_name='label_issue')
    op.drop_table('label_issue')
    op.drop_index('ix_label_issue_run_project', table_name='label_issue_run')
    op.drop_table('label_issue_run')
