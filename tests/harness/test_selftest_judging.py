"""How the self-test judges a case from its report: the criterion the fault must break, the
alert that must go off, and the alerts column."""

from __future__ import annotations

from typing import Any

from harness.selftest import Case, _alerts, _caught


def _criteria(**verdicts: str) -> dict[str, dict[str, Any]]:
    return {name.replace("_", "-"): {"verdict": v, "details": {}} for name, v in verdicts.items()}


def test_a_fault_is_caught_only_when_its_criterion_fails_and_its_alert_went_off() -> None:
    slow = Case("slow endpoint", "slow_requests=600", "SC-009", alert=True)
    assert _caught(slow, 1, _criteria(SC_009="fail", OBS_001="fail"))
    assert not _caught(slow, 1, _criteria(SC_009="fail", OBS_001="pass"))  # no rule saw it
    assert not _caught(slow, 1, _criteria(SC_009="pass", OBS_001="fail"))
    quiet = Case("late reminders", "late_reminders=20", "SC-004")
    assert _caught(quiet, 1, _criteria(SC_004="fail", OBS_001="pass"))


def test_the_alerts_column_names_what_went_off_or_nothing() -> None:
    criteria = _criteria(OBS_001="fail")
    criteria["OBS-001"]["details"]["alerts"] = [
        "TaskoraHighErrorRate firing after 301 s (namespace=local, severity=critical)",
        "TaskoraHighErrorRate pending after 12 s (namespace=local, severity=critical)",
        "TaskoraOutboxLagUnknown pending after 3 s (severity=warning)",
    ]
    assert _alerts(criteria) == (
        "TaskoraHighErrorRate (pending after 12 s, firing after 301 s), "
        "TaskoraOutboxLagUnknown (pending after 3 s)"
    )
    assert _alerts(_criteria(OBS_001="pass")) == "none"
    assert _alerts(_criteria(OBS_001="skip")) == "-"
    assert _alerts({}) == "-"
