"""The Zoom client against the Zoom emulator: sign-in, listings, rate limits, retries and the download checks."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from emulators.zoom.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET
from local.world import EmulatorProcess, World
from shared.http import session
from shared.ratelimit import DailyLimitReached
from shared.settings import load_settings
from shared.zoom import ATTEMPTS, CHUNK, DOWNLOAD_ATTEMPTS, PAGE_SIZE, DownloadError, ZoomClient, ZoomError
from tests.conftest import zoom_settings
from tests.integration.conftest import daily_limit_spent
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


def test_a_connection_cut_mid_download_resumes_where_it_stopped(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(4 * CHUNK + 123)
    item = _one_file(fresh, tenant, File("MP4", content))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate"})
    sink = io.BytesIO()
    result = client(fresh).download(item["download_url"], sink, item["file_size"])
    assert sink.getvalue() == content
    assert (result.size, result.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    cdn = [r["status"] for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]
    assert cdn == [200, 206]  # the second request asked for the rest only, through the redirect again


def test_a_download_that_keeps_breaking_fails_after_a_few_attempts(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(300_000)))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate", "times": -1})
    with pytest.raises(DownloadError, match=f"broke off .*{DOWNLOAD_ATTEMPTS} attempts"):
        client(fresh).download(item["download_url"], io.BytesIO(), item["file_size"])
    assert len([r for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]) == DOWNLOAD_ATTEMPTS


def test_a_server_error_during_a_download_is_retried(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(5000)
    item = _one_file(fresh, tenant, File("MP4", content))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "status": 503, "body": "busy"})
    sink = io.BytesIO()
    client(fresh).download(item["download_url"], sink, item["file_size"])
    assert sink.getvalue() == content
    assert [r["status"] for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")] == [503, 200]


QPS_LIMIT = {
    "status": 429,
    "headers": {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS", "X-RateLimit-Limit": "60"},
    "body": {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
    },
}


def test_a_burst_of_429s_is_waited_out(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", **QPS_LIMIT, "times": 2})
    assert len(list(client(fresh).users())) == 1
    assert [r["status"] for r in fresh.zoom.requests() if r["path"] == "/v2/users"] == [429, 429, 200, 200]


def test_a_429_storm_is_given_up_after_a_bounded_number_of_attempts(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    storm = {**QPS_LIMIT, "headers": {**QPS_LIMIT["headers"], "Retry-After": "0"}}
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", **storm, "times": -1})
    with pytest.raises(ZoomError, match=f"gave up after {ATTEMPTS} attempts") as raised:
        list(client(fresh).users())
    assert raised.value.status == 429
    assert len([r for r in fresh.zoom.requests() if r["path"] == "/v2/users"]) == ATTEMPTS


def test_server_errors_and_lost_answers_are_retried(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    fresh.zoom.fault(
        {"method": "GET", "path": "^/v2/users$", "status": 502, "body": "bad gateway"},
        {"method": "GET", "path": "^/v2/users$", "action": "drop_after"},
        {"method": "GET", "path": "^/v2/users$", "action": "drop"},
    )
    assert len(list(client(fresh).users())) == 1
    answers = [(r["status"], r["fault"]) for r in fresh.zoom.requests() if r["path"] == "/v2/users"]
    # The faults first (0: no answer), then the active and the inactive listing.
    assert answers == [(502, True), (0, True), (0, True), (200, False), (200, False)]


def test_a_spent_daily_quota_makes_the_work_wait_until_zoom_resets_it(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    webinar = tenant.meeting(alice, "Town hall", kind=5)
    tenant.apply(fresh)
    fresh.zoom.fault(
        daily_limit_spent(
            "^/v2/report/",
            "Heavy",
            **{"X-RateLimit-Limit": "60000", "X-RateLimit-Remaining": "0", "Retry-After": "2099-05-31T00:00:00Z"},
        )
    )
    zoom = client(fresh)
    for _ in range(2):
        with pytest.raises(DailyLimitReached) as raised:
            zoom.webinar_report(webinar.uuid)
        assert raised.value.until == datetime(2099, 5, 31, tzinfo=UTC)
        assert "resumes after 2099-05-31T00:00:00Z" in str(raised.value)
    assert len([r for r in fresh.zoom.requests() if r["path"].startswith("/v2/report/")]) == 1  # then it waits
    assert zoom.meeting_recordings(webinar.uuid)["uuid"] == webinar.uuid  # Light calls go on


def test_a_429_asking_for_a_long_wait_makes_the_work_wait_instead_of_sleeping(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Planning")
    tenant.apply(fresh)
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    retry_at = later.isoformat().replace("+00:00", "Z")
    fault = {**QPS_LIMIT, "headers": {**QPS_LIMIT["headers"], "Retry-After": retry_at}}
    fresh.zoom.fault({"method": "GET", "path": "^/v2/users$", **fault})
    zoom = client(fresh)

    started = time.monotonic()
    for _ in range(2):
        with pytest.raises(DailyLimitReached) as raised:
            list(zoom.users())
        assert raised.value.until == later
        assert f"rate limit for Medium API calls is reached; the work resumes after {retry_at}" in str(raised.value)

    assert time.monotonic() - started < 10, "the invocation does not sleep until Zoom's Retry-After"
    assert [r["status"] for r in fresh.zoom.requests() if r["path"] == "/v2/users"] == [429]
    assert zoom.meeting_recordings(meeting.uuid)["uuid"] == meeting.uuid  # Light calls go on


def test_a_token_about_to_expire_is_renewed_before_zoom_refuses_it(
    world: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--token-ttl", "3")
    tenant.person("Alice Archer")
    tenant.apply(world, zoom)
    settings = load_settings(zoom_settings(world, zoom))
    client = ZoomClient(settings, session(settings.tls_ca_file))
    list(client.users())
    time.sleep(2.8)  # the token has 0.2 s left: less than a request can take to reach Zoom
    zoom.fault({"method": "GET", "path": "^/v2/users$", "delay": 0.5})
    list(client.users())
    log = zoom.requests()
    assert [r["path"] for r in log].count("/oauth/token") == 2
    assert not [r for r in log if r["status"] == 401]


def test_a_page_token_that_expires_mid_listing_restarts_the_window(
    world: World, tenant: Tenant, own_zoom: Callable[..., EmulatorProcess]
) -> None:
    zoom = own_zoom("--page-token-ttl", "1")
    alice = tenant.person("Alice Archer")
    meetings = [tenant.meeting(alice, f"Standup {n}", files=[]) for n in range(PAGE_SIZE + 5)]
    tenant.apply(world, zoom)
    settings = load_settings(zoom_settings(world, zoom))
    client = ZoomClient(settings, session(settings.tls_ca_file))
    listing = client.recordings(alice.zoom_id, date.today() - timedelta(days=5), date.today())
    found = [next(listing)["uuid"] for _ in range(PAGE_SIZE)]
    time.sleep(1.5)  # the page token expires while the first page is being handled
    found += [m["uuid"] for m in listing]
    assert sorted(found) == sorted(m.uuid for m in meetings)
    pages = [
        (r["status"], "next_page_token" in r["query"]) for r in zoom.requests() if r["path"].endswith("/recordings")
    ]
    assert pages == [(200, False), (400, True), (200, False), (200, True)]


def test_a_legacy_jwt_app_signs_its_own_tokens(fresh: World, tenant: Tenant) -> None:
    tenant.person("Alice Archer")
    tenant.apply(fresh)
    settings = load_settings(
        fresh.app_settings(ZOOM_AUTH="jwt", ZOOM_CLIENT_ID=DEFAULT_API_KEY, ZOOM_CLIENT_SECRET=DEFAULT_API_SECRET)
    )
    assert len(list(ZoomClient(settings, session(settings.tls_ca_file)).users())) == 1
    assert "/oauth/token" not in [r["path"] for r in fresh.zoom.requests()]
    wrong = load_settings(
        fresh.app_settings(ZOOM_AUTH="jwt", ZOOM_CLIENT_ID=DEFAULT_API_KEY, ZOOM_CLIENT_SECRET="x" * 40)
    )
    with pytest.raises(ZoomError) as raised:
        list(ZoomClient(wrong, session(wrong.tls_ca_file)).users())
    assert (raised.value.status, raised.value.code) == (401, 124)
