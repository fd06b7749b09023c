"""clusters/Dockerfile and .dockerignore, checked as files (no Docker engine is needed): a
slim, unprivileged multi-stage image whose command, port and health check fit the service."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from taskora.app import create_app
from taskora.cli import _parser
from taskora.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "clusters" / "Dockerfile"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "cc ")

Instruction = tuple[str, str]


def _instructions(text: str) -> list[Instruction]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _global_args(instructions: list[Instruction]) -> dict[str, str]:
    args = {}
    for keyword, rest in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args[name] = value
    return args


def _one(stage: list[Instruction], keyword: str) -> str:
    found = [rest for kw, rest in stage if kw == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {found}"
    return found[0]


def _exec_form(rest: str) -> list[str]:
    value = json.loads(rest)
    assert isinstance(value, list), f"{rest} is not in exec form"
    return [str(v) for v in value]


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return _instructions(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(instructions: list[Instruction]) -> list[Instruction]:
    return _stages(instructions)[-1]


def test_multi_stage_build_ends_on_slim_python(instructions: list[Instruction]) -> None:
    stages = _stages(instructions)
    assert len(stages) >= 2
    args = _global_args(instructions)
    images = []
    for stage in stages:
        image = stage[0][1].split()[0]
        images.append(re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image))
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", images[-1]), images[-1]
    builder = stages[0][0][1].split()[-1]
    copies = [rest for keyword, rest in stages[-1] if keyword == "COPY"]
    assert any(f"--from={builder}" in rest for rest in copies), "nothing comes from the build"


def test_final_stage_runs_as_an_unprivileged_numeric_user(final: list[Instruction]) -> None:
    user = _one(final, "USER").split(":")
    assert user[0].isdigit() and int(user[0]) >= 1000, user
    assert len(user) == 1 or (user[1].isdigit() and int(user[1]) != 0)
    assert [kw for kw, _ in final].index("USER") > max(
        i for i, (kw, _) in enumerate(final) if kw in ("RUN", "COPY")
    ), "instructions after USER would run as that user only by accident"


def test_final_stage_installs_no_build_tools_and_keeps_no_pip_cache(
    instructions: list[Instruction], final: list[Instruction]
) -> None:
    for keyword, rest in final:
        if keyword == "RUN":
            assert "apt-get install" not in rest and "apk add" not in rest, rest
            assert "pip install" not in rest, "install in the build stage, copy the result"
            assert not [tool for tool in BUILD_TOOLS if tool in rest + " "], rest
    builder_runs = " ".join(rest for kw, rest in _stages(instructions)[0] if kw in ("RUN", "ENV"))
    assert "PIP_NO_CACHE_DIR=1" in builder_runs or "--no-cache-dir" in builder_runs


def test_command_is_one_the_cli_accepts_on_the_exposed_port(final: list[Instruction]) -> None:
    assert _exec_form(_one(final, "ENTRYPOINT")) == ["taskora"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "taskora" in scripts
    command = _parser().parse_args(_exec_form(_one(final, "CMD")))
    assert command.command == "serve" and command.host == "0.0.0.0"
    assert getattr(command, "role", "all") == "all"
    assert [int(p.split("/")[0]) for p in _one(final, "EXPOSE").split()] == [command.port]


def test_health_check_calls_a_route_the_app_serves(
    final: list[Instruction], tmp_path: Path
) -> None:
    rest = _one(final, "HEALTHCHECK")
    assert "CMD" in rest and "urllib.request" in rest, "slim images have no curl or wget"
    match = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[\w/-]*)", rest)
    assert match, rest
    command = _parser().parse_args(_exec_form(_one(final, "CMD")))
    assert int(match.group(1)) == command.port
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'taskora.db'}", background=False, jwt_secret="x" * 32
    )
    with TestClient(create_app(settings)) as client:
        assert client.get(match.group(2)).status_code == 200


def test_final_stage_sets_python_environment_and_labels(final: list[Instruction]) -> None:
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    labels = " ".join(rest for keyword, rest in final if keyword == "LABEL")
    for key in ("title", "source", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


def test_dockerignore_keeps_what_the_build_copies_and_drops_the_rest(
    instructions: list[Instruction],
) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for excluded in (".git", "tests", ".nox", "reports", ".venv", ".mypy_cache", "taskora.db"):
        assert _ignored(excluded, patterns), f".dockerignore lets {excluded} into the context"
    sources = []
    for keyword, rest in instructions:
        if keyword == "COPY" and "--from=" not in rest:
            sources += shlex.split(rest)[:-1]
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    assert set(packages) <= set(sources), "the wheel needs every package the build copies"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f".dockerignore drops {source}, which COPY needs"
