"""Waiting on a condition: polled, with a deadline, never a fixed sleep that stands for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["poll"]

T = TypeVar("T")


def poll(check: Callable[[], T], *, timeout: float, every: float = 0.1) -> T | None:
    """Call ``check`` until it returns something true, and return that; None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result or None
        time.sleep(every)
