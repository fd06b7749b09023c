"""Waiting for a service to answer ``GET /ready``: the one poll loop the targets, the chaos
activities and the benchmarks share."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import httpx

from harness.waiting import poll

__all__ = ["Readiness", "answers", "wait_ready"]


class Readiness(Enum):
    READY = "ready"
    EXITED = "exited"  # the process serving it is gone: waiting longer cannot help
    TIMED_OUT = "timed out"


def answers(url: str, *, timeout: float = 2.0) -> bool:
    """``GET url`` answers 200 within ``timeout`` seconds."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(
    url: str,
    *,
    timeout: float,
    exited: Callable[[], bool] = lambda: False,
    every: float = 0.1,
) -> Readiness:
    """Poll ``url`` until it answers 200, ``exited()`` says its process is gone, or ``timeout``
    seconds pass; the caller turns anything but READY into its own error."""

    def look() -> Readiness | None:
        if exited():
            return Readiness.EXITED
        return Readiness.READY if answers(url) else None

    return poll(look, timeout=timeout, every=every) or Readiness.TIMED_OUT
