"""people and machines: invitations and reset links, account changes, sign-in throttling; users'
e-mail, deactivation, token cut-off and a service account's previous secret during a rotation

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 11:40:41.926616
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scope', sa.Enum('USERNAME', 'ADDRESS', name='throttlescope', native_enum=False, length=32), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_index('ix_login_throttle_last_failure', 'login_throttle', ['last_failure_at'], unique=False)

    op.create_table('account_change',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.Enum('UPDATE', 'DEACTIVATE', 'REACTIVATE', 'REVOKE', name='accountchangeaction', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('changed_by', sa.Uuid(), nullable=True),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by'], ['user.id'], name=op.f('fk_account_change_changed_by_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_account_change_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_change'))
    )
    op.create_index(op.f('ix_account_change_user_id'), 'account_change', ['user_id'], unique=False)

    op.create_table('account_token',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('INVITE', 'PASSWORD_RESET', name='accounttokenkind', native_enum=False, length=32), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('grants', JSON, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], name=op.f('fk_account_token_created_by_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_account_token_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_token_token_hash'))
    )
    op.create_index(op.f('ix_account_token_user_id'), 'account_token', ['user_id'], unique=False)

    # Plain ADD COLUMN, not a batch copy: user rows are referenced by nearly every table.
    op.add_column('user', sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    op.add_column('user', sa.Column('deactivated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('user', sa.Column('tokens_valid_after', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('user', sa.Column('previous_secret_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
    op.add_column('user', sa.Column('previous_secret_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index('uq_user_email', 'user', ['email'], unique=True)
    # Accounts switched off before (by hand, or erased) read as deactivated, not as invited.
    op.execute('UPDATE "user" SET deactivated_at = created_at WHERE is_active = false')


def downgrade() -> None:
    op.drop_index('uq_user_email', table_name='user')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('previous_secret_expires_at')
        batch_op.drop_column('previous_secret_hash')
        batch_op.drop_column('tokens_valid_after')
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('email')
    op.drop_index(op.f('ix_account_token_user_id'), table_name='account_token')
    op.drop_table('account_token')
    op.drop_index(op.f('ix_account_change_user_id'), table_name='account_change')
    op.drop_table('account_change')
    op.drop_index('ix_login_throttle_last_failure', table_name='login_throttle')
    op.drop_table('login_throttle')
