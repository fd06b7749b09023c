"""OBS-001: the project's own alert rules stay silent on a healthy run.

A Prometheus scraped the run (``--prometheus local`` beside the local stack, or the deployment's
own with ``--prometheus-url``) and evaluated the rules of ``clusters/observability/rules``
against the service's real metrics. Any Taskora alert that went pending (its condition held) or
fired during the run fails the criterion: a healthy release pages nobody, and a run too short
for a rule's ``for:`` still shows its condition. Before every role was first scraped, rules
such as ``absent(...)`` hold by construction; that moment is left out.
"""

from __future__ import annotations

import time

import pytest

from harness.prometheus import SCRAPE_INTERVAL_S
from harness.server_metrics import alerts_seen

CRITERION = "OBS-001"


@pytest.mark.harness_final(order=1)  # after SC-007's wait: the whole run
def test_no_alert_during_the_run(harness_run, verdict) -> None:
    metrics = harness_run.metrics
    if metrics is None:
        pytest.skip(
            "no Prometheus scraped the run: --prometheus local (apt-get install prometheus) "
            "or --prometheus-url URL"
        )
    end = time.time()
    metrics.wait_scraped(end + SCRAPE_INTERVAL_S)  # the rules evaluated on the last scrapes
    start = harness_run.metrics_since + 2 * SCRAPE_INTERVAL_S
    end = time.time()
    seen = alerts_seen(metrics, start=start, end=end)
    firing = [a for a in seen if a.state == "firing"]
    said = "; ".join(map(str, seen))
    verdict.record(
        measured=len(seen),
        threshold=0,
        alerts=[str(a) for a in seen],
        firing=len(firing),
        window_s=round(end - start, 1),
        summary=f"no alert pending or firing over {end - start:.0f} s",
    )
    assert not seen, f"{len(seen)} alert(s) went off during the run: {said}"
