"""The Zoom client against the Zoom emulator: auth, listings and the download checks."""

from __future__ import annotations

import io
import os
from datetime import date, timedelta
from urllib.parse import parse_qs

import pytest

from local.world import World
from shared.http import session
from shared.settings import load_settings
from shared.zoom import DownloadError, ZoomClient, ZoomError
from tests.tenant import File, Tenant

pytestmark = pytest.mark.integration


def client(world: World) -> ZoomClient:
    settings = load_settings(world.app_settings())
    return ZoomClient(settings, session(settings.tls_ca_file))


def test_inactive_users_are_listed_too(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.person("Dan Diaz", status="inactive")
    tenant.apply(fresh)
    assert sorted(u["email"] for u in client(fresh).users()) == ["alice@contoso.example", "dan@contoso.example"]


def test_listings_follow_page_tokens_to_the_end(fresh: World, tenant: Tenant) -> None:
    for n in range(305):
        tenant.person(f"User{n} Test")
    tenant.apply(fresh)
    assert len(list(client(fresh).users())) == 305
    pages = [parse_qs(r["query"]) for r in fresh.zoom.requests() if r["path"] == "/v2/users"]
    assert [p.get("page_size") for p in pages] == [["300"], ["300"], ["300"]]  # active: 2 pages, inactive: 1
    assert "next_page_token" in pages[1]


def test_recordings_are_listed_in_windows_of_at_most_a_month(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    old = tenant.meeting(alice, "Old", days_ago=65)
    new = tenant.meeting(alice, "New", days_ago=1)
    tenant.apply(fresh)
    today = date.today()
    found = list(client(fresh).recordings(alice.zoom_id, today - timedelta(days=70), today))
    assert sorted(m["uuid"] for m in found) == sorted([old.uuid, new.uuid])
    windows = [parse_qs(r["query"]) for r in fresh.zoom.requests() if r["path"].endswith("/recordings")]
    assert len(windows) == 3
    for window in windows:
        span = date.fromisoformat(window["to"][0]) - date.fromisoformat(window["from"][0])
        assert span.days < 31


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


def test_bad_credentials_are_reported_without_the_secret(fresh: World) -> None:
    settings = load_settings(fresh.app_settings(ZOOM_CLIENT_SECRET="wrong-secret-value"))
    with pytest.raises(ZoomError) as raised:
        ZoomClient(settings, session(settings.tls_ca_file)).token()
    assert "ZOOM_CLIENT_SECRET" in str(raised.value) and "wrong-secret-value" not in str(raised.value)


def _one_file(fresh: World, tenant: Tenant, file: File) -> dict:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Files", files=[file])
    tenant.apply(fresh)
    return client(fresh).meeting_recordings(meeting.uuid)["recording_files"][0]


def test_a_download_follows_the_redirect_and_is_checked(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(200_000)
    item = _one_file(fresh, tenant, File("MP4", content))
    sink = io.BytesIO()
    result = client(fresh).download(item["download_url"], sink, item["file_size"])
    assert sink.getvalue() == content and result.size == len(content)
    paths = [r["path"] for r in fresh.zoom.requests()]
    assert any(p.startswith("/rec/download/") for p in paths) and any(p.startswith("/cdn/") for p in paths)


def test_an_html_page_served_with_200_is_not_the_recording(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(1000)))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "html"})
    with pytest.raises(DownloadError, match="HTML"):
        client(fresh).download(item["download_url"], io.BytesIO(), item["file_size"])


def test_a_redirect_to_a_foreign_host_is_refused(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(1000)))
    fresh.zoom.fault(
        {
            "method": "GET",
            "path": "^/rec/download/",
            "status": 302,
            "headers": {"Location": "https://169.254.169.254/latest/meta-data"},
            "body": "",
        }
    )
    with pytest.raises(DownloadError, match="not an allowed Zoom host"):
        client(fresh).download(item["download_url"], io.BytesIO(), item["file_size"])
    assert not [r for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]


def test_a_file_shorter_than_zoom_says_is_refused(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(1000), declared_size=2000))
    with pytest.raises(DownloadError, match="1000 bytes but Zoom lists the file with 2000"):
        client(fresh).download(item["download_url"], io.BytesIO(), item["file_size"])


def test_a_connection_cut_mid_download_is_an_error(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(300_000)))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate"})
    with pytest.raises(DownloadError):
        client(fresh).download(item["download_url"], io.BytesIO(), item["file_size"])
