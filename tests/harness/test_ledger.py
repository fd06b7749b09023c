"""The write ledger's verdict on a final read."""

from __future__ import annotations

from harness.probes.ledger import Ledger


def test_clean_history() -> None:
    ledger = Ledger()
    for key in "abc":
        ledger.record(key, "ok")
    ledger.record("d", "info")  # no answer: may or may not exist
    check = ledger.check(["a", "b", "c", "d"])
    assert check.clean and (check.attempted, check.acknowledged) == (4, 3)
    assert ledger.check(["a", "b", "c"]).clean  # the info write may also be absent


def test_lost_unexpected_duplicated_and_failed_writes_are_reported() -> None:
    ledger = Ledger()
    for key in ("a", "b", "c"):
        ledger.record(key, "ok")
    ledger.record("f", "fail")
    check = ledger.check(["a", "a", "c", "x", "f"])
    assert check.lost == ["b"]
    assert check.unexpected == ["x"]
    assert check.duplicated == ["a"]
    assert check.failed_but_present == ["f"]
    assert not check.clean


def test_a_retried_info_that_succeeds_becomes_acknowledged() -> None:
    ledger = Ledger()
    ledger.record("k", "info")
    ledger.record("k", "ok")
    assert ledger.check([]).lost == ["k"]
