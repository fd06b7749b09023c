"""Errors raised by taskora.

Hierarchy::

    TaskoraError
    ├── ConfigurationError   settings that make the service unsafe or unable to start
    └── DomainError          a request the domain refuses; carries an HTTP status and a detail
        ├── NotFound         404: absent, or owned by another user (never 403)
        ├── Conflict         409: the change collides with existing state
        └── Invalid          422: the request is well formed but not acceptable
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "Conflict", "DomainError", "Invalid", "NotFound", "TaskoraError"]


class TaskoraError(Exception):
    """Root of every error taskora raises on purpose."""


class ConfigurationError(TaskoraError):
    """The settings are unsafe or incomplete; the message names the variable to fix."""


class DomainError(TaskoraError):
    status_code = 400

    def __init__(self, detail: str, *, loc: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.loc = loc  # where the problem is, e.g. ("body", "due_at"), as FastAPI reports it


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422
