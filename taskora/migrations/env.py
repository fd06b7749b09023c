"""Alembic environment: runs migrations on the URL the caller put in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import taskora.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from taskora.db import Database

MIGRATION_LOCK = 7_305_191  # pg_advisory_xact_lock key: one migrator at a time

config = context.config
database = Database(config.attributes["database_url"])
# SQLite: BEGIN IMMEDIATE, so concurrent migrators queue instead of racing.
with database.write() as session:
    connection = session.connection()
    if not database.is_sqlite:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=database.is_sqlite,
        compare_type=True,
    )
    context.run_migrations()
database.dispose()
