"""The deployed dependencies: requirements.in holds the ranges, requirements.txt their exact, complete closure.

Azure's remote build installs requirements.txt, and so do the tests (requirements-dev.txt includes it), so
what runs in Azure is what was tested. `make lock` regenerates it after requirements.in changes.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _pins() -> dict[str, str]:
    pins = {}
    for requirement in _requirements(ROOT / "requirements.txt"):
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{requirement} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


def _runtime_modules() -> set[str]:
    """Every module imported by the deployed code: function_app.py and shared/, at any depth."""
    found = set()
    for path in [ROOT / "function_app.py", *sorted((ROOT / "shared").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found |= {_module_of(node.module, alias.name) for alias in node.names}
    return {m for m in found if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "shared"}


def _module_of(package: str, name: str) -> str:
    """`from package import name`: the submodule when `name` is one (a namespace package has no file)."""
    if package.split(".")[0] in sys.stdlib_module_names or package.split(".")[0] == "shared":
        return package
    try:
        spec = importlib.util.find_spec(f"{package}.{name}")
    except ModuleNotFoundError:
        spec = None
    return f"{package}.{name}" if spec is not None and spec.origin else package


def _distribution_of(module: str) -> str:
    """The installed distribution whose files hold `module` (namespace packages such as azure.* included)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not installed"
    origin = Path(spec.origin).resolve()
    for distribution in metadata.distributions():
        for file in distribution.files or ():
            if Path(distribution.locate_file(file)).resolve() == origin:
                return canonicalize_name(distribution.metadata["Name"])
    raise AssertionError(f"no installed distribution holds {module} ({origin})")


def test_every_declared_range_is_pinned_to_a_version_it_admits() -> None:
    pins = _pins()
    for requirement in _requirements(ROOT / "requirements.in"):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is in requirements.in but not pinned: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.txt pins {name}=={pins[name]}, outside {requirement.specifier}: run `make lock`"
        )


def test_the_pins_hold_the_whole_closure_of_what_is_declared() -> None:
    pins = _pins()
    pending = [canonicalize_name(r.name) for r in _requirements(ROOT / "requirements.in")]
    seen = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in pins, f"{name} is needed at run time but requirements.txt does not pin it: run `make lock`"
        for dependency in metadata.requires(name) or []:
            requirement = Requirement(dependency)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))


def test_every_package_the_deployed_code_imports_is_declared() -> None:
    declared = {canonicalize_name(r.name) for r in _requirements(ROOT / "requirements.in")}
    undeclared = {m: d for m in sorted(_runtime_modules()) if (d := _distribution_of(m)) not in declared}
    assert not undeclared, f"imported but not declared in requirements.in: {undeclared}"


def test_the_tests_install_what_azure_installs() -> None:
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
