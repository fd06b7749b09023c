"""What each harness nox session installs holds every module the harness imports, for every
target: a session that installed too little failed only on the targets CI cannot run here
(``validate --target kind`` once lacked the kubernetes client)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
HARNESS_SESSIONS = ("validate", "load", "chaos", "selftest")
IMPORTED_BY_THE_HARNESS = ("harness", "loadtests/taskora_load.py")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _install_arguments(session: str) -> list[str]:
    """The arguments of ``session.install`` in the nox session and in the noxfile's functions it
    calls (its shared install step), module constants resolved."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    constants = {
        t.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and isinstance(node.value, ast.Constant | ast.Tuple)
    }
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    body = [functions[session]]
    body += [
        functions[call.func.id]
        for call in ast.walk(functions[session])
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in functions
    ]
    arguments: list[str] = []
    for call in (node for function in body for node in ast.walk(function)):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "install":
            for arg in call.args:
                value = arg.value if isinstance(arg, ast.Starred) else arg
                resolved = (
                    constants[value.id] if isinstance(value, ast.Name) else ast.literal_eval(value)
                )
                arguments += list(resolved) if isinstance(resolved, tuple) else [resolved]
    return arguments


def _requirements(arguments: list[str]) -> list[Requirement]:
    """The project's requirements that ``-e .[extras]`` among the arguments asks for."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for argument in arguments:
        match = re.fullmatch(r"\.\[([a-z0-9,]+)\]", argument)
        for extra in match.group(1).split(",") if match else ():
            wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return wanted


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution those requirements install, by the installed packages' metadata."""
    found: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = _norm(requirement.name)
        if name in found:
            continue
        found.add(name)
        for text in metadata.requires(requirement.name) or []:
            nested = Requirement(text)
            marker = nested.marker
            if marker is None or any(
                marker.evaluate({"extra": e}) for e in (*requirement.extras, "")
            ):
                todo.append(nested)
    return found


def _third_party_imports() -> set[str]:
    modules: set[str] = set()
    for place in IMPORTED_BY_THE_HARNESS:
        path = ROOT / place
        for source in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    own = {"harness", "taskora", "scenarios", "tests"}
    return {m for m in modules if m not in sys.stdlib_module_names and m not in own}


@pytest.mark.parametrize("session", HARNESS_SESSIONS)
def test_the_session_installs_what_every_target_imports(session: str) -> None:
    installed = _closure(_requirements(_install_arguments(session)))
    providers = metadata.packages_distributions()
    missing = {
        module: providers.get(module, ["?"])
        for module in _third_party_imports()
        if not {_norm(d) for d in providers.get(module, [])} & installed
    }
    assert not missing, f"nox -s {session} installs nothing that provides {missing}"


def test_the_check_sees_a_missing_extra() -> None:
    """Without the k8s extra the kubernetes client is not installed: the check must say so."""
    installed = _closure(_requirements(["-e", ".[harness,load,chaos]"]))
    assert "kubernetes" not in installed and "locust" in installed
