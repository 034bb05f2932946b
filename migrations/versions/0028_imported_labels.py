"""imported labels: where a label came from when it was not submitted here (a Label Studio
annotation), and its id there

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: label rows are referenced (reviews, decisions), a batch copy would fail on SQLite.
    op.add_column("label", sa.Column("imported_from", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    op.add_column("label", sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), as 0022's downgrade.
    op.drop_column("label", "external_id")
    op.drop_column("label", "imported_from")
