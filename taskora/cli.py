"""The ``taskora`` command: ``serve``, ``migrate``, ``token``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from taskora import __version__
from taskora.errors import ConfigurationError
from taskora.settings import ROLES

__all__ = ["main"]


KEEP_ALIVE_SECONDS = 75


def _settings_from(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Settings from the environment, with command-line flags taking precedence. Flags are
    written back to the environment so that worker processes see the same settings."""
    from taskora.secret_store import with_secrets
    from taskora.settings import Settings

    if getattr(args, "database_url", None):
        os.environ["TASKORA_DATABASE_URL"] = args.database_url
    if getattr(args, "role", None):
        os.environ["TASKORA_ROLE"] = args.role
    settings = with_secrets(Settings())
    settings.check_safe()
    return settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from taskora.logs import configure_logging
    from taskora.migrate import upgrade
    from taskora.server import BoundedHttpTools

    settings = _settings_from(args)
    configure_logging(settings.log_level)
    if settings.migrate_on_start:
        upgrade(settings.database_url)
        os.environ["TASKORA_AUTO_MIGRATE"] = "false"  # done once here, not once per worker
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="taskora-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "taskora.app:serve_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            server_header=False,
            http=BoundedHttpTools,  # limits on request heads and on slow clients
            timeout_graceful_shutdown=args.drain_seconds,
            # Longer than clients and load balancers keep an idle connection (60 s is common):
            # otherwise the server may close one just as a client sends on it, and lose that.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from taskora.migrate import upgrade

    settings = _settings_from(args)
    upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from taskora.auth import issue_token

    settings = _settings_from(args)
    print(issue_token(settings, args.user, ttl_seconds=args.ttl))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskora", description="Taskora task service")
    parser.add_argument("--version", action="version", version=f"taskora {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--database-url", help="overrides TASKORA_DATABASE_URL")
    serve.add_argument(
        "--role",
        choices=ROLES,
        help="what this process does (overrides TASKORA_ROLE; default all): api serves HTTP and "
        "live sync, consumers relays and consumes events, scheduler runs reminders and "
        "housekeeping",
    )
    serve.add_argument(
        "--drain-seconds", type=int, default=30, help="on SIGTERM, wait this long for requests"
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--database-url", help="overrides TASKORA_DATABASE_URL")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    token = commands.add_parser("token", help="print a bearer token for a user")
    token.add_argument("user", help="the user id (the token's sub)")
    token.add_argument("--ttl", type=int, default=None, help="seconds until it expires")
    token.set_defaults(run=_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        parser.error("--workers must be at least 1")
    try:
        return int(args.run(args))
    except ConfigurationError as exc:
        print(f"taskora: error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        print(
            f"taskora: error: the database is unreachable or refused the request ({reason}); "
            "check TASKORA_DATABASE_URL",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:
        print(f"taskora: error: {exc}", file=sys.stderr)
        return 2
