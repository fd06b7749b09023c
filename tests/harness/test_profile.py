"""Profiles and --set overrides."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.profile import PROFILES_DIR, load_profile


@pytest.mark.parametrize("name", ["quick", "ci", "full"])
def test_every_shipped_profile_has_every_criterion(name: str) -> None:
    profile = load_profile(name)
    assert {f"sc{n:03d}" for n in range(1, 11)} | {"sec001"} <= profile.values.keys()
    assert profile.description
    assert profile.get("sc002", "max_s") == 2.0
    assert profile.get("sc009", "p95_ms") == 500.0


def test_full_profile_runs_20_chaos_cycles_and_quick_3() -> None:
    assert load_profile("full").get("sc010", "cycles") == 20
    assert load_profile("quick").get("sc010", "cycles") == 3


def test_overrides_are_typed_like_the_profile() -> None:
    profile = load_profile("quick", ["sc009.p95_ms=300", "sc002.writes=7", "target.workers=3"])
    assert profile.get("sc009", "p95_ms") == 300.0
    assert profile.get("sc002", "writes") == 7
    assert isinstance(profile.get("sc002", "writes"), int)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sc009.p95=300", "no such setting"),
        ("sc009.p95_ms=fast", "expected a float"),
        ("sc002.writes=1.5", "expected a int"),
        ("p95_ms=300", "section.key=value"),
        ("sc009.p95_ms", "section.key=value"),
    ],
)
def test_bad_overrides_name_the_fix(override: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_profile("quick", [override])


def test_a_profile_file_by_path_and_an_unknown_name(tmp_path) -> None:
    custom = tmp_path / "mine.toml"
    custom.write_text(
        (PROFILES_DIR / "quick.toml").read_text().replace("max_s = 2.0", "max_s = 1.5")
    )
    assert load_profile(str(custom)).get("sc002", "max_s") == 1.5
    with pytest.raises(UsageError, match="quick"):
        load_profile("nonexistent")
