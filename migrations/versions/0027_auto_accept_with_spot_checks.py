"""auto-accept with spot checks: the project's thresholds, spot-check rate, floor and turn-off; the
model version behind an AUTO_ACCEPTED decision; the spot checks

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 15:10:59.785499
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sqlmodel.sql.sqltypes.UTCDateTime


def project_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("auto_accept_confidence", JSON, nullable=False, server_default="{}"),
        sa.Column("spot_check_rate", sa.Float(), nullable=False, server_default="0.1"),
        sa.Column("auto_accept_floor", sa.Float(), nullable=False, server_default="0.9"),
        sa.Column("auto_accept_min_checks", sa.Integer(), nullable=False, server_default="20"),
        sa.Column("auto_accept_epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("auto_accept_off_at", TIME(), nullable=True),
        sa.Column("auto_accept_off_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""),
    )


def upgrade() -> None:
    op.create_table(
        "spot_check",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("suggestion_id", sa.Uuid(), nullable=False),
        sa.Column("model_version_id", sa.Uuid(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", TIME(), nullable=True),
        sa.Column("agreed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_version.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestion.id"]),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_spot_check_project_epoch", "spot_check", ["project_id", "epoch"], unique=False)
    # Plain ADD COLUMN: project and decision rows are referenced, a batch copy would fail on SQLite.
    op.add_column("decision", sa.Column("model_version_id", sa.Uuid(), nullable=True))
    for column in project_columns():
        op.add_column("project", column)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), as 0022's downgrade.
    for column in reversed(project_columns()):
        op.drop_column("project", column.name)
    op.drop_column("decision", "model_version_id")
    op.drop_index("ix_spot_check_project_epoch", table_name="spot_check")
    op.drop_table("spot_check")
