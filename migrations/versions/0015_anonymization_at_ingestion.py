"""anonymization at ingestion: the project's policy, the anonymizer and redaction counts on items,
and an index for content de-duplication

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:21:40.229603
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: item and project have rows referencing them.
    op.add_column("item", sa.Column("anonymizer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("item", sa.Column("anonymizer_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    op.add_column("item", sa.Column("redactions", JSON, nullable=True))
    op.create_index("ix_item_content", "item", ["project_id", "content_hash"], unique=False)

    op.add_column("project", sa.Column("anonymize", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("project", sa.Column("anonymization", JSON, nullable=False, server_default="{}"))
    op.add_column(
        "project",
        sa.Column(
            "duplicate_content",
            sa.Enum("ALLOW", "REJECT", name="duplicatecontent", native_enum=False, length=32),
            nullable=False,
            server_default="ALLOW",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("duplicate_content")
        batch_op.drop_column("anonymization")
        batch_op.drop_column("anonymize")

    op.drop_index("ix_item_content", table_name="item")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("redactions")
        batch_op.drop_column("anonymizer_version")
        batch_op.drop_column("anonymizer")
