"""Taskora: a reference event-driven task service.

The package is a FastAPI application (``taskora.app.create_app``) with a command line
(``taskora serve | migrate | token``). See the repository README for the quickstart.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
