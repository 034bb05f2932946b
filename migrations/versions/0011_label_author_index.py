"""label author index: an annotator's own labels (viewer.feedback) without a scan of everyone's

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:52:43.832690
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.create_index('ix_label_author', ['author_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.drop_index('ix_label_author')
