"""Production mode refuses unsafe settings."""

from __future__ import annotations

import pytest

from taskora.app import create_app
from taskora.cli import main
from taskora.errors import ConfigurationError
from taskora.settings import Settings


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigurationError, match="TASKORA_JWT_SECRET"):
        create_app(Settings(env="production", database_url="sqlite://"))


def test_production_starts_with_a_real_secret() -> None:
    app = create_app(Settings(env="production", database_url="sqlite://", jwt_secret="x" * 32))
    assert app.state.settings.migrate_on_start is False


def test_serve_exits_2_with_one_line_naming_the_variable(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TASKORA_ENV", "production")
    monkeypatch.delenv("TASKORA_JWT_SECRET", raising=False)
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "TASKORA_JWT_SECRET" in err and "production" in err


def test_short_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        Settings(jwt_secret="s" * 31).check_safe()
