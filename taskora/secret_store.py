"""The JWT secret and the database URL from the Dapr secret store (``TASKORA_SECRETS=dapr``).

Read once at start-up with ``DaprClient.get_secret(store, name)``: on Kubernetes' secret store the
secret ``taskora-secrets`` answers with its keys, of which ``jwt-secret`` and ``database-url`` are
used. With ``TASKORA_SECRETS=env`` (the default) nothing is read and the settings stay as they are.
A store, secret or key that is missing, or a sidecar that never answers, is a
``ConfigurationError`` whose one line names the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

from taskora.errors import ConfigurationError
from taskora.settings import Settings

__all__ = ["KEYS", "SECRET_TIMEOUT", "with_secrets"]

# secret key -> the setting it fills
KEYS = {"jwt-secret": "jwt_secret", "database-url": "database_url"}
SECRET_TIMEOUT = 5.0


def _read(settings: Settings) -> Mapping[str, str]:
    from taskora.sidecar import SIDECAR_ERRORS, connect, failure

    store, name = settings.secret_store, settings.secret_name
    try:
        with connect(settings.dapr_grpc_port, deadline=SECRET_TIMEOUT) as client:
            return dict(client.get_secret(store_name=store, key=name).secret)
    except TimeoutError as exc:
        raise ConfigurationError(
            f"TASKORA_SECRETS=dapr, but no Dapr sidecar answered ({failure(exc)}): run the app "
            "with its sidecar (dapr run, or the dapr.io annotations), or set TASKORA_SECRETS=env"
        ) from None
    except SIDECAR_ERRORS as exc:
        raise ConfigurationError(
            f"TASKORA_SECRETS=dapr: the Dapr secret store {store!r} did not give the secret "
            f"{name!r} ({failure(exc)}): check TASKORA_SECRET_STORE (a secret store component "
            f"this app may use) and TASKORA_SECRET_NAME (a secret it may read)"
        ) from None


def with_secrets(settings: Settings) -> Settings:
    """``settings`` with the secrets from the Dapr secret store when ``TASKORA_SECRETS=dapr``."""
    if settings.secrets != "dapr":
        return settings
    values = _read(settings)
    missing = [key for key in KEYS if not values.get(key)]
    if missing:
        raise ConfigurationError(
            f"TASKORA_SECRETS=dapr: the secret {settings.secret_name!r} of the Dapr secret store "
            f"{settings.secret_store!r} has no {', '.join(missing)}: add "
            f"{'them' if len(missing) > 1 else 'it'} to the secret"
        )
    return settings.model_copy(update={field: values[key] for key, field in KEYS.items()})
