"""Profiles: the thresholds and sizes of a run, from ``harness/profiles/<name>.toml`` (or a
path), with ``--set section.key=value`` overrides checked against the profile's own keys."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError

__all__ = ["PROFILES_DIR", "Profile", "load_profile"]

PROFILES_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    values: dict[str, dict[str, Any]]

    def get(self, section: str, key: str) -> Any:
        try:
            return self.values[section][key]
        except KeyError:
            raise UsageError(f"profile {self.name!r} has no {section}.{key}") from None

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.values.get(name, {}))


def _coerce(raw: str, current: Any, key: str) -> Any:
    try:
        if isinstance(current, bool):
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
    except ValueError:
        kind = type(current).__name__
        raise UsageError(f"--set {key}={raw}: expected a {kind}, like {current!r}") from None
    return raw


def _apply(values: dict[str, dict[str, Any]], override: str) -> None:
    key, sep, raw = override.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot:
        raise UsageError(f"--set {override!r}: write section.key=value, e.g. sc009.p95_ms=300")
    if section not in values or name not in values[section]:
        known = ", ".join(f"{s}.{k}" for s, keys in values.items() for k in keys)
        raise UsageError(f"--set {key}: no such setting; known: {known}")
    values[section][name] = _coerce(raw.strip(), values[section][name], key)


def load_profile(name_or_path: str, overrides: list[str] | None = None) -> Profile:
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
        raise UsageError(f"no profile {name_or_path!r}: use one of {names} or a .toml path")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    description = str(data.pop("description", ""))
    values = {k: dict(v) for k, v in data.items() if isinstance(v, dict)}
    for override in overrides or []:
        _apply(values, override)
    return Profile(path.stem, description, values)
