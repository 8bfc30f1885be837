"""PostgreSQL: the rights of the role the service connects as, when it is not the role that owns the schema.

Migrations run as the owner (`MSO_FLOW_MIGRATION_DATABASE_URL`); the service role may read and write the
working tables but may only read and append the audit trail: it has no UPDATE, DELETE or TRUNCATE on
`audit_event`, and, not owning it, cannot ALTER it (so cannot disable its append-only trigger) nor set
`session_replication_role` (a superuser setting). Re-run after every migration (`mso-flow db upgrade` does it
when `MSO_FLOW_SERVICE_DATABASE_ROLE` is set): new tables need their grants.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

APPEND_ONLY = ("audit_event", "personal_data_read")
READ_ONLY = ("alembic_version",)


def grant_statements(connection: Connection, role: str) -> list[str]:
    """The GRANT/REVOKE statements that give `role` the service's rights on the current schema."""
    quote = connection.dialect.identifier_preparer.quote
    grantee, database = quote(role), quote(connection.execute(text("SELECT current_database()")).scalar_one())
    schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {grantee}",
        f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {grantee}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {grantee}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
    ]
    for table in APPEND_ONLY:
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {schema}.{table} FROM {grantee}")
    for table in READ_ONLY:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM {grantee}")
    return statements


def grant_service_role(engine: Engine, role: str) -> None:
    """Apply `grant_statements` as the owner (idempotent)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for statement in grant_statements(connection, role):
            connection.execute(text(statement))
