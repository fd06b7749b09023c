"""Waiting in tests: on the condition itself, polled, with a deadline; never a fixed sleep that
stands for "until it happened"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, what: str = "", *, every: float = 0.02
) -> T:
    """Poll ``predicate`` until it returns something true and return that; fail the test with
    ``what`` if it has not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate!r}")
        time.sleep(every)
