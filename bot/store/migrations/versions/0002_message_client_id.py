"""Shopper messages carry the sender's message id, once per conversation (exactly-once turns).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The chat page names every message it sends and sends a retry under the same name.
``messages.client_id`` keeps that name, and a unique index on
``(conversation_id, client_id)`` stores a retried message once. Existing rows keep
``NULL``, which the index allows any number of times (SQLite and PostgreSQL alike).
A database that ``metadata.create_all`` made (see 0001) may have both already.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns: set[str] = set()
    indexes: set[str] = set()
    if not context.is_offline_mode():
        inspector = sa.inspect(op.get_bind())
        columns = {c["name"] for c in inspector.get_columns("messages")}
        indexes = {str(i["name"]) for i in inspector.get_indexes("messages")}
    if "client_id" not in columns:
        op.add_column("messages", sa.Column("client_id", sa.String(length=64), nullable=True))
    if "ux_messages_client_id" not in indexes:
        op.create_index("ux_messages_client_id", "messages", ["conversation_id", "client_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_messages_client_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("client_id")
