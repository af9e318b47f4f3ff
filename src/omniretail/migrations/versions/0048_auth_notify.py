"""PostgreSQL: every change that can end a principal's access sends ``pg_notify`` on the
channel ``omniretail_auth:<schema>`` with the principal's id (``*``: all of them), so each
process's principal cache (``auth.principal_cache``) drops its entries at once. SQLite: none
(no cache there).

Revision ID: 0048_auth_notify
Revises: 0047_code_send_quotas
Create Date: 2026-12-06 01:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0048_auth_notify"
down_revision: str | None = "0047_code_send_quotas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, trigger, events, the principal's id in the row); TRUNCATE drops everything.
_ROW_TRIGGERS = (
    ("principals", "principals_auth_notify", "UPDATE OR DELETE", "id"),
    ("api_keys", "api_keys_auth_notify", "UPDATE OR DELETE", "principal_id"),
    ("revoked_tokens", "revoked_tokens_auth_notify", "INSERT", "principal_id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The channel names the table's schema (NAMEDATALEN: at most 63 bytes).
    op.execute(
        """
        CREATE FUNCTION auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            channel text := left('omniretail_auth:' || TG_TABLE_SCHEMA, 63);
        BEGIN
            IF TG_LEVEL = 'STATEMENT' THEN
                PERFORM pg_notify(channel, '*');
                RETURN NULL;
            END IF;
            IF TG_OP = 'INSERT' THEN
                PERFORM pg_notify(channel, (to_jsonb(NEW) ->> TG_ARGV[0]));
            ELSE
                PERFORM pg_notify(channel, (to_jsonb(OLD) ->> TG_ARGV[0]));
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for table, trigger, events, column in _ROW_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {events} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION auth_notify('{column}')"
        )
        op.execute(
            f"CREATE TRIGGER {trigger}_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION auth_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, trigger, _events, _column in _ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS auth_notify()")
