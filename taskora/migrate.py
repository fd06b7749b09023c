"""Schema migrations (Alembic), applied by ``taskora migrate`` or at start-up in development."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from taskora.db import normalise_url

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]

VERSION_TABLE = "alembic_version"  # Alembic's default, which the migrations keep


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "taskora:migrations")
    config.attributes["database_url"] = normalise_url(database_url)
    return config


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the schema is at; None before its first migration.

    One statement where the version table exists (every readiness probe asks, many a second);
    Alembic's own check, which looks for the table first, where it does not. On PostgreSQL run
    it outside a transaction (``Database.statement``): a failed statement ends the transaction
    around it.
    """
    try:
        return connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()
    except DBAPIError:  # no version table yet; an unreachable database fails again below
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe when several processes do it at once."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database back to ``revision`` (``base`` removes every table)."""
    command.downgrade(alembic_config(database_url), revision)
