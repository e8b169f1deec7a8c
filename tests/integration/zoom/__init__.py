"""The Zoom client against the Zoom emulator, one test module per module of shared/zoom/."""

from __future__ import annotations

from local.world import EmulatorProcess, World
from shared.http import session
from shared.settings import load_settings
from shared.storage import ZOOM_BUDGET_TABLE, Storage
from shared.zoom import ZoomClient
from tests.conftest import zoom_settings


def client(world: World, zoom: EmulatorProcess | None = None, **settings: str) -> ZoomClient:
    """A Zoom client of the world's settings (and `settings`), against the world's Zoom or `zoom`."""
    values = load_settings(zoom_settings(world, zoom, **settings) if zoom else world.app_settings(**settings))
    storage = Storage(values.storage)
    storage.ensure_created()
    return ZoomClient(values, session(values.tls_ca_file), storage.table(ZOOM_BUDGET_TABLE))
