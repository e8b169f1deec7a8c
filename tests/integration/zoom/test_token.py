"""The Zoom token against the Zoom emulator: in the Authorization header only, reused, renewed before it
expires and once when Zoom refuses it; S2S OAuth and legacy JWT apps; bad credentials named, never shown."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from emulators.zoom.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET
from local.world import EmulatorProcess, World
from shared.zoom import ZoomError
from tests.integration.zoom import client
from tests.tenant import Tenant

pytestmark = pytest.mark.integration


def test_the_token_goes_in_the_header_only_and_is_reused(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    zoom = client(fresh)
    list(zoom.users())
    list(zoom.users())
    log = fresh.zoom.requests()
    assert [r["path"] for r in log].count("/oauth/token") == 1
    api = [r for r in log if r["path"].startswith("/v2/")]
    assert api and all(r["authorization"] and "access_token" not in r["query"] for r in api)


def test_an_expired_token_is_refreshed_once(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    zoom = client(fresh)
    list(zoom.users())
    fresh.zoom.fault(
        {
            "method": "GET",
            "path": "^/v2/users$",
            "status": 401,
            "body": {"code": 124, "message": "Invalid access token."},
        }
    )
    assert len(list(zoom.users())) == 1
    assert [r["path"] for r in fresh.zoom.requests()].count("/oauth/token") == 2


def test_a_token_about_to_expire_is_renewed_before_zoom_refuses_it(
    world: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--token-ttl", "3")
    tenant.person("Alice Archer")
    tenant.apply(world, zoom)
    zoom_client = client(world, zoom)
    list(zoom_client.users())
    time.sleep(2.8)  # the token has 0.2 s left: less than a request can take to reach Zoom
    zoom.fault({"method": "GET", "path": "^/v2/users$", "delay": 0.5})
    list(zoom_client.users())
    log = zoom.requests()
    assert [r["path"] for r in log].count("/oauth/token") == 2
    assert not [r for r in log if r["status"] == 401]


def test_bad_credentials_are_reported_without_the_secret(fresh: World) -> None:
    with pytest.raises(ZoomError) as raised:
        client(fresh, ZOOM_CLIENT_SECRET="wrong-secret-value").tokens.token()
    assert "ZOOM_CLIENT_SECRET" in str(raised.value) and "wrong-secret-value" not in str(raised.value)


def test_a_legacy_jwt_app_signs_its_own_tokens(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    app = {"ZOOM_AUTH": "jwt", "ZOOM_CLIENT_ID": DEFAULT_API_KEY}
    assert len(list(client(fresh, **app, ZOOM_CLIENT_SECRET=DEFAULT_API_SECRET).users())) == 1
    assert "/oauth/token" not in [r["path"] for r in fresh.zoom.requests()]
    with pytest.raises(ZoomError) as raised:
        list(client(fresh, **app, ZOOM_CLIENT_SECRET="x" * 40).users())
    assert (raised.value.status, raised.value.code) == (401, 124)
