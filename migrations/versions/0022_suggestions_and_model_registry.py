"""suggestions and the model registry: models and their versions, suggestions naming their model
version (with per-field confidences, an explanation, one per item and version), what tasks showed
(suggestion_exposure), whether a label's task showed suggestions, and the project's
showSuggestions policy and heuristic rules

Suggestions already stored (the table existed without an API) keep their rows: each distinct
(project, model name, version) becomes an EXTERNAL model version, registered by whoever wrote its
first suggestion, when it did; of several rows for one item and version the newest stays.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 11:24:24.051153
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

from app.ids import new_id

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sqlmodel.sql.sqltypes.UTCDateTime

model = sa.table(
    "model",
    sa.column("id", sa.Uuid()),
    sa.column("project_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("registered_by", sa.Uuid()),
    sa.column("registered_at", TIME()),
)
model_version = sa.table(
    "model_version",
    sa.column("id", sa.Uuid()),
    sa.column("model_id", sa.Uuid()),
    sa.column("project_id", sa.Uuid()),
    sa.column("version", sa.String()),
    sa.column("registered_by", sa.Uuid()),
    sa.column("registered_at", TIME()),
)
suggestion = sa.table(
    "suggestion",
    sa.column("id", sa.Uuid()),
    sa.column("project_id", sa.Uuid()),
    sa.column("item_id", sa.Uuid()),
    sa.column("model_name", sa.String()),
    sa.column("model_version", sa.String()),
    sa.column("model_version_id", sa.Uuid()),
    sa.column("created_by", sa.Uuid()),
    sa.column("created_at", TIME()),
)


def upgrade() -> None:
    op.create_table(
        "model",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("EXTERNAL", "BUILT_IN", "HEURISTIC", name="modelkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("registered_by", sa.Uuid(), nullable=False),
        sa.Column("registered_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["registered_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "model_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=False),
        sa.Column("registered_at", TIME(), nullable=False),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("parameters", JSON, nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["registered_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "version"),
    )
    op.create_index("ix_model_version_project_id", "model_version", ["project_id"], unique=False)

    # Nothing references suggestion yet, so SQLite may copy it (batch); the label and project
    # tables are referenced by others: plain ADD COLUMN there.
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_version_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("per_field", JSON, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("explanation", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column("updated_at", TIME(), nullable=True))
    _register_stored_suggestions()
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.alter_column("model_version_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index("ix_suggestion_model_version_id", ["model_version_id"], unique=False)
        batch_op.create_unique_constraint("uq_suggestion_item_id_model_version_id", ["item_id", "model_version_id"])
        batch_op.create_foreign_key(
            "fk_suggestion_model_version_id_model_version", "model_version", ["model_version_id"], ["id"]
        )
        batch_op.drop_column("model_name")
        batch_op.drop_column("model_version")

    op.create_table(
        "suggestion_exposure",
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("suggestion_id", sa.Uuid(), nullable=False),
        sa.Column("model_version_id", sa.Uuid(), nullable=False),
        sa.Column("shown_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"]),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_version.id"]),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestion.id"]),
        sa.PrimaryKeyConstraint("assignment_id", "suggestion_id"),
    )

    op.add_column("label", sa.Column("suggestions_shown", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("label", sa.Column("shown_model_versions", JSON, nullable=False, server_default="[]"))
    op.add_column(
        "project",
        sa.Column(
            "show_suggestions",
            sa.Enum("NEVER", "ALWAYS", "AFTER_FIRST_ANSWER", name="showsuggestions", native_enum=False, length=32),
            nullable=False,
            server_default="NEVER",
        ),
    )
    op.add_column("project", sa.Column("heuristic_rules", JSON, nullable=False, server_default="[]"))
    op.add_column("project", sa.Column("heuristics_version", sa.Integer(), nullable=False, server_default="0"))


def _register_stored_suggestions() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            suggestion.c.id,
            suggestion.c.project_id,
            suggestion.c.item_id,
            suggestion.c.model_name,
            suggestion.c.model_version,
            suggestion.c.created_by,
            suggestion.c.created_at,
        ).order_by(suggestion.c.created_at, suggestion.c.id)
    ).all()
    models: dict[tuple[object, str], object] = {}
    versions: dict[tuple[object, str, str], object] = {}
    newest: dict[tuple[object, object], object] = {}  # (item, version) -> the suggestion kept
    for row in rows:
        name = row.model_name[:100]
        if (row.project_id, name) not in models:
            models[(row.project_id, name)] = new_id()
            conn.execute(
                model.insert().values(
                    id=models[(row.project_id, name)],
                    project_id=row.project_id,
                    name=name,
                    kind="EXTERNAL",
                    registered_by=row.created_by,
                    registered_at=row.created_at,
                )
            )
        key = (row.project_id, name, row.model_version)
        if key not in versions:
            versions[key] = new_id()
            conn.execute(
                model_version.insert().values(
                    id=versions[key],
                    model_id=models[(row.project_id, name)],
                    project_id=row.project_id,
                    version=row.model_version,
                    registered_by=row.created_by,
                    registered_at=row.created_at,
                )
            )
        conn.execute(
            suggestion.update().where(suggestion.c.id == row.id).values(model_version_id=versions[key])
        )
        earlier = newest.get((row.item_id, versions[key]))
        if earlier is not None:
            conn.execute(suggestion.delete().where(suggestion.c.id == earlier))
        newest[(row.item_id, versions[key])] = row.id


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): project and label rows are referenced, a copy would fail.
    for table, column in (
        ("project", "heuristics_version"),
        ("project", "heuristic_rules"),
        ("project", "show_suggestions"),
        ("label", "shown_model_versions"),
        ("label", "suggestions_shown"),
    ):
        op.drop_column(table, column)
    op.drop_table("suggestion_exposure")

    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    conn = op.get_bind()
    for version_id, name, version in conn.execute(
        sa.select(model_version.c.id, model.c.name, model_version.c.version).join(
            model, model.c.id == model_version.c.model_id
        )
    ).all():
        conn.execute(
            suggestion.update()
            .where(suggestion.c.model_version_id == version_id)
            .values(model_name=name, model_version=version)
        )
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.alter_column("model_name", existing_type=sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False)
        batch_op.alter_column(
            "model_version", existing_type=sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        )
        batch_op.drop_constraint("fk_suggestion_model_version_id_model_version", type_="foreignkey")
        batch_op.drop_constraint("uq_suggestion_item_id_model_version_id", type_="unique")
        batch_op.drop_index("ix_suggestion_model_version_id")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("explanation")
        batch_op.drop_column("per_field")
        batch_op.drop_column("model_version_id")

    op.drop_index("ix_model_version_project_id", table_name="model_version")
    op.drop_table("model_version")
    op.drop_table("model")
