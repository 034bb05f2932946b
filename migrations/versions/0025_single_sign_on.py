"""single sign-on: OpenID Connect identity providers, sign-ins in progress (state, nonce, PKCE
verifier) and provider subjects linked to people

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 15:13:18.417276
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('identity_provider',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('client_secret_sealed', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('scopes', JSON, nullable=False),
    sa.Column('allowed_email_domains', JSON, nullable=False),
    sa.Column('role_mappings', JSON, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('external_identity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('mapped_grants', JSON, nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_provider.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('external_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_identity_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_external_identity_subject', ['provider_id', 'subject'], unique=True)

    op.create_table('oidc_login',
    sa.Column('state_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('code_verifier', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('redirect_uri', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('browser_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_provider.id'], ),
    sa.PrimaryKeyConstraint('state_hash')
    )
    with op.batch_alter_table('oidc_login', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_login_expires_at', ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_login_provider_id'), ['provider_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oidc_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_login_provider_id'))
        batch_op.drop_index('ix_oidc_login_expires_at')

    op.drop_table('oidc_login')
    with op.batch_alter_table('external_identity', schema=None) as batch_op:
        batch_op.drop_index('uq_external_identity_subject')
        batch_op.drop_index(batch_op.f('ix_external_identity_user_id'))

    op.drop_table('external_identity')
    op.drop_table('identity_provider')
