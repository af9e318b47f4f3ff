"""audit log subjects without bearer tokens

Every authenticated change is audited with its path, and a cart's, a till sale's, a chat's, a
survey's and a tracking link's paths hold their bearer token. The audit log (read by every
admin) now keeps only ``~`` and the start of the token's SHA-256 digest
(``kernel.ids.redacted_path``); this scrubs the rows written before. Nothing to restore on the
way down.

Revision ID: 0058_audit_no_tokens
Revises: 0057_goodwill_per_customer
Create Date: 2026-12-07 09:50:00
"""

import hashlib
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0058_audit_no_tokens"
down_revision: str | None = "0057_goodwill_per_customer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The segments a token follows; a token is URL-safe and long (never "receipts" or "new").
TOKEN_IN_PATH = re.compile(r"(/carts/|/till/|/chats/|/survey/|/track/)([A-Za-z0-9_-]{16,})")
PREFIXES = ("/carts/", "/till/", "/chats/", "/survey/", "/track/")


def _redacted(subject: str) -> str:
    def digest(match: re.Match[str]) -> str:
        return match.group(1) + "~" + hashlib.sha256(match.group(2).encode()).hexdigest()[:16]

    return TOKEN_IN_PATH.sub(digest, subject)


def upgrade() -> None:
    bind = op.get_bind()
    audit = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("subject", sa.String))
    holding = sa.or_(*(audit.c.subject.like(f"%{prefix}%") for prefix in PREFIXES))
    rows = bind.execute(sa.select(audit.c.id, audit.c.subject).where(holding)).all()
    for row_id, subject in rows:
        redacted = _redacted(subject)
        if redacted != subject:
            bind.execute(audit.update().where(audit.c.id == row_id).values(subject=redacted))


def downgrade() -> None:
    pass  # the tokens are gone on purpose
