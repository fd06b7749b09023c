"""SC-009: the P95 response time under load stays under the limit."""

from __future__ import annotations

import pytest

CRITERION = "SC-009"


def test_p95_under_load() -> None:
    pytest.skip("measured by the Locust load suite, which is not part of validate yet")
