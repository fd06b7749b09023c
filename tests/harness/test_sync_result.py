"""SC-002's per-tab view: which worker served each tab, its slowest delivery, what it missed."""

from __future__ import annotations

from harness.probes.sync import SyncResult
from harness.verdicts import Sample


def test_each_tab_is_reported_with_its_worker() -> None:
    samples = [Sample("tab0/write0", 0.1), Sample("tab0/write1", 0.3), Sample("tab1/write0", 0.2)]
    result = SyncResult(samples, missed=1, writes=2, tabs=2, workers=["h/11", "h/12"])
    assert result.per_tab() == [
        {"tab": "tab0", "worker": "h/11", "slowest_s": 0.3, "missed": 0},
        {"tab": "tab1", "worker": "h/12", "slowest_s": 0.2, "missed": 1},
    ]
    assert result.covered == 2
    assert SyncResult([], 2, 1, 2, [None, None]).covered == 0  # a service that names none
