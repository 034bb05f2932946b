"""QA audits: the audit queue and its findings, the audit policy on projects

Other branches add 0007 in parallel; whoever merges re-chains down_revision.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 12:06:32.837670
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('qa_audit',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=False),
    sa.Column('decision_version', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason_detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'DONE', 'SUPERSEDED', 'ESCALATED', name='auditstatus', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sa.Uuid(), nullable=True),
    sa.Column('lease_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('verdict', sa.Enum('CONFIRM', 'OVERTURN', name='auditverdict', native_enum=False, length=32), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('result_decision_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['result_decision_id'], ['decision.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('qa_audit', schema=None) as batch_op:
        batch_op.create_index('ix_qa_audit_item', ['item_id'], unique=False)
        batch_op.create_index('ix_qa_audit_queue', ['project_id', 'status', 'id'], unique=False)
        batch_op.create_index('uq_qa_audit_pending', ['item_id'], unique=True, sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))

    op.create_table('qa_audit_finding',
    sa.Column('audit_id', sa.Uuid(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('class_value', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('kind', sa.Enum('WRONG_CLASS', 'MISSED_CLASS', 'BOUNDARY', 'GUIDELINE_UNCLEAR', 'OTHER', name='findingkind', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['audit_id'], ['qa_audit.id'], ),
    sa.PrimaryKeyConstraint('audit_id', 'field', 'class_value')
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_rate', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('audit_below_confidence', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('high_impact_classes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('rare_class_share', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('audit_expert_decisions', sa.Boolean(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('audit_expert_decisions')
        batch_op.drop_column('rare_class_share')
        batch_op.drop_column('high_impact_classes')
        batch_op.drop_column('audit_below_confidence')
        batch_op.drop_column('audit_rate')

    op.drop_table('qa_audit_finding')
    with op.batch_alter_table('qa_audit', schema=None) as batch_op:
        batch_op.drop_index('uq_qa_audit_pending', sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))
        batch_op.drop_index('ix_qa_audit_queue')
        batch_op.drop_index('ix_qa_audit_item')

    op.drop_table('qa_audit')
