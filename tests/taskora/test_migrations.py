"""Migrations: the latest revision builds exactly the tables the models declare."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from taskora.db import Database
from taskora.migrate import current_revision, downgrade, head_revision, upgrade


def test_head_matches_the_models(database_url) -> None:
    database = Database(database_url)
    with database.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    database.dispose()
    assert differences == []


def test_downgrade_to_base_and_back(database_url) -> None:
    downgrade(database_url, "base")
    database = Database(database_url)
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.dispose()
    upgrade(database_url)
    database = Database(database_url)
    assert {"tasks", "tags", "task_tags", "idempotency_keys"} <= set(
        inspect(database.engine).get_table_names()
    )
    database.dispose()


def test_concurrent_migrate_commands_all_succeed(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "taskora", "migrate", "--database-url", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    results = [(p.returncode, p.communicate(timeout=60)[1].decode()) for p in processes]
    results = [(p.returncode, err) for p, (_, err) in zip(processes, results, strict=True)]
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    database = Database(url)
    with database.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    database.dispose()


def test_migrate_reports_an_unreachable_database_in_one_line() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "taskora",
            "migrate",
            "--database-url",
            "postgresql://nobody@127.0.0.1:1/none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "TASKORA_DATABASE_URL" in result.stderr
