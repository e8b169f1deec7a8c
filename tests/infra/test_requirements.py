"""The deployed app's dependencies: requirements.in declares what the app imports, requirements.txt (what Azure's
remote build installs) pins exactly the whole runtime closure of it, and the tests run those very versions."""

from __future__ import annotations

import ast
import importlib.util
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RANGES = ROOT / "requirements.in"
LOCK = ROOT / "requirements.txt"
APP = [ROOT / "function_app.py", *sorted((ROOT / "shared").rglob("*.py"))]
LOCAL = {"shared", "function_app"}
# Modules of the standard library that need a distribution to work everywhere: zoneinfo reads tzdata where the
# operating system has no time zone database.
NEEDS = {"zoneinfo": "tzdata"}


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def declared() -> list[Requirement]:
    return [Requirement(line) for line in requirement_lines(RANGES)]


def pins() -> dict[str, Version]:
    pinned = {}
    for line in requirement_lines(LOCK):
        name, separator, version = line.partition("==")
        assert separator and version.strip(), f"requirements.txt must pin exact versions: {line!r}"
        pinned[canonicalize_name(name)] = Version(version.strip())
    return pinned


def closure(roots: list[Requirement]) -> set[str]:
    """The distributions the requirements need here, through the installed metadata (markers and extras applied)."""
    needed: set[str] = set()
    queue = [(canonicalize_name(r.name), frozenset(r.extras)) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        needed.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in {"", *extras}):
                queue.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return needed


def imported_modules(path: Path) -> set[str]:
    """Absolute imports of a file, as dotted names; `from a import b` counts as `a.b` when b is a module."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                modules.add(submodule if _top(node.module) not in LOCAL and _spec(submodule) else node.module)
    return modules


def _top(module: str) -> str:
    return module.split(".")[0]


def _spec(module: str) -> importlib.machinery.ModuleSpec | None:
    try:
        return importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None


@cache
def _owners() -> dict[Path, str]:
    """Each installed file, and the distribution it belongs to."""
    owners = {}
    for distribution in metadata.distributions():
        for file in distribution.files or []:
            owners[Path(distribution.locate_file(file)).resolve()] = canonicalize_name(distribution.metadata["Name"])
    return owners


def distribution_of(module: str) -> str | None:
    spec = _spec(module)
    if spec is None or not spec.origin:
        return None
    return _owners().get(Path(spec.origin).resolve())


def test_the_lock_pins_each_declared_requirement_within_its_range() -> None:
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is in requirements.in but not pinned: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{requirement.name}=={pinned[name]} is outside {requirement}: run `make lock`"
        )


def test_the_lock_is_the_whole_runtime_closure_and_nothing_else() -> None:
    needed, pinned = closure(declared()), set(pins())
    assert not needed - pinned, f"needed but not pinned (run `make lock`): {sorted(needed - pinned)}"
    assert not pinned - needed, f"pinned but needed by nothing (run `make lock`): {sorted(pinned - needed)}"


def test_the_tests_run_the_versions_the_app_is_deployed_with() -> None:
    installed = {name: Version(metadata.version(name)) for name in pins()}
    assert installed == pins(), "the test environment differs from requirements.txt: run `make deps`"


def test_everything_the_app_imports_is_declared() -> None:
    names = {canonicalize_name(r.name) for r in declared()}
    undeclared = {}
    for path in APP:
        for module in imported_modules(path):
            top = _top(module)
            if top in LOCAL:
                continue
            if top in sys.stdlib_module_names:
                owner = NEEDS.get(top)
            else:
                owner = distribution_of(module)
                assert owner, f"{path.relative_to(ROOT)} imports {module}, which no installed distribution provides"
            if owner and owner not in names:
                undeclared[f"{module} ({path.relative_to(ROOT)})"] = owner
    assert not undeclared, f"imported but not declared in requirements.in: {undeclared}"
