"""Recording downloads against the Zoom emulator: redirects to Zoom hosts only, HTML served with 200 refused,
whole by their own framing, a broken connection resumed with Range, a 5xx retried, a download that keeps
breaking given up."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from local.world import World
from shared.zoom.downloads import CHUNK, DownloadError
from shared.zoom.retries import DOWNLOAD_ATTEMPTS
from tests.integration.zoom import client
from tests.tenant import File, Tenant

pytestmark = pytest.mark.integration


def _one_file(fresh: World, tenant: Tenant, file: File) -> dict:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Files", files=[file])
    tenant.apply(fresh)
    return (client(fresh).recording(meeting.uuid) or {})["recording_files"][0]


def test_a_download_follows_the_redirect_and_is_checked(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(200_000)
    item = _one_file(fresh, tenant, File("MP4", content))
    sink = io.BytesIO()
    result = client(fresh).download(item["download_url"], sink)
    assert sink.getvalue() == content and result.size == len(content)
    paths = [r["path"] for r in fresh.zoom.requests()]
    assert any(p.startswith("/rec/download/") for p in paths) and any(p.startswith("/cdn/") for p in paths)


def test_an_html_page_served_with_200_is_not_the_recording(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(1000)))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "html"})
    with pytest.raises(DownloadError, match="HTML"):
        client(fresh).download(item["download_url"], io.BytesIO())


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
        client(fresh).download(item["download_url"], io.BytesIO())
    assert not [r for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]


def test_a_download_is_judged_by_its_own_framing_not_by_the_size_zoom_lists(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(1000)
    item = _one_file(fresh, tenant, File("MP4", content, declared_size=2000))
    sink = io.BytesIO()
    assert client(fresh).download(item["download_url"], sink).size == 1000 and sink.getvalue() == content


def test_a_connection_cut_mid_download_resumes_where_it_stopped(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(4 * CHUNK + 123)
    item = _one_file(fresh, tenant, File("MP4", content))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate"})
    sink = io.BytesIO()
    result = client(fresh).download(item["download_url"], sink)
    assert sink.getvalue() == content
    assert (result.size, result.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    cdn = [r["status"] for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]
    assert cdn == [200, 206]  # the second request asked for the rest only, through the redirect again


def test_a_download_that_keeps_breaking_fails_after_a_few_attempts(fresh: World, tenant: Tenant) -> None:
    item = _one_file(fresh, tenant, File("MP4", os.urandom(300_000)))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "action": "truncate", "times": -1})
    with pytest.raises(DownloadError, match=f"broke off .*{DOWNLOAD_ATTEMPTS} attempts"):
        client(fresh).download(item["download_url"], io.BytesIO())
    assert len([r for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")]) == DOWNLOAD_ATTEMPTS


def test_a_server_error_during_a_download_is_retried(fresh: World, tenant: Tenant) -> None:
    content = os.urandom(5000)
    item = _one_file(fresh, tenant, File("MP4", content))
    fresh.zoom.fault({"method": "GET", "path": "^/cdn/", "status": 503, "body": "busy"})
    sink = io.BytesIO()
    client(fresh).download(item["download_url"], sink)
    assert sink.getvalue() == content
    assert [r["status"] for r in fresh.zoom.requests() if r["path"].startswith("/cdn/")] == [503, 200]
