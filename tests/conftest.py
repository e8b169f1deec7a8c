"""The local world for the tests: Azurite and both emulators, started once per session on free ports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from local.world import ROOT, ZOOM_ACCOUNT_ID, EmulatorProcess, World, start_emulator, start_world
from tests.dovecot import Dovecot, start_dovecot, stop_dovecot
from tests.tenant import TENANT_ID, Tenant

SHARED = ROOT.parent / "shared"


def shared_file(relative: str) -> Path:
    """A file of ../shared (specs, samples); the test skips, saying so, when the folder is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"../shared/{relative} not found: this check needs the reference material beside the repository")
    return path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("world")
    zoom_seed, graph_seed = folder / "zoom-seed.json", folder / "graph-seed.json"
    zoom_seed.write_text(json.dumps({"account_id": ZOOM_ACCOUNT_ID, "users": [], "meetings": []}))
    graph_seed.write_text(json.dumps({"tenant_id": TENANT_ID, "users": []}))
    with ExitStack() as stack:
        yield start_world(stack, folder / "run", zoom_seed, graph_seed)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot IMAP server (Debian's package), as real mail systems read our messages."""
    server = start_dovecot()
    yield server
    stop_dovecot(server)


@pytest.fixture
def fresh(world: World) -> World:
    """The world with empty storage, no faults and empty request logs."""
    return emptied(world)


def emptied(world: World) -> World:
    """Empty the world's storage, faults and request logs (for a fixture wider than one test)."""
    return world.empty()


@pytest.fixture
def tenant(tmp_path: Path) -> Tenant:
    return Tenant(tmp_path / "tenant")


@pytest.fixture
def own_zoom(world: World, tmp_path: Path) -> Iterator[Callable[..., EmulatorProcess]]:
    """Start a Zoom emulator with other options than the session's (plan, token lifetime...); stopped after."""
    started: list[EmulatorProcess] = []

    def start(*options: str) -> EmulatorProcess:
        seed = tmp_path / "own-zoom-seed.json"
        seed.write_text(json.dumps({"account_id": ZOOM_ACCOUNT_ID, "users": [], "meetings": []}))
        started.append(start_emulator("zoom", seed, world.workdir / "certs", *options))
        return started[-1]

    yield start
    for emulator in started:
        emulator.stop()


def zoom_settings(world: World, zoom: EmulatorProcess, **overrides: str) -> dict[str, str]:
    """App settings pointing at the world, with Zoom served by `zoom`."""
    return world.app_settings(ZOOM_API_URL=f"{zoom.url}/v2", ZOOM_OAUTH_URL=f"{zoom.url}/oauth/token", **overrides)
