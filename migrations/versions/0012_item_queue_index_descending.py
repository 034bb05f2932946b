"""item queue index descending again: 0007's batch copy of item on SQLite rebuilt ix_item_queue
without `priority DESC`, so every claim sorted the project's whole queue in a temporary B-tree

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ['project_id', 'status', sa.literal_column('priority DESC'), 'id']


def upgrade() -> None:
    # PostgreSQL altered item in place: its index kept the order. Plain statements on SQLite,
    # never batch mode, whose table copy is what lost it.
    if op.get_bind().dialect.name == 'sqlite':
        op.drop_index('ix_item_queue', table_name='item')
        op.create_index('ix_item_queue', 'item', COLUMNS, unique=False)


def downgrade() -> None:
    # Nothing to undo: the ascending index was a defect, not a schema state to return to.
    pass
