"""task ids are never reused on SQLite (AUTOINCREMENT)

Without it SQLite gives the id of the newest task again after that task is deleted or its
insert rolled back, and a client holding the old id would find another task.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # PostgreSQL sequences never reuse values
        with op.batch_alter_table(
            "tasks", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "tasks", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
