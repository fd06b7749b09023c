"""TASKORA_SECRETS=dapr: the JWT secret and the database URL from the Dapr secret store, read
through the SDK's GetSecret from a fake sidecar (tests/dapr_sidecar.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import jwt
import pytest

from taskora.cli import main
from taskora.errors import ConfigurationError
from taskora.secret_store import with_secrets
from taskora.settings import Settings
from tests.dapr_sidecar import FakeSidecar, fake_sidecar

JWT_SECRET = "from-the-secret-store-" + "x" * 32
DATABASE_URL = "sqlite:///from-the-secret-store.db"


@pytest.fixture
def sidecar(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSidecar]:
    with fake_sidecar(monkeypatch) as running:
        running.secrets = {
            "secretstore": {
                "taskora-secrets": {"jwt-secret": JWT_SECRET, "database-url": DATABASE_URL}
            }
        }
        yield running


def _dapr(sidecar: FakeSidecar, **values: object) -> Settings:
    return Settings(secrets="dapr", dapr_grpc_port=sidecar.grpc_port, **values)  # type: ignore[arg-type]


def test_env_is_the_default_and_reads_no_store() -> None:
    settings = Settings(jwt_secret="y" * 32)
    assert settings.secrets == "env"
    assert with_secrets(settings) is settings


def test_the_secrets_come_from_the_store(sidecar) -> None:
    settings = with_secrets(_dapr(sidecar, jwt_secret="from-env-" + "z" * 32))
    assert (settings.jwt_secret, settings.database_url) == (JWT_SECRET, DATABASE_URL)
    [request] = sidecar.secret_requests
    assert (request.store_name, request.key) == ("secretstore", "taskora-secrets")


def test_store_and_secret_names_are_configurable(sidecar) -> None:
    sidecar.secrets = {"vault": {"prod": {"jwt-secret": JWT_SECRET, "database-url": DATABASE_URL}}}
    settings = with_secrets(_dapr(sidecar, secret_store="vault", secret_name="prod"))
    assert settings.jwt_secret == JWT_SECRET
    assert [(r.store_name, r.key) for r in sidecar.secret_requests] == [("vault", "prod")]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"secret_store": "nope"},
            "store 'nope' did not give the secret 'taskora-secrets' "
            "(INVALID_ARGUMENT: failed finding secret store with key nope): check "
            "TASKORA_SECRET_STORE",
        ),
        (
            {"secret_name": "other"},
            "did not give the secret 'other' (INTERNAL: failed getting secret with key other",
        ),
    ],
)
def test_a_missing_store_or_secret_is_one_line_naming_the_fix(sidecar, values, expected) -> None:
    with pytest.raises(ConfigurationError) as raised:
        with_secrets(_dapr(sidecar, **values))
    message = str(raised.value)
    assert expected in message and "\n" not in message
    assert "TASKORA_SECRET_NAME" in message


def test_a_missing_key_is_named(sidecar) -> None:
    sidecar.secrets["secretstore"]["taskora-secrets"].pop("database-url")
    with pytest.raises(ConfigurationError, match="has no database-url: add it to the secret"):
        with_secrets(_dapr(sidecar))


def test_no_sidecar_names_the_fix(monkeypatch) -> None:
    monkeypatch.setenv("DAPR_HTTP_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "0")
    with pytest.raises(ConfigurationError, match="no Dapr sidecar answered .*TASKORA_SECRETS=env"):
        with_secrets(Settings(secrets="dapr", dapr_grpc_port=_closed_port()))


def test_the_cli_signs_with_the_stores_secret(sidecar, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TASKORA_SECRETS", "dapr")
    monkeypatch.setenv("DAPR_GRPC_PORT", str(sidecar.grpc_port))
    monkeypatch.delenv("TASKORA_JWT_SECRET", raising=False)
    assert main(["token", "alice"]) == 0
    token = capsys.readouterr().out.strip()
    assert jwt.decode(token, JWT_SECRET, algorithms=["HS256"])["sub"] == "alice"


def test_the_cli_says_what_is_missing_in_one_line(sidecar, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TASKORA_SECRETS", "dapr")
    monkeypatch.setenv("TASKORA_SECRET_STORE", "missing")
    monkeypatch.setenv("DAPR_GRPC_PORT", str(sidecar.grpc_port))
    assert main(["token", "alice"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("taskora: error: TASKORA_SECRETS=dapr: the Dapr secret store 'missing'")
    assert err.count("\n") == 1 and "Traceback" not in err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
