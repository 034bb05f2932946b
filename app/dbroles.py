"""A least-privileged PostgreSQL role for the server: migrations run as the schema's owner, the
server as a role that may read and write the application's tables but only read and append to
the audit log.

Not being the owner, the role cannot ALTER TABLE (so no DISABLE TRIGGER) or drop the triggers;
it is given no TRUNCATE; and as a non-superuser it cannot SET session_replication_role. The
grants cover the tables that exist when they are made: `labelgraph migrate` makes them again
after upgrading when LABELGRAPH_SERVER_ROLE is set (or run `labelgraph db grant-server-role`).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Tables the server only reads and appends to; alembic_version it only reads.
APPEND_ONLY = ("audit_event",)
READ_ONLY = ("alembic_version",)


class RoleRefused(Exception):
    """The role cannot be made least-privileged (missing, a superuser, or the owner itself)."""


async def grant_server_role(connection: AsyncConnection, role: str) -> list[str]:
    """Grant `role` what the server needs, on the connection's database (as the schema's owner).
    Idempotent: revokes what the role must not have first. Returns the statements run."""
    found = (
        await connection.execute(
            text(
                "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(:role, current_user, 'MEMBER'), "
                "quote_ident(:role), quote_ident(current_database()), quote_ident(current_schema()) "
                "FROM pg_roles r WHERE r.rolname = :role"
            ),
            {"role": role},
        )
    ).first()
    if found is None:
        raise RoleRefused(f"there is no PostgreSQL role {role!r}: create it first (CREATE ROLE ... LOGIN)")
    superuser, bypass_rls, owner, quoted, database, schema = found
    if superuser or bypass_rls:
        raise RoleRefused(f"{role!r} is a superuser (or bypasses row security): it could do anything; use another role")
    if owner:
        raise RoleRefused(f"{role!r} is (or is a member of) the owner of the schema: use a role of its own")
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
        f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
        *(f"REVOKE UPDATE, DELETE ON {schema}.{table} FROM {quoted}" for table in APPEND_ONLY),
        *(f"REVOKE INSERT, UPDATE, DELETE ON {schema}.{table} FROM {quoted}" for table in READ_ONLY),
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
    ]
    for statement in statements:
        await connection.execute(text(statement))
    return statements
