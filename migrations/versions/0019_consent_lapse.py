"""consent lapse: items carry their consent's expiry until the lapse has taken effect

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 11:01:10.549164
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: item rows are referenced by others.
    op.add_column('item', sa.Column('consent_lapse_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index('ix_item_consent_lapse', 'item', ['project_id', 'consent_lapse_at'], unique=False)
    # Items imported before: their record's expiry, unless already withdrawn (nothing left to lapse).
    op.execute(
        "UPDATE item SET consent_lapse_at = "
        "(SELECT consent_record.expires_at FROM consent_record WHERE consent_record.id = item.consent_id) "
        "WHERE consent_id IS NOT NULL AND status != 'WITHDRAWN'"
    )


def downgrade() -> None:
    op.drop_index('ix_item_consent_lapse', table_name='item')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('consent_lapse_at')
